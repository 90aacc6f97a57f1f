"""Models wrapped by torch's compilers: what the tracer traces instead, or why it cannot.

* ``torch.compile(model)`` returns an ``OptimizedModule`` holding the model as
  ``_orig_mod``. Its graph computes what the original module computes (that is
  torch.compile's contract), while calling it would compile first (seconds to minutes,
  a C++ toolchain for the CPU) and run code no hook sees. So the tracer traces
  ``_orig_mod`` in eager mode, and the report says so.
* ``torch.jit.script``/``torch.jit.trace`` return a ``ScriptModule``: its forward runs in
  the TorchScript interpreter, which calls no Python hooks and no ``__torch_function__``,
  and its weights live in C++ attributes that cannot be swapped for meta tensors. Nothing
  of it can be traced: one clear error (torchinfo issues 55 and 277 are the same limit).

``OptimizedModule`` is looked up only when torch._dynamo is already imported (a compiled
model implies it): importing it costs seconds.
"""

from __future__ import annotations

import sys

import torch
from torch import nn

from ..core.records import Warning_
from .failures import ModelError


def _is_compiled(m: nn.Module) -> bool:
    eval_frame = sys.modules.get("torch._dynamo.eval_frame")
    cls = getattr(eval_frame, "OptimizedModule", None)
    return cls is not None and isinstance(m, cls)


def unwrap(model: nn.Module) -> tuple[nn.Module, list[Warning_]]:
    """The module to trace and what the report says about it; ``ModelError`` for a
    TorchScript module anywhere in the model, or a compiled one inside it."""
    said: list[Warning_] = []
    if _is_compiled(model):
        inner = model._orig_mod
        said.append(Warning_(code="compiled", row="",
                             message=f"a torch.compile'd model: traced its original module "
                                     f"({type(inner).__name__}, `_orig_mod`) in eager mode, which the "
                                     f"compiled graph computes the same way"))
        model = inner
    for name, m in model.named_modules():
        where = f"`{name}` ({type(m).__name__})" if name else type(model).__name__
        if isinstance(m, torch.jit.ScriptModule):
            raise ModelError(f"{where} is a TorchScript module (torch.jit.script/trace): its forward runs in "
                             f"the TorchScript interpreter, which calls no Python hooks, so its layers "
                             f"cannot be traced; trace the nn.Module before scripting it")
        if name and _is_compiled(m):
            raise ModelError(f"{where} is a torch.compile'd submodule: its compiled code runs no Python "
                             f"hooks; trace the model before compiling it, or compile the whole model "
                             f"(a compiled model is traced through its original module)")
    return model, said

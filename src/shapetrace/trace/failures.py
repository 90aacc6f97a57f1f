"""The last stage of a trace: what failed, as one object, and the diagnosis or error it becomes.

A failing call (a module the core rejects, an op torch rejects) is noted once as a
``Failed``: the core's ``Failure`` (plain shapes and ints), the exception object itself,
and whether its row is still to be added. When the forward's exception reaches the top,
``Failures.match`` finds the note by object identity along the exception's chain
(``raise ... from`` and ``except: raise``), so a failure the model caught and got past is
never mistaken for the one that stopped it. ``error_from`` turns it into the diagnosis
(a shape error) or a ``ModelError`` (anything else).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch import nn

from ..core import diagnose
from ..core.diagnose import Context, Failure, FailOp
from ..core.errors import ShapeError, ShapetraceError
from ..core.explain import call_text
from ..core.records import Diagnosis, Note, Row
from . import ops


class ModelError(ShapetraceError):
    """The model could not be traced for a reason other than a shape error
    (its forward raised a TypeError, an op has no meta kernel, ...)."""

    exit_code = 2


# How a MetaLacksValues says "run it on the CPU", for both callers (the API and the CLI).
USE_CPU = "device='cpu' (Python) or --device cpu (CLI)"


class MetaLacksValues(ModelError):
    """A meta trace stopped where the forward needs what the meta device does not have: a
    value computed from the weights (``expert_counts.tolist()`` in a mixture of experts'
    routing), or an op with no meta kernel. The CPU runs it (``tracer.summary``'s default
    device then does, for a small model). ``where``: the call that stopped, and torch's words."""

    def __init__(self, message: str, where: str) -> None:
        super().__init__(message)
        self.where = where


class CoreRejected(RuntimeError, ValueError):
    """Raised from a pre-hook when the core rejects a layer call on the meta device; a
    RuntimeError like torch's own, so a model that catches torch's error catches this."""


@dataclass(frozen=True)
class WrongDtype:
    """An embedding lookup got indices of a dtype it cannot take (float token ids: the input
    was made as floats because no ``dtypes`` / ``--dtype`` was given)."""

    dtype: torch.dtype  # the indices' dtype
    source: int | str | None  # the endpoint that made them ("input:K": the model's K-th input)


@dataclass(frozen=True)
class MixedDtypes:
    """A call whose tensors have dtypes its CPU kernel does not mix (``trace/meta_dtypes``):
    most often a float64 input (``torch.from_numpy``) into float32 weights."""

    got: torch.dtype  # the call's first tensor's (its input's)
    want: torch.dtype  # the first other dtype among its tensors
    weights: bool  # that other tensor is a weight (not made by the forward)
    source: int | str | None  # the endpoint that made the input ("input:K": the model's K-th input)


@dataclass
class Failed:
    failure: Failure
    exc: BaseException  # the exception the failing call raised (kept alive: matched by identity)
    append: bool  # the failing row is not in the rows yet (a functional op's)
    wrong_dtype: WrongDtype | MixedDtypes | None = None


class Failures:
    """The failure noted last in a trace; one owner for "what failed"."""

    def __init__(self) -> None:
        self.last: Failed | None = None

    def noted(self, exc: BaseException) -> bool:
        return self.last is not None and self.last.exc is exc

    def note(self, failure: Failure, exc: BaseException, *, append: bool,
             wrong_dtype: WrongDtype | MixedDtypes | None = None) -> None:
        self.last = Failed(failure, exc, append, wrong_dtype)

    def match(self, e: BaseException) -> Failed | None:
        """The noted failure ``e`` comes from: ``e`` itself, its cause or its context."""
        f = self.last
        if f is not None and any(x is f.exc for x in (e, e.__cause__, e.__context__)):
            return f
        return None


def error_from(e: Exception, failures: Failures, *, rows: list[Row], frame_row: Row | None,
               frame_name: str, model_name: str, meta: bool,
               context: Callable[[], Context], input_dtypes: tuple[torch.dtype, ...] = (),
               model: nn.Module | None = None, call: tuple[tuple, dict] = ((), {})) -> Diagnosis:
    """The forward raised ``e``: its diagnosis, or ``ModelError`` when it is no shape error.
    ``model`` and ``call`` (its arguments) tell a forward that does not take the inputs."""
    f = failures.match(e)
    if f is not None:
        root = f.exc
        if isinstance(f.wrong_dtype, MixedDtypes):
            raise ModelError(mixed_message(model_name, f.failure.row, f.wrong_dtype, input_dtypes)) from None
        if f.wrong_dtype is not None:
            raise ModelError(dtype_message(model_name, f.failure.row, f.wrong_dtype, input_dtypes)) from None
        if meta and meta_cannot(root):
            row = f.failure.row
            raise MetaLacksValues(f"{model_name}: `{row.name}` ({row.kind}) cannot run on the meta "
                                  f"device ({first_line(root)}); trace it with {USE_CPU}",
                                  f"`{row.name}` ({row.kind}; {first_line(root)})") from None
        if f.append:
            rows.append(f.failure.row)
        return diagnose.diagnose(f.failure, context())
    if isinstance(e, (AssertionError, ValueError)) and not isinstance(e, ShapetraceError):
        # The model's own check (``assert x.shape[1] == 3``): a shape error in its words.
        kind = frame_row.kind if frame_row is not None else model_name
        return Diagnosis(row=frame_name, kind=kind,
                         message=f"`{frame_name or kind}` ({kind}) raised {type(e).__name__}: "
                                 f"{first_line(e) or '(no message)'}")
    if isinstance(e, TypeError) and model is not None:
        refused = _signature_refuses(model, call)
        if refused is not None:  # the inputs do not fit the forward: no device would help
            raise ModelError(f"{model_name}.forward{refused[0]} does not take the inputs given: {refused[1]}") from None
    message = f"{model_name}.forward raised {type(e).__name__}: {first_line(e)}"
    if meta and meta_cannot(e):
        raise MetaLacksValues(f"{message}; the meta device holds no values, so data-dependent code "
                              f"(.item(), if x.sum() > 0) needs {USE_CPU}",
                              f"{model_name}.forward ({first_line(e)})") from None
    raise ModelError(message) from None


# torch's words for a value the meta device does not hold, from a C++ kernel that reads
# one (``x.view(n, -1)`` with ``n`` a meta tensor, ``torch.full((2,), t)``, ``bool(t)``) or
# from Python (``t.numpy()``, ``repeat_interleave`` without ``output_size``).
_NO_VALUE = ("cannot be called on meta tensors", "copy out of meta tensor", "meta device type tensor",
             "a meta tensor without")


def meta_cannot(e: BaseException) -> bool:
    """Whether ``e`` says the meta device lacks what the call needs: an op with no meta
    kernel (torch names the backend: "Could not run 'aten::nonzero' with arguments from the
    'Meta' backend", a data-dependent op's "register_meta ... raises unimplemented") or a
    value (``_NO_VALUE``), rather than the call refusing its arguments on every device
    (F.pad's "Padding size 4 is not supported for 2D input tensor", which the CPU raises too:
    a diagnosis, not a reason to run on the CPU)."""
    text = str(e).lower()
    if isinstance(e, NotImplementedError):
        return "meta" in text
    return isinstance(e, (RuntimeError, TypeError)) and any(words in text for words in _NO_VALUE)


def _signature_refuses(model: nn.Module, call: tuple[tuple, dict]) -> tuple[str, str] | None:
    """(the forward's signature, why) when the forward's signature does not take the call's
    arguments (a keyword it has no parameter for, one too many); None where it does or
    cannot be read (a C forward, a ``*args`` wrapper)."""
    forward = type(model).forward  # the class's: not a short cut the trace installed
    try:
        sig = inspect.signature(forward)
    except (TypeError, ValueError):
        return None
    try:
        sig.bind(model, *call[0], **call[1])
    except TypeError as why:
        names = [str(p.replace(annotation=inspect.Parameter.empty, default=inspect.Parameter.empty))
                 for p in list(sig.parameters.values())[1:]]
        shown = ", ".join(names[:8]) + (f", ... ({len(names) - 8} more)" if len(names) > 8 else "")
        return f"({shown})", str(why)
    return None


# The functional embedding lookups and the position of their indices argument
# (``F.embedding(input, weight)``; ``torch.embedding(weight, indices)``).
_EMBEDDING_INDICES = {f: i for names, i in (((torch.nn.functional, ("embedding", "embedding_bag")), 0),
                                            ((torch, ("embedding", "embedding_bag")), 1))
                      for f in ops.resolve(*names)}
_INDEX_DTYPES = (torch.int64, torch.int32)  # what torch's embedding kernels take (at::embedding)


def wrong_index_dtype(base: type | None, func: Any, ins: list[torch.Tensor]) -> torch.Tensor | None:
    """The indices tensor of a failed embedding lookup (``nn.Embedding``/``nn.EmbeddingBag``
    or the functional call itself) when its dtype is one an embedding cannot take."""
    if base is not None and not issubclass(base, (nn.Embedding, nn.EmbeddingBag)):
        return None
    i = _EMBEDDING_INDICES.get(func)
    if i is None or len(ins) <= i:
        return None
    return ins[i] if ins[i].dtype not in _INDEX_DTYPES else None


def _dtype_names(dtypes: list[torch.dtype]) -> tuple[str, str]:
    """(the CLI's ``--dtype`` value, the API's ``dtypes=[...]``) for these input dtypes."""
    cli = ";".join(str(d).removeprefix("torch.") for d in dtypes)
    api = ", ".join("torch.long" if d is torch.int64 else str(d) for d in dtypes)
    return (cli if len(dtypes) == 1 else f'"{cli}"'), f"dtypes=[{api}]"


def dtype_message(model_name: str, row: Row, wrong: WrongDtype, input_dtypes: tuple[torch.dtype, ...]) -> str:
    """What to do when an embedding got float (or bool) indices: in the CLI's words and the API's."""
    got = str(wrong.dtype).removeprefix("torch.")
    head = (f"{model_name}: `{diagnose.shown(row)}` ({row.kind}) looks up token ids, which must be integers "
            f"(int64 or int32), but ")
    k = _model_input(wrong.source, wrong.dtype, input_dtypes)
    if k is not None:
        wanted = list(input_dtypes)
        wanted[k] = torch.int64
        cli, api = _dtype_names(wanted)
        which = "the input" if len(input_dtypes) == 1 else f"input {k}"
        return (head + f"{which} is {got}; pass --dtype {cli} (CLI), or {api} with input_size or "
                       f"an integer tensor as input_data (Python)")
    return head + f"they are {got}; make them integers (.long()) before the lookup"


def _model_input(source: int | str | None, dtype: torch.dtype, input_dtypes: tuple[torch.dtype, ...]) -> int | None:
    """K when ``source`` is the model's K-th input and that input has ``dtype``."""
    if isinstance(source, str) and source.startswith("input:"):
        k = int(source[6:])
        if k < len(input_dtypes) and input_dtypes[k] == dtype:
            return k
    return None


def mixed_message(model_name: str, row: Row, wrong: MixedDtypes, input_dtypes: tuple[torch.dtype, ...]) -> str:
    """What to do when a call's tensors have dtypes torch does not mix there."""
    got, want = (str(d).removeprefix("torch.") for d in (wrong.got, wrong.want))
    head = f"{model_name}: `{diagnose.shown(row)}` ({row.kind}) "
    head += f"has {want} weights but gets a {got} input" if wrong.weights else f"gets {got} and {want} tensors"
    k = _model_input(wrong.source, wrong.got, input_dtypes)
    if k is not None and wrong.weights:
        wanted = list(input_dtypes)
        wanted[k] = wrong.want
        cli, api = _dtype_names(wanted)
        which = "" if len(input_dtypes) == 1 else f" (input {k})"
        numpy = " (numpy arrays become float64 tensors)" if wrong.got == torch.float64 else ""
        return (head + f"{which}, which torch does not mix{numpy}: pass --dtype {cli} (CLI), or {api} with "
                       f"input_size or input_data.to(torch.{want}) (Python)")
    return head + f", which torch does not mix; make them one dtype (.to(torch.{want})) before the call"


def module_failure(row: Row, module: nn.Module, base: type | None, message: str,
                   core_error: ShapeError | None, core_name: str | None,
                   core_kwargs: dict[str, Any] | None) -> Failure:
    """A torch.nn layer's call failed (the core or torch rejected it)."""
    info: dict[str, Any] = {}
    op = FailOp.OTHER
    m = module
    if base is not None and issubclass(base, nn.Linear):
        op = FailOp.LINEAR
        info = {"in_features": m.in_features, "out_features": m.out_features, "module": True}
    elif base is not None and issubclass(base, nn.modules.conv._ConvNd) and not m.transposed:
        op = FailOp.CONV
        nd = len(m.kernel_size)
        info = {"in_channels": m.in_channels, "ndim": nd}
        shape = row.input_shapes[0] if row.input_shapes else ()
        if core_name and len(shape) >= nd + 1 and shape[-(nd + 1)] != m.in_channels:
            fixed = {k: (v[0] if isinstance(v, tuple) and v and len(set(v)) == 1 else v)
                     for k, v in (core_kwargs or {}).items()}  # (3, 3) -> 3, as people write it
            fixed["in_channels"] = shape[-(nd + 1)]
            info["call"] = call_text(core_name, fixed)
    return Failure(row=row, op=op, message=message, info=info,
                   argument=core_error.argument if core_error else None,
                   fix=core_error.fix if core_error else None)


def replaced_weights_error(e: ShapeError, replaced: Note) -> ShapeError:
    """The rule's error for a layer whose weights were replaced (``adapters.layer_rule``): it
    checked the arguments the weights belong to, so the message says so, and it offers no
    fix that changes an argument (that would not change the weights)."""
    a = replaced.args
    return ShapeError(f"{e} (its weights are those of {a['now']}, not of its {a['given']})",
                      layer=e.layer, argument=e.argument)


_LINEAR_FUNCS = frozenset(ops.resolve(torch.nn.functional, ("linear",)))
_MATMUL_FUNCS = frozenset(ops.resolve(torch, ("matmul", "mm")) + ops.resolve(
    torch.Tensor, ("matmul", "mm", "__matmul__")))
_CONV_FUNCS = frozenset(ops.resolve(torch.nn.functional, ("conv1d", "conv2d", "conv3d")))
_BINARY = frozenset(ops.resolve(torch, ("add", "sub", "mul", "div")) + ops.resolve(torch.Tensor, (
    "add", "sub", "mul", "div", "add_", "sub_", "mul_", "div_", "__add__", "__radd__", "__iadd__",
    "__sub__", "__rsub__", "__isub__", "__mul__", "__rmul__", "__imul__", "__truediv__", "__itruediv__")))
_STACK = frozenset(ops.resolve(torch, ("stack", "hstack", "vstack")))


def op_failure(row: Row, func: Any, args: tuple, kwargs: dict, ins: list[torch.Tensor],
               exc: BaseException) -> Failure:
    """A functional op the model called failed: which diagnosis rule it gets, with its numbers."""
    op, info = _op_kind(func, args, kwargs, ins)
    return Failure(row=row, op=op, message=first_line(exc), info=info)


def _op_kind(func: Any, args: tuple, kwargs: dict, ins: list[torch.Tensor]) -> tuple[FailOp, dict]:
    if func in ops.VIEWLIKE:
        return FailOp.VIEW, {"request": ops.view_request(args, kwargs)}
    if func in _LINEAR_FUNCS and len(ins) >= 2 and ins[1].dim() == 2:
        return FailOp.LINEAR, {"in_features": ins[1].shape[1], "out_features": ins[1].shape[0]}
    if func in _MATMUL_FUNCS and len(ins) >= 2 and ins[1].dim() == 2:
        return FailOp.LINEAR, {"in_features": ins[1].shape[0], "out_features": ins[1].shape[1]}
    if func in _CONV_FUNCS and len(ins) >= 2:
        groups = kwargs.get("groups", args[6] if len(args) > 6 else 1)
        return FailOp.CONV, {"in_channels": ins[1].shape[1] * int(groups), "ndim": ins[1].dim() - 2}
    if func in _BINARY and len(ins) >= 2:
        return FailOp.ADD, {}
    if func in ops.CONCAT or func in _STACK:
        return FailOp.CAT, {"dim": ops.cat_dim(args, kwargs)}
    return FailOp.OTHER, {}


def first_line(e: BaseException) -> str:
    """The first non-empty line of an exception's message, whitespace collapsed."""
    for line in str(e).splitlines():
        if line.strip():
            return " ".join(line.split())
    return ""

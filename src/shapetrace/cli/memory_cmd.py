"""``shapetrace memory [TARGET]``: the memory and FLOPs of one training step, and the batch that fits.

TARGET as for ``summary`` (a built-in model, ``path/file.py:Name`` or ``package.module:factory``;
a spec file has no weights to train and is refused). Exit codes: 0 ok; 2 bad usage or input
(an unknown optimizer, ``--batch-size 0``, a bad ``--budget``, a budget below the weights).
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from ..core.errors import ShapetraceError
from ._common import OVERWRITE_HELP, check_output, emit, guard, parse_dtypes, plain_format, render_plain



@guard
def memory_command(
    target: Optional[str] = typer.Argument(
        None, help="path/file.py:Name, package.module:factory, or a built-in model: seed (default), "
                   "seed-verbatim."),
    input: Optional[List[str]] = typer.Option(
        None, "--input", "-i", help="Input shape, batch first, e.g. 32,1,28,28. Repeat it (or separate "
                                    "shapes with ';') for a model with several inputs."),
    optimizer: str = typer.Option("adamw", "--optimizer", help="sgd, momentum, adam or adamw."),
    dtype: Optional[str] = typer.Option(None, "--dtype", help="float32, bfloat16 or float16: the weights' "
                                                             "and activations' dtype (with --amp: autocast's; "
                                                             "default: the model's)."),
    amp: bool = typer.Option(False, "--amp", help="Mixed precision: float32 weights, the forward under "
                                                  "torch.autocast in --dtype."),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", "-b", help="The batch size of the step "
                                                                            "(default: the input's)."),
    budget: Optional[str] = typer.Option(None, "--budget", help="Memory budget, e.g. 16GiB or 512MiB: adds "
                                                                "the largest batch size whose peak fits."),
    device: str = typer.Option("cpu", "--device", help="cpu or cuda: the backend whose kernels decide "
                                                      "what is saved."),
    input_dtype: Optional[str] = typer.Option(None, "--input-dtype", help="Input dtype(s), e.g. int64 for "
                                                                          "token ids; ';' between inputs."),
    kwargs: Optional[str] = typer.Option(None, "--kwargs", help="Constructor arguments: key=value,... or a "
                                                                "YAML/JSON mapping."),
    fmt: str = typer.Option("table", "--format", "-f", help="table, markdown or json."),
    lang: str = typer.Option("en", "--lang", help="en or ko."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write to this file."),
    overwrite: bool = typer.Option(False, "--overwrite", help=OVERWRITE_HELP),
) -> None:
    """Training memory: parameters, gradients, optimizer state, what autograd saves per layer,
    the step's peak, the FLOPs of forward and backward, and with --budget the batch that fits.
    Computed on fake tensors: no memory is used and nothing is computed."""
    from ..core.explain import as_lang
    from ..trace.targets import TargetKind, load_model, parse_target
    from .summary_cmd import _kwargs, _shapes

    f = plain_format(fmt)
    as_lang(lang)
    # every argument is checked before torch is imported or the model built
    from ..memory.options import as_backend, as_dtype, as_optimizer, check_batch_size, parse_budget

    as_optimizer(optimizer), as_backend(device)
    if dtype is not None:
        as_dtype(dtype)
    if budget is not None:
        parse_budget(budget)
    if batch_size is not None:
        check_batch_size(batch_size)
    tgt = parse_target(target)
    check_output(output, overwrite, tgt)
    if tgt.kind is TargetKind.SPEC:
        raise ShapetraceError("a spec file has no weights to train; give a model target "
                              "(path/file.py:Name, package.module:factory or a built-in name)")
    shapes = _shapes(input) or ([tgt.default_input] if tgt.default_input is not None else None)
    if shapes is None:
        raise ShapetraceError("give the model's input shape with --input, e.g. --input 32,3,224,224")
    dtypes = parse_dtypes(input_dtype, "--input-dtype", len(shapes))
    kw = _kwargs(kwargs)

    from ..memory.api import train_memory
    from ..render import memory as render_memory

    from ..trace.usercode import user_code

    model = load_model(tgt, kw)
    with user_code():  # the model's forward is the user's code (trace/usercode.py), as in summary
        report = train_memory(model, shapes if len(shapes) > 1 else shapes[0], optimizer=optimizer,
                              dtype=dtype, amp=amp, batch_size=batch_size, budget=budget,
                              device=device, dtypes=dtypes)
    name = type(model).__name__
    emit(render_plain(f, render_memory, report, name, lang), output, tgt, overwrite)

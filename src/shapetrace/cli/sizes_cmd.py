"""``shapetrace sizes [TARGET]``: which input sizes a model or spec takes, and why.

TARGET as for ``summary`` (a spec file stays torch-free). Exit codes: 0 the example
input (``--input``, else the target's) is accepted; 1 it is not (the table says the
nearest accepted sizes and why); 2 bad usage or input.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from ..core.errors import ShapetraceError
from ._common import OVERWRITE_HELP, check_output, emit, guard, parse_shape, plain_format, render_plain



@guard
def sizes_command(
    target: Optional[str] = typer.Argument(
        None, help="A spec file, path/file.py:Name, package.module:factory, seed (default) or seed-verbatim."),
    input: Optional[str] = typer.Option(None, "--input", "-i", help="The example input, e.g. 1,1,28,28 "
                                                                    "(default: the target's)."),
    dims: Optional[str] = typer.Option(None, "--dims", help="The axes that vary, e.g. 2,3 (default: every "
                                                            "axis after the channel axis)."),
    max_size: str = typer.Option("4096", "--max", help="Each varying axis goes over 1..MAX."),
    fmt: str = typer.Option("table", "--format", "-f", help="table, markdown or json."),
    kwargs: Optional[str] = typer.Option(None, "--kwargs", help="Constructor arguments (model targets)."),
    dtype: Optional[str] = typer.Option(None, "--dtype", help="Input dtype, e.g. int64 for token ids."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write to this file."),
    overwrite: bool = typer.Option(False, "--overwrite", help=OVERWRITE_HELP),
) -> None:
    """The exact set of accepted input sizes (boxes), the constraint each layer imposes,
    every row's shape as a formula of the sizes, and how to make the model take any size."""
    from ..render import sizes as render_sizes
    from ..sizes import accepted_sizes
    from ..trace.targets import TargetKind, parse_target

    f = plain_format(fmt)
    mx = _int(max_size, "--max")
    axes = None
    if dims is not None:
        parts = [p for p in dims.replace(" ", "").split(",") if p]
        if not parts:
            raise ShapetraceError("--dims is empty; give axis numbers like 2,3")
        axes = [_int(p, "--dims") for p in parts]
    shape = parse_shape(input) if input is not None else None
    tgt = parse_target(target)
    check_output(output, overwrite, tgt)
    kw = None
    if kwargs is not None:
        from .summary_cmd import _kwargs

        kw = _kwargs(kwargs)
    if tgt.kind is TargetKind.SPEC and (kw or dtype):
        raise ShapetraceError("--kwargs and --dtype apply to model targets, not to spec files")
    from ..trace.usercode import user_code

    with user_code():  # a model target's forward is the user's code (trace/usercode.py)
        res = accepted_sizes(target or "seed", shape, axes, mx, kwargs=kw, dtype=dtype)
    point = tuple(res.input_shape[d] for d in res.dims)
    title = target or "seed"
    emit(render_plain(f, render_sizes, res, title, point), output, tgt, overwrite)
    if not res.contains(point):
        print(f"error: the input {'x'.join(map(str, point))} ({', '.join(res.names)}) is not accepted; "
              f"see the accepted sizes above", file=sys.stderr)
        raise typer.Exit(1)


def _int(text: str, what: str) -> int:
    t = text.strip()
    try:
        return int(t)
    except ValueError:
        raise ShapetraceError(f"{what} must be an integer, got {text!r}") from None

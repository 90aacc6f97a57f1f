"""``shapetrace summary [TARGET]``: the flow table of a model or a spec file.

TARGET is a spec file (.yaml/.yml/.json: computed by the core, torch is never
imported), a built-in model (``seed``, the default, and ``seed-verbatim``),
``path/file.py:Name`` or ``package.module:factory`` (a class, a factory function or
a module instance). torch is imported only for model targets.

Exit codes: 0 ok; 1 the flow has a shape error (the diagnosis is printed) or a
silent shape bug (a view that changed the batch size); 2 bad usage or input.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, List, Optional

import typer

from ..core.errors import ShapetraceError
from ._common import OVERWRITE_HELP, ascii_text, check_output, emit, guard, parse_dtypes, parse_pairs, parse_shape

# Warnings that mean the model computes the wrong thing although nothing raised.
_FAILING_WARNINGS = frozenset({"batch_changed"})


@guard
def summary_command(
    target: Optional[str] = typer.Argument(
        None, help="A spec file (.yaml/.yml/.json), path/file.py:Name, package.module:factory, "
                   "or a built-in model: seed (default), seed-verbatim."),
    input: Optional[List[str]] = typer.Option(
        None, "--input", "-i", help="Input shape, e.g. 1,1,28,28. Repeat it (or separate shapes "
                                    "with ';') for a model with several inputs."),
    dtype: Optional[str] = typer.Option(
        None, "--dtype", help="Input dtype(s), e.g. int64 for token ids; ';' between inputs."),
    kwargs: Optional[str] = typer.Option(
        None, "--kwargs", help="Constructor arguments: key=value,key=value or a YAML/JSON mapping."),
    fmt: str = typer.Option("table", "--format", "-f", help="table, markdown, json, csv or html."),
    layout: str = typer.Option("nchw", "--layout", help="nchw (as torch) or hwc (no batch, channels "
                                                       "last, like the seed's table)."),
    lang: str = typer.Option("en", "--lang", help="en or ko."),
    seed_table: bool = typer.Option(False, "--seed-table", help="The seed's grouped table: Layer, "
                                                               "Input size, Output size, Description."),
    explain: bool = typer.Option(False, "--explain", help="Add the worked formula of each layer."),
    symbolic: bool = typer.Option(False, "--symbolic", help="Add each row's output shape as a formula of "
                                                            "the varying input sizes (H, W ...)."),
    flops: bool = typer.Option(False, "--flops", help="FLOPs (2 x MACs) instead of MACs."),
    depth: Optional[int] = typer.Option(None, "--depth", min=0, help="Fold rows deeper than this."),
    columns: Optional[str] = typer.Option(None, "--columns", help="Columns to show, e.g. "
                                                                  "layer,input,output,params."),
    device: str = typer.Option("auto", "--device", help="auto (small models run on the CPU, others "
                                                       "on meta), meta, cpu or cuda."),
    width: Optional[int] = typer.Option(None, "--width", min=40, help="Table width (default: the terminal)."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write to this file instead "
                                                                       "of the terminal."),
    overwrite: bool = typer.Option(False, "--overwrite", help=OVERWRITE_HELP),
) -> None:
    """Trace a model (or compute a spec) layer by layer: shapes, params, MACs, memory,
    receptive field; on a shape error, the failing layer and the fix."""
    from .. import render
    from ..render.options import Column, Format, Options, as_format
    from ..trace.targets import TargetKind, parse_target

    f = as_format(fmt)
    options = dict(layout=layout, lang=lang, explain=explain, flops=flops, seed_table=seed_table,
                   columns=columns)
    opts = Options.make(**options)  # validate before any slow work
    if symbolic and (f is not Format.TABLE or seed_table):
        raise ShapetraceError("--symbolic adds a column to the flow table: --format table, without --seed-table")
    if not symbolic and Column.SYMBOLIC in (opts.columns or ()):  # it would be a blank column
        raise ShapetraceError("the column 'symbolic' comes with --symbolic (--format table)")
    _check_device(device)  # also for a spec, which never uses it: a typo is not silently ignored
    tgt = parse_target(target)
    check_output(output, overwrite, tgt)
    shapes = _shapes(input)
    if tgt.kind is TargetKind.SPEC:
        if kwargs is not None or dtype is not None:
            raise ShapetraceError("--kwargs and --dtype apply to model targets, not to spec files")
        report, traced, example = _spec_report(tgt.location, shapes)
    else:
        report, traced, example = _model_report(tgt, shapes, dtype, _kwargs(kwargs), device)
    if depth is not None:
        from ..trace.fold import fold

        report = fold(report, depth)
    sym = None
    if symbolic:
        from ..sizes import row_formulas

        sym = row_formulas(traced, report, example)  # the spec or model just traced, not loaded again

    if f is Format.TABLE and output is None and sys.stdout.isatty():
        from rich.console import Console

        console = Console(width=width, highlight=False, soft_wrap=False)
        _print_fitted(console, report, options, sym)
    else:  # a file or a pipe: plain text, every column at its natural width
        text = render.render(report, f, **options) if f is not Format.TABLE else \
            render.table(report, width=width, **options) if sym is None else _symbolic_text(report, options, sym, width)
        emit(text, output, tgt, overwrite)

    if report.error is not None:
        print(f"error: {' '.join(report.error.message.split())}", file=sys.stderr)
        raise typer.Exit(1)
    bad = [w for w in report.warnings if w.code in _FAILING_WARNINGS]
    if bad:
        print(f"error: {' '.join(bad[0].message.split())}", file=sys.stderr)
        raise typer.Exit(1)


def _symbolic_text(report, options: dict[str, Any], sym, width) -> str:
    from .. import render
    from ..render.sizes import with_symbolic
    from ..render.text import to_text

    return to_text(with_symbolic(render.view(report, **options), sym, render.Options.make(**options).lang),
                   width=width)


def _print_fitted(console, report, options: dict[str, Any], sym=None) -> None:
    """The table in the terminal's width, never with a cell cut (a 40-column terminal showed
    ``57,53`` for 57,536): the renderer's droppable columns go first, then MACs and Params;
    what still does not fit is printed at its natural width, for the terminal to wrap. A
    note names the columns left out."""
    import dataclasses

    from .. import render
    from ..render.options import Column
    from ..render.text import fit, natural_width, renderable, to_text

    width = console.width
    full = render.view(report, **options)
    if sym is not None:
        from ..render.sizes import with_symbolic

        full = with_symbolic(full, sym, render.Options.make(**options).lang)
    v = full
    if options.get("columns") is None:  # columns the user asked for are kept
        v = fit(full, width)
        for col in (Column.MACS, Column.PARAMS):
            if natural_width(v) <= width:
                break
            if col in v.columns and len(v.columns) > 2:
                v = dataclasses.replace(v, columns=tuple(c for c in v.columns if c is not col))
    if natural_width(v) <= width:
        console.print(renderable(v))
    else:  # even the fewest columns are wider: whole lines, wrapped by the terminal, not cut
        console.file.write(ascii_text(to_text(v, width=None), console.file))
        console.file.flush()
    left_out = [full.headers[c] for c in full.columns if c not in v.columns]
    if left_out:
        console.print(f"note: {len(left_out)} columns left out to fit {width} columns "
                      f"({', '.join(left_out)}); --width, --columns or -o FILE shows them", style="dim",
                      soft_wrap=True)


def _check_device(text: str) -> None:
    """auto, meta, cpu or cuda (cuda:N), torch-free (the tracer's pick_device decides the rest)."""
    base, sep, index = text.strip().lower().partition(":")
    if base in ("auto", "meta", "cpu", "cuda") and (not sep or (base == "cuda" and index.isdigit())):
        return
    raise ShapetraceError(f"--device must be auto, meta, cpu or cuda (or cuda:N), got {text[:40]!r}")


def _shapes(items: Optional[List[str]]) -> list[tuple[int, ...]] | None:
    if not items:
        return None
    out = []
    for item in items:
        for part in item.split(";"):
            if part.strip():
                out.append(parse_shape(part, "--input"))
    if not out:
        raise ShapetraceError("--input is empty; give a shape like 1,1,28,28")
    return out


def _kwargs(text: Optional[str]) -> dict[str, Any]:
    """'num_classes=10,batchnorm=true' or '{num_classes: 10}' -> a dict."""
    if text is None or not text.strip():
        return {}
    t = text.strip()
    if t.startswith("{"):
        from ..core.loading import load_yaml

        from ..core.errors import SpecError
        from ..core.loading import TooDeep
        from ..core.shapes import as_tuples

        try:
            data = load_yaml(t, source="--kwargs")  # YAML 1.2, nesting bounded, a key given twice refused
        except TooDeep:
            raise
        except SpecError as e:
            raise ShapetraceError(f"--kwargs is not a valid YAML/JSON mapping: {e}") from None
        if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
            raise ShapetraceError(f"--kwargs must be a mapping of names to values, got {t!r}")
        return {k: as_tuples(v) for k, v in data.items()}
    return parse_pairs(_split_top(t), "--kwargs entries", identifiers=True)


def _split_top(text: str) -> list[str]:
    """Split on commas outside brackets: 'a=1,k=(3,3)' -> ['a=1', 'k=(3,3)']."""
    parts, depth, cur = [], 0, []
    for ch in text:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return [p for p in parts if p.strip()]


def _spec_report(path: str, shapes):
    """A spec's flow, by the torch-free core; with the spec and its input."""
    import dataclasses

    from ..core.spec import flow, load_spec

    spec = load_spec(path)
    if shapes is not None:
        if len(shapes) != 1:
            raise ShapetraceError(f"a spec has one input; --input gave {len(shapes)} shapes")
        spec = dataclasses.replace(spec, input=shapes[0])
    return flow(spec), spec, spec.input


def _model_report(tgt, shapes, dtype: Optional[str], kwargs: dict[str, Any], device: str):
    """The model's trace; with the model and its (first) input shape."""
    from ..trace.targets import load_model
    from ..trace.usercode import user_code
    from ..trace.tracer import summary

    if shapes is None:
        shapes = [tgt.default_input] if tgt.default_input is not None else None
    if shapes is None:
        raise ShapetraceError("give the model's input shape with --input, e.g. --input 1,3,224,224")
    dtypes = parse_dtypes(dtype, "--dtype", len(shapes))
    model = load_model(tgt, kwargs)
    with user_code():  # the model's forward is the user's code too (trace/usercode.py)
        report = summary(model, input_size=shapes if len(shapes) > 1 else shapes[0], dtypes=dtypes,
                         device=device)
    return report, model, shapes[0]

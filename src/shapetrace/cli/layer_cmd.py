"""``shapetrace layer Conv2d --input 1,1,28,28 out_channels=32 kernel_size=3 padding=1``."""

from __future__ import annotations

import json
from typing import List, Optional

import typer

from ..core.errors import ShapetraceError
from ._common import ascii_text, guard, parse_pairs, parse_shape


@guard
def layer_command(
    layer: str = typer.Argument(..., help="A torch.nn class name: Conv2d, MaxPool2d, Linear, ..."),
    arguments: Optional[List[str]] = typer.Argument(
        None, help="The layer's constructor arguments as key=value (in_channels may be left out)."),
    input: str = typer.Option(..., "--input", "-i", help="Input shape as torch takes it, e.g. 1,1,28,28."),
    lang: str = typer.Option("en", "--lang", help="en or ko."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Print one layer's output shape and the worked formula (no torch needed)."""
    from ..core.api import compute
    from ..core.errors import ArgumentError
    from ..core.explain import as_lang, render_layer

    lg = as_lang(lang)
    try:
        kwargs = parse_pairs(arguments or [], f"{layer}: arguments")
    except ShapetraceError as e:
        raise ArgumentError(str(e)) from None
    shape = _input_shapes(input)
    result = compute(layer, shape, **kwargs)
    if as_json:
        out = {
            "layer": result.layer,
            "input_shapes": [list(s) for s in result.input_shapes],
            "output_shape": list(result.output_shape),
            "params": result.params,
            "macs": result.macs,
            "formulas": [f.to_dict() for f in result.formulas],
            "notes": [n.to_dict() for n in result.notes],
            "kwargs": {k: v for k, v in result.kwargs},
        }
        typer.echo(json.dumps(out, indent=2, default=repr))
    else:
        typer.echo(ascii_text(render_layer(result, lang=lg)))


def _input_shapes(text: str):
    """One shape, or several separated by ';' (Bilinear takes two inputs)."""
    if ";" in text:
        return [parse_shape(part) for part in text.split(";")]
    return parse_shape(text)

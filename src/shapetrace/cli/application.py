"""typer's app for the ``shapetrace`` command, and nothing else: the command modules never
import it (they define plain functions), and ``cli/__init__.py`` registers them on it in one
place, so the package has no import circle (issue 13 item 5)."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="shapetrace",
    help="Exact layer shapes for PyTorch: formulas, flow tables, diagnosis, training, a web calculator.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

"""The ``shapetrace`` command. Each command lives in its own module and imports
its heavy dependencies (torch, matplotlib, fastapi) inside the command function,
so that ``shapetrace layer`` starts fast.

Exit codes (ARCHITECTURE.md): 0 success, 1 shape error (diagnosis printed),
2 bad usage or unreadable input.
"""

from __future__ import annotations

import sys

import typer
from typer.exceptions import TyperException

from ..core.errors import ShapetraceError

app = typer.Typer(
    name="shapetrace",
    help="Exact layer shapes for PyTorch: formulas, flow tables, diagnosis, training, a web calculator.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)



@app.callback()
def _root() -> None:
    """Exact layer shapes for PyTorch."""


# Command modules register themselves on ``app`` when imported.
from . import layer_cmd  # noqa: E402,F401
from . import summary_cmd  # noqa: E402,F401
from . import train_cmd  # noqa: E402,F401
from . import experiment_cmd  # noqa: E402,F401
from . import serve_cmd  # noqa: E402,F401
from . import sizes_cmd  # noqa: E402,F401


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app, turning every user error into one line on stderr."""
    try:
        rv = app(args=argv, prog_name="shapetrace", standalone_mode=False)
    except typer.Exit as e:
        sys.exit(e.exit_code)
    except typer.Abort:
        print("error: aborted", file=sys.stderr)
        sys.exit(130)
    except TyperException as e:  # usage errors: bad option, missing argument, bad value
        text = " ".join((e.format_message() if hasattr(e, "format_message") else str(e)).split())
        if not text:  # bare `shapetrace`: the help was printed, nothing went wrong
            sys.exit(0)
        print("error: " + text, file=sys.stderr)
        sys.exit(getattr(e, "exit_code", 2) or 2)
    except ShapetraceError as e:
        from ._common import error_line

        print(error_line(e), file=sys.stderr)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        sys.exit(130)
    sys.exit(rv if isinstance(rv, int) else 0)


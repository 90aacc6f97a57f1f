"""The ``shapetrace`` command. Each command lives in its own module as a plain function and
imports its heavy dependencies (torch, matplotlib, fastapi) inside that function, so that
``shapetrace layer`` starts fast. typer's app is built in ``application.py``; the commands
are registered on it here, in one place (no command module imports this package's app).

Exit codes (ARCHITECTURE.md, README "Errors and exit codes"): 0 success, 1 the model, spec
or run failed (diagnosis printed), 2 bad usage or unreadable input, 130 interrupted.
"""

from __future__ import annotations

import os
import sys
from typing import Optional

import typer
from typer.exceptions import TyperException

from ..core.errors import ShapetraceError
from . import experiment_cmd, layer_cmd, memory_cmd, serve_cmd, sizes_cmd, summary_cmd, train_cmd
from .application import app


def _version(value: bool) -> None:
    if value:
        from .. import __version__

        typer.echo(f"shapetrace {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(version: Optional[bool] = typer.Option(
        None, "--version", callback=_version, is_eager=True, help="Print the version and exit.")) -> None:
    """Exact layer shapes for PyTorch."""


# Every command, registered once (tests/test_hostile_walk.py walks this app, so a command
# added here is walked with hostile values automatically).
app.command("layer", context_settings={"allow_extra_args": False})(layer_cmd.layer_command)
app.command("summary")(summary_cmd.summary_command)
app.command("sizes")(sizes_cmd.sizes_command)
app.command("memory")(memory_cmd.memory_command)
app.command("train")(train_cmd.train_command)
app.command("eval")(train_cmd.eval_command)
app.command("predict")(train_cmd.predict_command)
app.add_typer(experiment_cmd.experiment_app, name="experiment")
app.command("serve")(serve_cmd.serve)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app, turning every user error into one line on stderr, and exit.
    ``argv=None`` (the installed command, ``python -m shapetrace``): the process ends here
    without waiting for threads the model's code started (trace/usercode.py)."""
    code = run(argv)
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        code = _closed_stdout()
    if argv is None:
        _end_process(code)
    sys.exit(code)


def run(argv: list[str] | None = None) -> int:
    """The command's exit code: 0 ok, 1 the model/spec/run failed, 2 bad input, 130 interrupted."""
    from ._common import error_line, safe_streams

    safe_streams()
    try:
        rv = app(args=argv, prog_name="shapetrace", standalone_mode=False)
    except typer.Exit as e:
        return e.exit_code
    except typer.Abort:
        print("error: aborted", file=sys.stderr)
        return 130
    except TyperException as e:  # usage errors: bad option, missing argument, bad value
        text = " ".join((e.format_message() if hasattr(e, "format_message") else str(e)).split())
        if not text:  # bare `shapetrace`: the help was printed, nothing went wrong
            return 0
        print("error: " + text, file=sys.stderr)
        return getattr(e, "exit_code", 2) or 2
    except ShapetraceError as e:
        print(error_line(e), file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `shapetrace summary | head -1`: the reader stopped reading
        return _closed_stdout()
    except SystemExit:  # click exits by itself only on EPIPE (it wraps stdout then), as 1
        if type(sys.stdout).__name__ == "PacifyFlushWrapper":
            return _closed_stdout()
        raise
    return rv if isinstance(rv, int) else 0


SIGPIPE_EXIT = 141  # 128 + SIGPIPE, what the shell reports for a tool whose reader went away


def _closed_stdout() -> int:
    """stdout's reader went away: no message (nobody reads it), stdout pointed at /dev/null so
    that Python's own flush at exit cannot fail again, exit 141 as tools killed by SIGPIPE."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no real fd (a test's captured stream)
        pass
    return SIGPIPE_EXIT


def _end_process(code: int) -> None:
    """Exit now when the model's code left non-daemon threads running: Python would join them
    at exit and ``summary`` would hang after its table. Otherwise a normal exit."""
    from ..trace.usercode import unjoined_threads

    left = unjoined_threads()
    if not left:
        sys.exit(code)
    names = ", ".join(t.name for t in left[:3]) + (" ..." if len(left) > 3 else "")
    print(f"warning: the model's code left {len(left)} thread(s) running ({names}); shapetrace "
          f"exits without waiting for them", file=sys.stderr)
    import atexit

    try:
        atexit._run_exitfuncs()  # what a normal exit runs after joining threads
    finally:
        for s in (sys.stdout, sys.stderr):
            try:
                s.flush()
            except (OSError, ValueError):
                pass
        os._exit(code)

"""The user's own code in its place (issue 14 item 10): while a target's module is imported,
its model built and traced, ``user_code()`` keeps that code from speaking for shapetrace.

- What it prints goes to stderr (Python's ``print`` and writes to file descriptor 1 alike),
  so stdout holds only shapetrace's output and ``--format json`` stays valid JSON.
- ``sys.exit(n)`` in it is a ``UserExit`` (one error line, exit 1), never shapetrace's exit:
  exit 0 with no table looked like success.
- ``os._exit(n)`` in it, from this process, is a ``UserExit`` too: ``os._exit`` (and
  ``posix._exit``, the same function) is replaced while the region runs. A forked child
  (another pid) still exits for real. A process can end itself in ways no Python code can
  intercept (``os.kill(os.getpid(), 9)``, ctypes); those end shapetrace with their own
  status, never 0 unless the code chose exit status 0 by such means.
- Non-daemon threads it starts are remembered in ``STARTED``: the CLI exits without
  joining them (``cli.main``), so a thread started at import cannot make ``summary`` hang
  after the table.

Torch-free; the CLI uses it, the Python API does not (there the caller's code is the
caller's business).
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from typing import Iterator

from ..core.errors import ShapetraceError


class UserExit(ShapetraceError):
    """The target's code tried to end the process (exit code 1: the model failed)."""

    exit_code = 1


STARTED: list[threading.Thread] = []  # non-daemon threads started by the user's code

_REAL_EXIT = os._exit
_lock = threading.Lock()
_active = 0
_owner_pid = 0


class _OsExit(SystemExit):
    """``os._exit`` inside the region: a SystemExit, so the user's (and the tracer's) ``except
    Exception`` lets it through as it lets ``sys.exit`` through."""


def _trapped_exit(status: int = 0) -> None:
    if _active and os.getpid() == _owner_pid:
        raise _OsExit(status)
    _REAL_EXIT(status)


@contextlib.contextmanager
def user_code() -> Iterator[None]:
    """Run the user's code inside this region (reentrant: the outermost region does the work)."""
    global _active, _owner_pid
    with _lock:
        outer = _active == 0
        _active += 1
    if not outer:
        try:
            yield
        finally:
            with _lock:
                _active -= 1
        return
    _owner_pid = os.getpid()
    before = set(threading.enumerate())
    posix = sys.modules.get("posix")
    os._exit = _trapped_exit  # type: ignore[assignment]
    if posix is not None:
        posix._exit = _trapped_exit  # type: ignore[attr-defined]
    try:
        with _stdout_to_stderr():
            yield
    except SystemExit as e:
        call = "os._exit" if isinstance(e, _OsExit) else "sys.exit"
        raise UserExit(f"the model's code called {call}({e.code!r}); shapetrace stopped it (the "
                       f"target must not end the process)") from None
    finally:
        os._exit = _REAL_EXIT
        if posix is not None:
            posix._exit = _REAL_EXIT  # type: ignore[attr-defined]
        with _lock:
            _active -= 1
        STARTED.extend(t for t in threading.enumerate()
                       if t not in before and t.is_alive() and not t.daemon)


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """``sys.stdout`` and file descriptor 1 both point at stderr for the region."""
    for s in (sys.stdout, sys.stderr):
        _flush(s)
    saved = None
    try:
        saved = os.dup(1)
        os.dup2(2, 1)
    except OSError:  # no fd 1 or 2 (a closed stream): Python-level redirection only
        if saved is not None:
            os.close(saved)
        saved = None
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        for s in (sys.stdout, sys.stderr):
            _flush(s)
        if saved is not None:
            os.dup2(saved, 1)
            os.close(saved)


def _flush(stream: object) -> None:
    try:
        stream.flush()  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):
        pass


def unjoined_threads() -> list[threading.Thread]:
    """The user's non-daemon threads still running (the CLI does not wait for them)."""
    return [t for t in STARTED if t.is_alive()]

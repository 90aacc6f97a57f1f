"""Helpers shared by the command modules."""

from __future__ import annotations

import functools
from enum import Enum
import os
import sys
from pathlib import Path
from typing import Any, Callable

import typer

from ..core.errors import ShapetraceError, one_line


def guard(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a ShapetraceError raised by a command into one line on stderr and its exit code,
    also when the command runs under typer's CliRunner (tests), where ``main`` is bypassed.

    Every option value is checked here first, for every command, as a class (the boundary
    where command-line input enters): an integer beyond int64, a float that is not finite,
    a NUL byte or a lone surrogate (bytes that were not UTF-8) in a string or path."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            for name, value in kwargs.items():
                check_option(name, value)
            return fn(*args, **kwargs)
        except ShapetraceError as e:
            print(error_line(e), file=sys.stderr)
            raise typer.Exit(e.exit_code) from None

    return wrapper


INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def _flag(name: str) -> str:
    """The option's name as the user typed it (``--train-subset``), or the argument's."""
    try:  # typer 0.28 carries its own click; its context is not the click package's
        from typer._click.globals import get_current_context
    except ImportError:  # pragma: no cover - an older typer uses click itself
        from click import get_current_context

    ctx = get_current_context(silent=True)
    for p in (ctx.command.params if ctx is not None else ()):
        if p.name == name:  # typer 0.28 carries its own click: no isinstance on click's classes
            return max(p.opts, key=len) if p.param_type_name == "option" else (p.human_readable_name or name)
    return "--" + name.replace("_", "-")


def check_option(name: str, value: Any) -> None:
    """Refuse a value no command can use; raises ShapetraceError (exit 2)."""
    import math
    from os import PathLike, fspath

    for v in value if isinstance(value, (list, tuple)) else (value,):
        if isinstance(v, bool) or v is None:
            continue
        if isinstance(v, int) and not INT64_MIN <= v <= INT64_MAX:
            raise ShapetraceError(f"{_flag(name)} is beyond the 64-bit integer range "
                                  f"({INT64_MIN} to {INT64_MAX})")
        if isinstance(v, float) and not math.isfinite(v):
            raise ShapetraceError(f"{_flag(name)} must be a finite number, got {v}")
        if isinstance(v, PathLike):
            v = fspath(v)
            if _is_fifo(v):  # reading one blocks until a writer comes, maybe forever
                raise ShapetraceError(f"{_flag(name)} {v} is a FIFO (named pipe), not a file or folder")
        if isinstance(v, str):
            if "\x00" in v:
                raise ShapetraceError(f"{_flag(name)} contains a NUL byte")
            try:
                v.encode("utf-8")
            except UnicodeEncodeError:
                raise ShapetraceError(f"{_flag(name)} is not valid UTF-8 text: "
                                      f"{v.encode('utf-8', 'backslashreplace').decode('ascii', 'replace')[:80]!r}") from None


def _is_fifo(path: str) -> bool:
    import stat

    try:
        return stat.S_ISFIFO(os.stat(path).st_mode)
    except (OSError, ValueError):  # missing, unreadable, a NUL byte: the command says so
        return False


def error_line(e: ShapetraceError) -> str:
    """``error: <what is wrong>`` on one line, with the fix when the error knows one."""
    msg = one_line(e)
    fix = getattr(e, "fix", None)
    return f"error: {msg}" + (f" (fix: {fix})" if fix else "")


def parse_value(text: str) -> Any:
    """A ``key=value`` value from the command line: 3, 2.5, true, none, same, 3,3 or (3, 3).

    Parsed as YAML (safe loader: data only, never code); lists become tuples, as
    torch's constructors take them.
    """
    from ..core.errors import SpecError
    from ..core.loading import TooDeep, load_yaml

    t = text.strip()
    if t.startswith("(") and t.endswith(")"):
        t = "[" + t[1:-1] + "]"
    elif "," in t and not t.startswith("["):
        t = "[" + t + "]"
    if t.lower() in ("none", "null"):
        return None
    try:
        # YAML 1.2 scalars, as JSON reads numbers: 5e-1 and 2e0 are floats (core/loading.py)
        v = load_yaml(t, source="value")
    except TooDeep as e:
        raise ShapetraceError(f"{one_line(e)}: {text[:40]!r}...") from None
    except SpecError:
        return text
    return _tuples(v)


def parse_pairs(items: list[str], what: str, *, identifiers: bool = False) -> dict[str, Any]:
    """``key=value`` items -> a dict; a key given twice is an error (the last one silently
    winning hid a typo), as is an item without ``=``."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key or (identifiers and not key.isidentifier()):
            form = "name=value" if identifiers else "key=value"
            raise ShapetraceError(f"{what} must look like {form}, got {item.strip()[:80]!r}")
        if key in out:
            raise ShapetraceError(f"{what}: {key!r} is given twice")
        out[key] = parse_value(value)
    return out


def _tuples(v: Any) -> Any:
    if isinstance(v, list):
        return tuple(_tuples(x) for x in v)
    if isinstance(v, str) and v.lower() == "none":  # output_size=(None, 7): Python's None
        return None
    return v


def parse_shape(text: str, what: str = "--input") -> tuple[int, ...]:
    """'1,1,28,28' or '(1, 1, 28, 28)' or '1x1x28x28' -> (1, 1, 28, 28)."""
    from ..core.errors import ShapetraceError as _E

    import re

    cleaned = text.strip().strip("()[]").strip()
    # "1,1,28,28", "1, 1, 28, 28" or "1x1x28x28"; every part must be a number
    parts = re.split(r"\s*,\s*|\s*x\s*(?=\d)|(?<=\d)\s*x\s*", cleaned) if cleaned else []
    if parts and parts[-1] == "":
        parts = parts[:-1]  # a trailing comma, as in "(1152,)"
    if any(len(p.strip().lstrip("+-")) > 19 for p in parts):  # 2**63 has 19 digits
        raise _E(f"{what} has a size beyond 2**63 - 1 (torch sizes are int64): {text[:60]!r}")
    try:
        dims = tuple(int(p) for p in parts)
    except ValueError:
        raise _E(f"{what} must be integers separated by commas, like 1,1,28,28; got {text[:80]!r}") from None
    if not dims:
        raise _E(f"{what} is empty; give a shape like 1,1,28,28")
    if any(d < 0 for d in dims):
        raise _E(f"{what} has a negative size: {text!r}")
    if any(d > INT64_MAX for d in dims):
        raise _E(f"{what} has a size beyond 2**63 - 1 (torch sizes are int64): {text!r}")
    return dims


def parse_dtypes(text: str | None, option: str, n_inputs: int) -> list[str] | None:
    """'int64' (every input) or 'int64;float32' (one per input, as the --input shapes) ->
    the names, which the tracer reads; their count is checked here, in the CLI's words."""
    if not text or not text.strip():
        return None
    names = [d.strip() for d in text.split(";")]
    import torch  # a model's command: torch is loaded for it anyway

    for name in names:
        if not name:
            raise ShapetraceError(f"{option} has an empty entry: {text[:60]!r} (one dtype per input, "
                                  f"separated by ';')")
        if not isinstance(getattr(torch, name.removeprefix("torch."), None), torch.dtype):
            raise ShapetraceError(f"{option}: {name[:40]!r} is not a torch dtype (float32, float16, bfloat16, "
                                  f"float64, int64, int32, bool ...)")
    if len(names) not in (1, n_inputs):
        raise ShapetraceError(f"{option} gives {len(names)} dtypes for {n_inputs} input"
                              f"{'' if n_inputs == 1 else 's'} (--input): give one dtype for all inputs, or "
                              f"one per input separated by ';'")
    return names


def write_output(path: str | Path, text: str, *, inputs: tuple[str | Path, ...] = (),
                 what: str = "--output", overwrite: bool = False) -> None:
    """Write a command's output file atomically (atomic.py), never onto one of its own
    ``inputs`` (compared by device and inode, so a link or another spelling of the path is
    caught too), and never over a file that exists unless ``overwrite`` (--overwrite): a
    mistyped ``-o model.py`` must not replace the user's code."""
    from ..atomic import AtomicWriteError, atomic_write_text

    _not_an_input(path, inputs, what)
    try:
        atomic_write_text(path, text, replace=overwrite)
    except FileExistsError:
        raise ShapetraceError(_exists(path, what)) from None
    except AtomicWriteError as e:
        raise ShapetraceError(f"{what}: {e}") from None
    except (OSError, ValueError) as e:
        raise ShapetraceError(f"cannot write {path}: {getattr(e, 'strerror', None) or e}") from None


# Box drawing (U+2500-U+257F) as ASCII, for a terminal or pipe whose encoding has no such
# characters (PYTHONIOENCODING=ascii, a latin-1 locale): lines, corners and tees.
_BOX_ASCII = {cp: ("-" if cp in (0x2500, 0x2501, 0x2504, 0x2505, 0x2508, 0x2509, 0x254C, 0x254D, 0x2550)
                   else "|" if cp in (0x2502, 0x2503, 0x2506, 0x2507, 0x250A, 0x250B, 0x254E, 0x254F, 0x2551)
                   else "+") for cp in range(0x2500, 0x2580)}


def safe_streams() -> None:
    """stdout and stderr never raise on a character their encoding lacks: box drawing becomes
    ASCII (``ascii_text``), anything else a '?'. A traceback for a Korean word on a latin-1
    terminal helps nobody."""
    for s in (sys.stdout, sys.stderr):
        enc = (getattr(s, "encoding", None) or "").lower().replace("_", "-")
        if enc and not enc.startswith("utf") and hasattr(s, "reconfigure"):
            try:
                s.reconfigure(errors="replace")
            except (ValueError, OSError):  # pragma: no cover - a stream that cannot be reconfigured
                pass


def ascii_text(text: str, stream: Any = None) -> str:
    """``text`` with box drawing as ASCII when ``stream`` (default stdout) cannot encode it."""
    enc = getattr(stream if stream is not None else sys.stdout, "encoding", None) or "utf-8"
    try:
        "\u2500\u251c".encode(enc)
        return text
    except (UnicodeEncodeError, LookupError):
        return text.translate(_BOX_ASCII)


class PlainFormat(str, Enum):
    """The formats of the commands that print one report: `sizes` and `memory`."""
    TABLE = "table"
    MARKDOWN = "markdown"
    JSON = "json"


def plain_format(value: str) -> PlainFormat:
    """``--format`` as a PlainFormat, else one error line."""
    try:
        return PlainFormat(value)
    except ValueError:
        raise ShapetraceError(f"--format must be table, markdown or json, got {value!r}") from None


def render_plain(f: PlainFormat, renderer: Any, report: Any, *args: Any) -> str:
    """``renderer``'s (render/sizes.py, render/memory.py) JSON, Markdown or text of ``report``;
    the Markdown and text take ``args`` (title, language ...), JSON only the numbers."""
    if f is PlainFormat.JSON:
        return renderer.json(report)
    return (renderer.markdown if f is PlainFormat.MARKDOWN else renderer.text)(report, *args)


def _not_an_input(path: str | Path, inputs: tuple[str | Path, ...], what: str) -> None:
    from ..atomic import same_file

    for src in inputs:
        if same_file(path, src):
            raise ShapetraceError(f"{what} {path} is the input {src}; writing it would destroy the input")


def _exists(path: str | Path, what: str) -> str:
    return f"{what}: {path} already exists; pass --overwrite to replace it (nothing was written)"


def own_inputs(target: Any) -> tuple[Path, ...]:
    """The files a command's ``target`` was read from (a spec, the model's .py file)."""
    from ..trace.targets import TargetKind

    return (target.location,) if target.kind in (TargetKind.SPEC, TargetKind.FILE) else ()


def check_output(path: str | Path | None, overwrite: bool, target: Any, what: str = "--output") -> None:
    """Refuse ``-o`` onto the command's own input or onto an existing file before any work
    (``write_output`` looks again as it writes, atomically, for a file made meanwhile)."""
    from ..atomic import resolve_target

    if path is None:
        return
    _not_an_input(path, own_inputs(target), what)
    if overwrite:
        return
    try:
        exists = resolve_target(path).exists()
    except (OSError, ValueError):  # a folder, a device, an odd name: write_output says which
        return
    if exists:
        raise ShapetraceError(_exists(path, what))


# The option of every command that writes ``-o/--output`` (summary, sizes, memory).
OVERWRITE_HELP = "Replace the --output file if it exists (without this, an existing file is refused)."


def emit(text: str, output: str | Path | None, target: Any, overwrite: bool = False) -> None:
    """A command's answer: to ``-o`` (atomically, never onto the spec or the model's .py file
    ``target`` was made from, over an existing file only with ``overwrite``), else to stdout
    (box drawing as ASCII where it cannot encode it)."""
    if output is not None:
        write_output(output, text, inputs=own_inputs(target), overwrite=overwrite)
    else:
        sys.stdout.write(ascii_text(text))
        sys.stdout.flush()

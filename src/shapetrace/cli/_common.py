"""Helpers shared by the command modules."""

from __future__ import annotations

import functools
import sys
from typing import Any, Callable

import typer

from ..core.errors import ShapetraceError, one_line


def guard(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a ShapetraceError raised by a command into one line on stderr and its exit code,
    also when the command runs under typer's CliRunner (tests), where ``main`` is bypassed."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ShapetraceError as e:
            print(error_line(e), file=sys.stderr)
            raise typer.Exit(e.exit_code) from None

    return wrapper


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
    import yaml

    t = text.strip()
    if t.startswith("(") and t.endswith(")"):
        t = "[" + t[1:-1] + "]"
    elif "," in t and not t.startswith("["):
        t = "[" + t + "]"
    if t.lower() in ("none", "null"):
        return None
    try:
        v = yaml.safe_load(t)
    except yaml.YAMLError:
        return text
    return _tuples(v)


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
    try:
        dims = tuple(int(p) for p in parts)
    except ValueError:
        raise _E(f"{what} must be integers separated by commas, like 1,1,28,28; got {text!r}") from None
    if not dims:
        raise _E(f"{what} is empty; give a shape like 1,1,28,28")
    if any(d < 0 for d in dims):
        raise _E(f"{what} has a negative size: {text!r}")
    return dims

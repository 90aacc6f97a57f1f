"""Helpers of the hostile walk (tests/test_hostile_walk.py): every command and option of the
typer app, the hostile values for an option's type, the scratch folder the commands run in,
and a record of its files to prove nothing outside ``--out`` was touched."""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import typer

try:  # typer 0.28 carries its own click; its classes are not the click package's
    from typer._click import core, types
except ImportError:  # pragma: no cover - an older typer uses click itself
    from click import core, types


def is_option(p: core.Parameter) -> bool:
    return p.param_type_name == "option"

from shapetrace.cli import app


@dataclass(frozen=True)
class Param:
    path: tuple[str, ...]  # ("experiment", "depth")
    param: core.Parameter

    @property
    def name(self) -> str:
        return self.param.name or "?"

    @property
    def flag(self) -> str | None:
        """The option's longest spelling; None for a positional argument."""
        return max(self.param.opts, key=len) if is_option(self.param) else None

    @property
    def id(self) -> str:
        return " ".join(self.path) + " " + (self.flag or self.name.upper())


def commands(group: core.Command | None = None, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], core.Command]]:
    """Every command of the app, subcommands of groups included, from the app itself (a command
    registered in cli/__init__.py is walked without a change here)."""
    group = group if group is not None else typer.main.get_command(app)
    subcommands = getattr(group, "commands", None)
    if subcommands:
        for name, cmd in sorted(subcommands.items()):
            yield from commands(cmd, (*path, name))
    else:
        yield path, group


def takes_value(p: core.Parameter) -> bool:
    if is_option(p):
        return not (getattr(p, "is_flag", False) or getattr(p, "count", False)) and p.name != "help"
    return True


def params() -> list[Param]:
    return [Param(path, p) for path, cmd in commands() for p in cmd.params if takes_value(p)]


# --------------------------------------------------------------------------- the values

BIG = str(2**64)
SURROGATE = "x\udcff"  # what a non-UTF-8 byte in argv becomes (surrogateescape)
UNICODE = "é한\u202e"  # accents, Hangul, a right-to-left override


# Paths relative to the scratch folder, the cwd of a walked command (``Scratch``).
DIRECTORY, FIFO, MISSING, USER_FILE = "adir.yaml", "fifo.yaml", "missing.yaml", "notes.txt"
OWN_INPUT = "spec.yaml"  # the spec the walk's baselines give summary and sizes: as an output, it must survive


# Values no option may accept: they must end in exit 1 or 2 before any work (2**64 is a
# finite float, so a float option may take it as 1.8e19, as it may take 1e308).
ALWAYS_BAD = {BIG, "nan", "inf", "-inf", SURROGATE, FIFO}


def must_refuse(p: core.Parameter, value: str) -> bool:
    if value == BIG and isinstance(p.type, types.FloatParamType):
        return False
    return value in ALWAYS_BAD


def values_for(p: core.Parameter) -> list[str]:
    """Hostile values for ``p``, by its type (numbers for numbers, paths for paths)."""
    t = p.type
    numbers = [BIG, "-1", "0", "nan", "inf", "1e308", "", UNICODE]
    paths = ["", DIRECTORY, FIFO, MISSING, USER_FILE, OWN_INPUT, SURROGATE, UNICODE]
    if isinstance(t, (types.IntParamType, types.FloatParamType)):
        return numbers + [SURROGATE]
    if getattr(t, "choices", None):
        return ["", SURROGATE, BIG]
    if "Path" in type(t).__name__:
        return paths
    return [BIG, "-1", "0", "nan", "inf", "1e308", *paths]


# --------------------------------------------------------------------------- the scratch folder


@dataclass(frozen=True)
class Scratch:
    """The folder a walked command runs in (its cwd): the files a careless user has around."""

    root: Path

    @property
    def directory(self) -> Path:
        return self.root / DIRECTORY

    @property
    def fifo(self) -> Path:
        return self.root / FIFO

    @property
    def missing(self) -> Path:
        return self.root / MISSING

    @property
    def user_file(self) -> Path:
        return self.root / USER_FILE

    @property
    def out(self) -> Path:
        return self.root / "out"

    @classmethod
    def make(cls, root: Path) -> "Scratch":
        s = cls(root)
        root.mkdir()
        s.directory.mkdir()
        (s.directory / "inside.txt").write_text("a user's file in a folder\n")
        os.mkfifo(s.fifo)
        s.user_file.write_text("a user's notes: must survive\n")
        (root / "empty").mkdir()
        return s

    def files(self) -> dict[str, tuple[int, ...]]:
        """Every entry under the root but ``out/`` -> its mode, inode, size and mtime."""
        seen: dict[str, tuple[int, ...]] = {}
        for dirpath, dirnames, filenames in os.walk(self.root):
            rel = os.path.relpath(dirpath, self.root)
            if rel == "out" or rel.startswith("out" + os.sep):
                continue
            for name in dirnames + filenames:
                p = Path(dirpath) / name
                st = p.lstat()
                # a write changes the size, the mtime or (an atomic replace) the inode
                seen[os.path.relpath(p, self.root)] = (st.st_mode, st.st_ino, st.st_size, st.st_mtime_ns)
        return seen


class Hung(Exception):
    pass


class alarm:
    """Fail (``Hung``) instead of hanging when a command blocks, e.g. on a FIFO."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def __enter__(self) -> None:
        def fire(*_):
            raise Hung(f"the command did not end within {self.seconds} s")

        self.old = signal.signal(signal.SIGALRM, fire)
        signal.setitimer(signal.ITIMER_REAL, self.seconds)

    def __exit__(self, *exc) -> None:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, self.old)

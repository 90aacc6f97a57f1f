"""The output folder of a command that trains (``train``, ``experiment depth``): the one place
that decides whether a folder may be written, and that keeps it consistent.

* It must be a folder this process can write (probed before any work).
* It is **locked** for the whole run (``fcntl.flock`` on the folder itself, so no lock file is
  left behind; the kernel drops the lock when the process dies, even by SIGKILL). A second run
  into the same folder is refused at once instead of interleaving its files with the first's.
* A run folder is recognised by the **marker** the run writes first (``.shapetrace-run``, JSON:
  which command, a run id). A folder that holds files with the names of the outputs but no
  marker holds a user's files: it is refused, with or without ``--overwrite``.
* ``--overwrite`` deletes the previous run's outputs before the new run writes anything (the
  weights first), so an interrupted overwrite never leaves old weights beside a new checkpoint.

torch-free.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from ..atomic import atomic_write_text
from ..core.errors import CheckpointError

MARKER_NAME = ".shapetrace-run"


@dataclass
class RunFolder:
    """A checked and locked output folder. ``start()`` marks it (and clears a replaced run's
    outputs) once the run's set-up succeeded; ``abandon()`` undoes a claim that never started;
    ``release()`` (or the process's exit) drops the lock."""

    path: Path
    kind: str
    run_id: str
    created: bool  # the folder did not exist before this run
    outputs: tuple[str, ...] = ()
    resume: bool = False
    _fd: int | None = field(default=None, repr=False)

    def start(self) -> None:
        """Write the marker, and unless resuming delete the outputs of the run being replaced,
        in ``outputs`` order (the weights first): from here on the folder holds this run only."""
        if not self.resume:
            for name in self.outputs:
                with contextlib.suppress(FileNotFoundError):
                    (self.path / name).unlink()
        atomic_write_text(self.path / MARKER_NAME, json.dumps(
            {"kind": self.kind, "run_id": self.run_id, "pid": os.getpid()}) + "\n")

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None

    def abandon(self) -> None:
        """Undo a claim whose run failed before ``start()``: nothing was written; the folder goes
        when this run created it."""
        if self.created:
            with contextlib.suppress(OSError):
                self.path.rmdir()
        self.release()


def claim(out: str | os.PathLike, kind: str, outputs: Iterable[str], *, resume: bool = False,
          overwrite: bool = False, run_file: str | None = None, option: str = "--out") -> RunFolder:
    """Check and lock ``out`` for a run of ``kind`` that writes ``outputs`` (file names, the one
    to delete first first). Nothing in the folder changes until ``start()``.

    ``run_file``: the output whose presence means there is a run to continue or replace (the
    checkpoint for ``train``; None: any output). Raises ``CheckpointError`` (exit 2) with one line.
    """
    path = Path(out)
    outputs = tuple(outputs)
    if path.exists() and not path.is_dir():
        raise CheckpointError(f"{option} {path}: exists and is not a folder")
    created = not path.exists()
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-probe-"):
            pass
    except OSError as e:
        raise CheckpointError(f"{option} {path}: cannot write there ({e.strerror or e})") from None
    folder = RunFolder(path, kind, uuid.uuid4().hex, created, outputs, resume)
    try:
        folder._fd = _lock(path, option)
        marker = _check_contents(folder, outputs, resume=resume, overwrite=overwrite, run_file=run_file,
                                 option=option)
        if resume and marker and isinstance(marker.get("run_id"), str):
            folder.run_id = marker["run_id"]  # a resumed run keeps its id
    except BaseException:
        folder.abandon()
        raise
    return folder


def read_marker(path: Path) -> dict | None:
    try:
        data = json.loads((path / MARKER_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _lock(path: Path, option: str) -> int | None:
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock (the rest still holds)
        return None
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        marker = read_marker(path) or {}
        who = f" (process {marker['pid']})" if isinstance(marker.get("pid"), int) else ""
        raise CheckpointError(f"{option} {path} is in use by another shapetrace run{who}; wait for it "
                              f"to finish or choose another {option}") from None
    return fd


def _check_contents(folder: RunFolder, outputs: tuple[str, ...], *, resume: bool, overwrite: bool,
                    run_file: str | None, option: str) -> dict | None:
    path = folder.path
    marker = read_marker(path) if (path / MARKER_NAME).exists() else None
    present = [name for name in outputs if (path / name).exists()]
    legacy_run = run_file is not None and run_file in present  # written before markers existed
    if marker is None and present and not legacy_run:
        raise CheckpointError(f"{option} {path} holds files that no shapetrace run wrote there "
                              f"({', '.join(present)}); they are left alone: choose another {option}")
    if marker is not None and marker.get("kind") != folder.kind:
        raise CheckpointError(f"{option} {path} holds a run of `shapetrace {marker.get('kind')}`, not of "
                              f"`shapetrace {folder.kind}`; choose another {option}")
    has_run = (run_file in present) if run_file is not None else bool(present)
    if resume and not has_run:
        raise CheckpointError(f"--resume: {path / (run_file or '')} does not exist; start the run without --resume")
    if not resume and has_run and not overwrite:
        what = f" ({run_file})" if run_file else ""
        cont = "pass --resume to continue it, " if run_file else ""
        raise CheckpointError(f"{option} {path} already holds a run{what}; {cont}--overwrite to start over, "
                              f"or choose another {option}")
    return marker

"""Write files so that a crash never leaves a half-written one under the real name:
write a temp file in the same folder, fsync, ``os.replace`` (atomic on POSIX), fsync the folder.

Onto an existing file the write keeps its mode; onto a symlink it replaces the link's target
and leaves the link; onto a directory, a device or a FIFO it is refused."""

from __future__ import annotations

import contextlib
import glob
import os
import stat
import tempfile
from pathlib import Path
from typing import Callable, Iterator

CHUNK = 1 << 20


def atomic_write_bytes(path: str | os.PathLike, data: bytes,
                       after_first_chunk: Callable[[], None] | None = None) -> Path:
    """Write ``data`` to ``path`` atomically. ``after_first_chunk`` runs once the temp file holds
    its first chunk (the fault-injection tests kill the process there)."""
    p = Path(path)
    with atomic_path(p) as tmp:
        with open(tmp, "wb") as f:
            view = memoryview(data)
            for start in range(0, max(len(view), 1), CHUNK):
                f.write(view[start:start + CHUNK])
                if start == 0 and after_first_chunk is not None:
                    f.flush()
                    after_first_chunk()
            f.flush()
            os.fsync(f.fileno())
    return p


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


class AtomicWriteError(OSError):
    """The destination cannot be written atomically (a directory, a device, a FIFO)."""


def resolve_target(path: str | os.PathLike) -> Path:
    """Where a write to ``path`` must land. A symlink is followed: the file it points to is
    replaced and the link stays a link (``os.replace`` onto the link itself would turn it into
    a plain file). Anything that exists and is not a regular file is refused: replacing
    /dev/null or a FIFO with a file destroys it, and a directory cannot be replaced."""
    p = Path(path)
    if p.is_symlink():
        p = Path(os.path.realpath(p))
    try:
        st = os.stat(p)
    except FileNotFoundError:
        return p
    if stat.S_ISDIR(st.st_mode):
        raise AtomicWriteError(f"{path} is a directory")
    if not stat.S_ISREG(st.st_mode):
        raise AtomicWriteError(f"{path} is not a regular file (a device or a pipe); it is left alone")
    return p


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """Whether ``a`` and ``b`` are one file (device and inode: links and other spellings too)."""
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):
        return False


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temp path beside ``path``; on success rename it onto ``path``, on error delete it.

    For writers that want a file name (matplotlib's savefig, safetensors' save_file). A file
    that already exists keeps its permission bits; a symlink keeps pointing where it pointed
    (its target is replaced); a non-regular file is refused (``resolve_target``)."""
    p = resolve_target(path)
    try:
        mode = stat.S_IMODE(os.stat(p).st_mode)  # replacing a 0600 file must not publish it
    except FileNotFoundError:
        mode = 0o666 & ~_umask()  # what open() would have made
    fd, name = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, mode)  # mkstemp makes 0600
        os.replace(tmp, p)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(p.parent)


def remove_stale_temps(folder: str | os.PathLike, *names: str) -> list[Path]:
    """Delete the temp files a killed writer left beside ``folder/name`` for each of ``names``
    (only ``atomic_path``'s pattern, ``.{name}.*.tmp``); returns what was removed."""
    removed = []
    for name in names:
        for stale in Path(folder).glob(f".{glob.escape(name)}.*.tmp"):
            with contextlib.suppress(OSError):
                stale.unlink()
                removed.append(stale)
    return removed


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask

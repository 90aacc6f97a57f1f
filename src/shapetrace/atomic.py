"""Write files so that a crash never leaves a half-written one under the real name:
write a temp file in the same folder, fsync, ``os.replace`` (atomic on POSIX), fsync the folder.

Onto an existing file the write keeps its mode; onto a symlink it replaces the link's target
and leaves the link; onto a directory, a device or a FIFO it is refused. ``replace=False``
(the CLI's ``-o`` without ``--overwrite``) never replaces a file that exists."""

from __future__ import annotations

import contextlib
import errno
import glob
import os
import stat
import tempfile
from pathlib import Path
from typing import Callable, Iterator

CHUNK = 1 << 20


def atomic_write_bytes(path: str | os.PathLike, data: bytes,
                       after_first_chunk: Callable[[], None] | None = None, *, replace: bool = True) -> Path:
    """Write ``data`` to ``path`` atomically. ``after_first_chunk`` runs once the temp file holds
    its first chunk (the fault-injection tests kill the process there). ``replace=False``: an
    existing file is left alone (``FileExistsError``), see ``atomic_path``."""
    p = Path(path)
    with atomic_path(p, replace=replace) as tmp:
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


def atomic_write_text(path: str | os.PathLike, text: str, *, replace: bool = True) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"), replace=replace)


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
def atomic_path(path: str | os.PathLike, *, replace: bool = True) -> Iterator[Path]:
    """Yield a temp path beside ``path``; on success rename it onto ``path``, on error delete it.

    For writers that want a file name (matplotlib's savefig, safetensors' save_file). A file
    that already exists keeps its permission bits; a symlink keeps pointing where it pointed
    (its target is replaced); a non-regular file is refused (``resolve_target``).
    ``replace=False``: a file that exists is never replaced (``FileExistsError``, before any
    work and again at the rename, which is then a hard link: it fails if a second writer made
    the file meanwhile)."""
    p = resolve_target(path)
    if not replace and p.exists():
        raise FileExistsError(errno.EEXIST, "file exists", str(path))
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
        if replace:
            os.replace(tmp, p)
        else:
            _create(tmp, p)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(p.parent)


def _create(tmp: Path, p: Path) -> None:
    """Put ``tmp`` at ``p`` only if nothing is there: a hard link is atomic and refuses an
    existing name (``os.replace`` would silently replace it); the temp name then goes. Where
    the file system has no hard links, a last look and the rename."""
    try:
        os.link(tmp, p)
    except FileExistsError:
        raise
    except OSError:  # no hard links here (some network and FUSE file systems)
        if p.exists():
            raise FileExistsError(errno.EEXIST, "file exists", str(p)) from None
        os.replace(tmp, p)
        return
    tmp.unlink()


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

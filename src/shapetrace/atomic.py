"""Write files so that a crash never leaves a half-written one under the real name:
write a temp file in the same folder, fsync, ``os.replace`` (atomic on POSIX), fsync the folder."""

from __future__ import annotations

import contextlib
import glob
import os
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


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temp path beside ``path``; on success rename it onto ``path``, on error delete it.

    For writers that want a file name (matplotlib's savefig, safetensors' save_file)."""
    p = Path(path)
    fd, name = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600
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

"""The IDX file format: read (gzip-compressed or raw, told apart by content) and written.

numpy only. IDX (http://yann.lecun.com/exdb/mnist/, "FILE FORMATS FOR THE MNIST DATABASE"):
a big-endian magic number ``0x0000TTNN`` (two zero bytes, a type code ``TT``, the number
of dimensions ``NN``), then one big-endian uint32 per dimension, then the data in C order.
MNIST uses type 0x08 (unsigned byte): images are ``0x00000803`` (N x 28 x 28), labels
``0x00000801`` (N). ``data/mnist.py`` reads MNIST's four files with it.
"""

from __future__ import annotations

import gzip
import math
import os
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np

from ..atomic import atomic_write_bytes
from ..core.errors import DataError

# IDX type codes -> numpy dtypes (big-endian, as the format stores them).
_IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
GZIP_MAGIC = b"\x1f\x8b"


def read_idx(path: str | os.PathLike, *, max_bytes: int | None = None) -> np.ndarray:
    """Read one IDX file (gzip-compressed or raw, told apart by content, not by name).

    Every check raises ``DataError`` naming the file: unreadable, corrupt gzip, bad
    magic, unknown type code, too short for its header, or data size not matching the
    dimensions (truncated or with trailing bytes).

    The header is read first and says how many bytes follow; never more than that (and a
    few bytes to tell that there is more) is read or inflated, so a small gzip that inflates
    to gigabytes is refused at the declared size. A header that declares more than
    ``max_bytes`` (default ``MAX_IDX_BYTES``) is refused before any data is read.
    """
    p = Path(path)
    limit = MAX_IDX_BYTES if max_bytes is None else max_bytes
    try:
        with open(p, "rb") as f:
            if f.read(2) == GZIP_MAGIC:
                f.seek(0)
                with gzip.GzipFile(fileobj=f, mode="rb") as z:
                    return _read_stream(z, p, limit)
            f.seek(0)
            return _read_stream(f, p, limit)
    except FileNotFoundError:
        raise DataError(f"{p}: no such file") from None
    except IsADirectoryError:
        raise DataError(f"{p}: is a directory, expected an IDX file") from None
    except (EOFError, zlib.error, gzip.BadGzipFile) as e:
        raise DataError(f"{p}: corrupt or truncated gzip data ({' '.join(str(e).split())})") from None
    except OSError as e:
        raise DataError(f"{p}: cannot read ({e.strerror or e})") from None


# The most data one IDX file may declare: MNIST's largest file (the training images) holds
# 60,000 x 28 x 28 = 47 MB; this leaves room for larger MNIST-like sets and refuses a header
# that would make the reader allocate gigabytes.
MAX_IDX_BYTES = 256 * 2 ** 20
# How far past the declared data the reader looks to report trailing bytes exactly.
_TAIL = 2 ** 16
# How much of the data is read (and, for gzip, inflated) per request.
_CHUNK = 2 ** 20


def _read_stream(f: BinaryIO, p: Path, limit: int) -> np.ndarray:
    """The header, then exactly the bytes it declares plus at most ``_TAIL`` (see ``read_idx``).

    The data is read straight into one buffer that the returned array then uses: MNIST's training
    images are 47 MB, and joining them to the header and copying them again to an array cost twice
    that on top."""
    head = f.read(4)
    if len(head) == 4 and head[:2] == b"\0\0":
        head += f.read(4 * head[3])
    dtype, dims, _ = _parse_header(head, str(p))
    expected = _data_bytes(dtype, dims)
    if expected > limit:
        raise DataError(f"{p}: its header declares dimensions {_shape(dims)}, {expected:,} data "
                        f"bytes, more than the {limit:,} an IDX file may hold here")
    data = bytearray(expected)
    got = _read_into(f, data)
    if got < expected:
        raise DataError(f"{p}: truncated: dimensions {_shape(dims)} need {expected} data bytes, found {got}")
    more = len(f.read(_TAIL))
    if more:
        beyond = f"more than {more}" if more == _TAIL else str(more)
        raise DataError(f"{p}: {beyond} unexpected bytes after the data of dimensions "
                        f"{_shape(dims)} (the header declares {expected:,}); not read further")
    return _to_array(data, dtype, dims)


def _read_into(f: BinaryIO, buffer: bytearray) -> int:
    """Fill ``buffer`` from ``f`` (a file or a gzip stream) until it is full or the stream ends;
    the number of bytes read. In chunks: a gzip stream inflates each request whole into a new
    bytes object before copying it, so one request for all of it would hold the data twice."""
    view = memoryview(buffer)
    got = 0
    while got < len(buffer):
        n = f.readinto(view[got: got + _CHUNK])
        if not n:
            break
        got += n
    return got


def parse_idx(raw: bytes, name: str = "<bytes>") -> np.ndarray:
    """Parse the uncompressed bytes of an IDX file (see ``read_idx``)."""
    dtype, dims, header = _parse_header(raw, name)
    expected = _data_bytes(dtype, dims)
    got = len(raw) - header
    if got < expected:
        raise DataError(f"{name}: truncated: dimensions {_shape(dims)} need {expected} "
                        f"data bytes, found {got}")
    if got > expected:
        raise DataError(f"{name}: {got - expected} unexpected bytes after the data of "
                        f"dimensions {_shape(dims)}")
    return _to_array(bytearray(memoryview(raw)[header:]), dtype, dims)  # bytes are read-only: one copy


def _parse_header(raw: bytes, name: str) -> tuple[np.dtype, tuple[int, ...], int]:
    """The dtype, the dimensions and the length of the IDX header at the start of ``raw`` (which
    may hold more than the header); a ``DataError`` naming ``name`` says what is wrong with it."""
    if len(raw) < 4:
        raise DataError(f"{name}: too short for an IDX header ({len(raw)} bytes, need at least 4)")
    if raw[0] != 0 or raw[1] != 0:
        raise DataError(f"{name}: bad IDX magic number 0x{raw[:4].hex()} "
                        f"(must start with two zero bytes, e.g. 0x00000803 for images)")
    type_code, ndim = raw[2], raw[3]
    dtype = _IDX_DTYPES.get(type_code)
    if dtype is None:
        raise DataError(f"{name}: unknown IDX type code 0x{type_code:02x} in magic 0x{raw[:4].hex()}")
    if ndim == 0:
        raise DataError(f"{name}: IDX magic 0x{raw[:4].hex()} says 0 dimensions")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{name}: truncated IDX header ({len(raw)} bytes, the {ndim} dimensions need {header})")
    dims = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    return dtype, dims, header


def _data_bytes(dtype: np.dtype, dims: tuple[int, ...]) -> int:
    """How many data bytes the dimensions declare (Python ints: no overflow however large)."""
    return math.prod(dims) * dtype.itemsize


def _shape(dims: tuple[int, ...]) -> str:
    return "x".join(map(str, dims))


def _to_array(data: bytearray, dtype: np.dtype, dims: tuple[int, ...]) -> np.ndarray:
    """The array over ``data`` (no copy): native byte order, writable."""
    arr = np.frombuffer(data, dtype=dtype).reshape(dims)
    if not dtype.isnative:  # IDX stores big-endian: swap in place rather than copy
        arr = arr.byteswap(inplace=True).view(dtype.newbyteorder("="))
    return arr


def write_idx(path: str | os.PathLike, arr: np.ndarray, *, compress: bool | None = None) -> Path:
    """Write ``arr`` as an IDX file (gzip when ``compress`` or the name ends in .gz), atomically.

    Used by the sample script and the tests; the inverse of ``read_idx``.
    """
    p = Path(path)
    arr = np.asarray(arr)
    codes = {dt.newbyteorder("="): code for code, dt in _IDX_DTYPES.items()}
    code = codes.get(arr.dtype.newbyteorder("="))
    if code is None:
        raise DataError(f"{p}: IDX cannot store dtype {arr.dtype}")
    header = bytes([0, 0, code, arr.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    data = header + np.ascontiguousarray(arr, dtype=_IDX_DTYPES[code]).tobytes()
    if compress is None:
        compress = p.suffix == ".gz"
    if compress:
        data = gzip.compress(data, compresslevel=9, mtime=0)
    p.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(p, data)
    return p


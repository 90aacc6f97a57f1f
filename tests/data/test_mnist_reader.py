"""The IDX reader (data/idx.py) and MNIST's two readers on generated files: good ones round-trip,
corrupt ones give one-line DataErrors."""

from __future__ import annotations

import gzip
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from shapetrace.core.errors import DataError
from shapetrace.data.idx import parse_idx, read_idx, write_idx
from shapetrace.data.mnist import read_images, read_labels


def _idx(code: int, dims: tuple[int, ...], payload: bytes) -> bytes:
    return bytes([0, 0, code, len(dims)]) + b"".join(d.to_bytes(4, "big") for d in dims) + payload


@pytest.mark.parametrize("gz", [True, False])
def test_images_round_trip(tmp_path, gz):
    arr = np.arange(3 * 28 * 28, dtype=np.uint32).astype(np.uint8).reshape(3, 28, 28)
    path = write_idx(tmp_path / ("x.idx.gz" if gz else "x.idx"), arr)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == gz
    out = read_images(path)
    assert out.dtype == np.uint8 and out.shape == (3, 28, 28)
    np.testing.assert_array_equal(out, arr)
    assert out.flags.writeable


def test_header_bytes_are_the_idx_format(tmp_path):
    path = write_idx(tmp_path / "l.idx", np.array([7, 2, 1], dtype=np.uint8))
    assert path.read_bytes() == bytes.fromhex("00000801 00000003 070201".replace(" ", ""))


def test_gzip_detected_by_content_not_name(tmp_path):
    raw = _idx(0x08, (2,), b"\x01\x02")
    (tmp_path / "plain.gz").write_bytes(raw)  # named .gz but raw
    (tmp_path / "packed").write_bytes(gzip.compress(raw))  # compressed, no .gz
    assert read_labels(tmp_path / "plain.gz").tolist() == [1, 2]
    assert read_labels(tmp_path / "packed").tolist() == [1, 2]


def test_labels_are_int64(tmp_path):
    out = read_labels(write_idx(tmp_path / "l.gz", np.array([0, 9, 5], dtype=np.uint8)))
    assert out.dtype == np.int64 and out.tolist() == [0, 9, 5]


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.float32, np.float64])
def test_other_idx_types_round_trip(tmp_path, dtype):
    arr = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    out = read_idx(write_idx(tmp_path / "a.idx", arr))
    assert out.dtype == np.dtype(dtype) and out.shape == (2, 3, 4)
    np.testing.assert_array_equal(out, arr)


CORRUPT = {
    "empty": (b"", "too short for an IDX header"),
    "bad magic": (b"\x12\x34\x08\x01" + (1).to_bytes(4, "big") + b"\x00", "bad IDX magic number 0x12340801"),
    "unknown type": (b"\x00\x00\x07\x01" + (1).to_bytes(4, "big") + b"\x00", "unknown IDX type code 0x07"),
    "zero dims": (b"\x00\x00\x08\x00", "0 dimensions"),
    "short header": (b"\x00\x00\x08\x03" + (5).to_bytes(4, "big"), "truncated IDX header"),
    "truncated data": (_idx(0x08, (2, 28, 28), bytes(1000)), "need 1568 data bytes, found 1000"),
    "trailing bytes": (_idx(0x08, (3,), bytes(5)), "2 unexpected bytes after the data"),
}


@pytest.mark.parametrize("case", sorted(CORRUPT))
@pytest.mark.parametrize("gz", [True, False])
def test_corrupt_files_name_the_file_and_the_problem(tmp_path, case, gz):
    raw, expected = CORRUPT[case]
    path = tmp_path / f"bad-{case.replace(' ', '-')}"
    path.write_bytes(gzip.compress(raw) if gz else raw)
    with pytest.raises(DataError) as info:
        read_idx(path)
    msg = str(info.value)
    assert str(path) in msg and expected in msg and "\n" not in msg


def test_truncated_gzip(tmp_path):
    packed = gzip.compress(_idx(0x08, (100, 28, 28), bytes(range(256)) * 306 + bytes(64)))
    path = tmp_path / "cut.gz"
    path.write_bytes(packed[: len(packed) // 2])
    with pytest.raises(DataError, match=r"cut.gz: corrupt or truncated gzip data"):
        read_idx(path)


def test_garbled_gzip(tmp_path):
    packed = bytearray(gzip.compress(_idx(0x08, (4, 28, 28), bytes(4 * 784))))
    packed[12:20] = b"\xff" * 8
    path = tmp_path / "garbled.gz"
    path.write_bytes(bytes(packed))
    with pytest.raises(DataError, match=r"garbled.gz: corrupt or truncated gzip data"):
        read_idx(path)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(DataError, match=r"nope.gz: no such file"):
        read_idx(tmp_path / "nope.gz")
    with pytest.raises(DataError, match=r"is a directory"):
        read_idx(tmp_path)


def test_images_reader_rejects_label_file_and_wrong_size(tmp_path):
    labels = write_idx(tmp_path / "labels.gz", np.zeros(4, dtype=np.uint8))
    with pytest.raises(DataError, match=r"labels.gz: expected an image file \(magic 0x00000803"):
        read_images(labels)
    small = write_idx(tmp_path / "small.gz", np.zeros((2, 27, 28), dtype=np.uint8))
    with pytest.raises(DataError, match=r"small.gz: images are 27x28, MNIST images are 28x28"):
        read_images(small)
    floats = write_idx(tmp_path / "floats.gz", np.zeros((2, 28, 28), dtype=np.float32))
    with pytest.raises(DataError, match=r"expected an image file.*float32"):
        read_images(floats)


def test_labels_reader_checks_range_and_kind(tmp_path):
    bad = write_idx(tmp_path / "bad.gz", np.array([1, 2, 10, 3], dtype=np.uint8))
    with pytest.raises(DataError, match=r"bad.gz: label 10 at index 2 is outside 0..9"):
        read_labels(bad)
    images = write_idx(tmp_path / "img.gz", np.zeros((2, 28, 28), dtype=np.uint8))
    with pytest.raises(DataError, match=r"expected a label file \(magic 0x00000801"):
        read_labels(images)


@settings(max_examples=40, deadline=None)
@given(hnp.arrays(np.uint8, hnp.array_shapes(min_dims=1, max_dims=4, max_side=6)))
def test_property_round_trip(arr):
    raw = _idx(0x08, arr.shape, arr.tobytes())
    np.testing.assert_array_equal(parse_idx(raw), arr)


@settings(max_examples=60, deadline=None)
@given(hnp.arrays(np.uint8, hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5)),
       st.data())
def test_property_any_truncation_is_a_data_error(arr, data):
    raw = _idx(0x08, arr.shape, arr.tobytes())
    cut = data.draw(st.integers(0, len(raw) - 1))
    with pytest.raises(DataError):
        parse_idx(raw[:cut])


def test_reader_does_not_import_torch():
    code = ("import sys; sys.modules['torch'] = None\n"
            "from shapetrace.data.mnist import load_sample\n"
            "s = load_sample(); print(len(s.train_labels) + len(s.test_labels))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "1000"


def _bomb(path, declared: tuple[int, ...], inflated: int) -> None:
    """A gzipped IDX whose header declares ``declared`` uint8 dimensions and whose stream then
    inflates to ``inflated`` data bytes of zeros (written in chunks: the file stays small)."""
    import zlib

    comp = zlib.compressobj(9, zlib.DEFLATED, 31)  # wbits 31: a gzip wrapper
    parts = [comp.compress(_idx(0x08, declared, b""))]
    chunk = bytes(2 ** 20)
    for _ in range(inflated // len(chunk)):
        parts.append(comp.compress(chunk))
    parts.append(comp.flush())
    path.write_bytes(b"".join(parts))


def test_a_gzip_bomb_is_refused_at_the_declared_size(tmp_path):
    """Issue 14 item 9: a 10x28x28 header followed by 200 MiB of inflated zeros (a 200 KB file):
    refused after the declared 7,840 bytes plus a 64 KiB look-ahead, never inflating the rest
    (the peak memory of the read stays far below the 200 MiB it would take)."""
    import tracemalloc

    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    _bomb(path, (10, 28, 28), 200 * 2 ** 20)
    assert path.stat().st_size < 2 ** 20
    tracemalloc.start()
    try:
        with pytest.raises(DataError) as info:
            read_images(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(info.value) == (f"{path}: more than 65536 unexpected bytes after the data of dimensions "
                               f"10x28x28 (the header declares 7,840); not read further")
    assert peak < 8 * 2 ** 20


def test_a_header_declaring_too_much_is_refused_before_reading(tmp_path):
    """A header declaring 2**32 - 1 images (3.4 TB) is refused from the header alone."""
    path = tmp_path / "huge.gz"
    path.write_bytes(gzip.compress(_idx(0x08, (2 ** 32 - 1, 28, 28), bytes(100))))
    with pytest.raises(DataError, match=r"declares dimensions 4294967295x28x28, 3,367,254,359,280 data bytes, "
                                        r"more than the 268,435,456"):
        read_idx(path)


@pytest.mark.parametrize("gz", [True, False])
def test_reading_holds_the_data_once(tmp_path, gz):
    """Issue 13: the data is read straight into the array's buffer; joining it to the header and
    copying it to an array again held MNIST's 47 MB of training images three times over."""
    import tracemalloc

    arr = (np.arange(20_000 * 784) % 251).astype(np.uint8).reshape(-1, 28, 28)  # 15.7 MB
    path = write_idx(tmp_path / ("big.gz" if gz else "big.idx"), arr)
    tracemalloc.start()
    try:
        out = read_images(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    np.testing.assert_array_equal(out, arr)
    assert out.flags.writeable
    assert peak < 1.3 * arr.nbytes, f"peak {peak:,} bytes for {arr.nbytes:,} bytes of data"

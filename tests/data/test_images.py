"""Digit images prepared as MNIST's were: grayscale, inverted when light, 20x20 box, centre of mass at (14, 14)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from shapetrace.core.errors import DataError
from shapetrace.data.images import load_digit, prepare_digit


def _stroke(h=120, w=90, light_bg=True) -> np.ndarray:
    """A thick vertical bar with a foot, off-centre, on a large canvas."""
    img = np.zeros((h, w), np.uint8)
    img[20:80, 60:70] = 255
    img[70:80, 45:70] = 255
    return 255 - img if light_bg else img


def _com(a: np.ndarray) -> tuple[float, float]:
    w = a.astype(float)
    return (w.sum(1) * np.arange(a.shape[0])).sum() / w.sum(), (w.sum(0) * np.arange(a.shape[1])).sum() / w.sum()


@pytest.mark.parametrize("light_bg", [True, False])
def test_box_centre_and_polarity(light_bg):
    out = prepare_digit(_stroke(light_bg=light_bg).astype(np.float32))
    assert out.shape == (28, 28) and out.dtype == np.uint8
    assert out[0, 0] == 0 and out.max() > 200  # bright digit on black either way
    ys, xs = np.nonzero(out > 25)
    assert ys.max() - ys.min() + 1 == 20  # the longer side fills the 20-pixel box
    cy, cx = _com(out)
    assert abs(cy - 14) <= 0.5 and abs(cx - 14) <= 0.5


def test_same_result_for_png_jpeg_rgb_rgba_and_16_bit(tmp_path):
    base = _stroke()
    ref = prepare_digit(base.astype(np.float32))
    Image.fromarray(base).convert("RGB").save(tmp_path / "a.png")
    Image.fromarray(base).save(tmp_path / "b.jpg", quality=95)
    Image.fromarray((base.astype(np.uint16) * 257)).save(tmp_path / "c.png")  # 16-bit grayscale
    rgba = np.zeros(base.shape + (4,), np.uint8)
    rgba[..., 3] = 255 - base  # black ink on a transparent background
    Image.fromarray(rgba, "RGBA").save(tmp_path / "d.png")
    for name in ("a.png", "b.jpg", "c.png", "d.png"):
        got = load_digit(tmp_path / name).astype(int)
        assert np.abs(got - ref).max() <= 40 and np.abs(got - ref).mean() < 3, name


def test_light_ink_on_transparent_background(tmp_path):
    rgba = np.zeros((60, 60, 4), np.uint8)
    rgba[10:50, 28:34] = (255, 255, 255, 255)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "w.png")
    out = load_digit(tmp_path / "w.png")
    assert out.max() > 200 and out[0, 0] == 0


def test_blank_and_unreadable(tmp_path):
    with pytest.raises(DataError, match="no digit found"):
        prepare_digit(np.full((30, 30), 200, np.float32))
    with pytest.raises(DataError, match="expected a 2-D grayscale image"):
        prepare_digit(np.zeros((3, 3, 3), np.float32))
    with pytest.raises(DataError, match="is a directory"):
        load_digit(tmp_path)
    (tmp_path / "cut.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)
    with pytest.raises(DataError, match="cut.png"):
        load_digit(tmp_path / "cut.png")


def _png_header_only(path, width: int, height: int, bit_depth: int = 16, color_type: int = 6) -> None:
    """A PNG whose IHDR declares ``width`` x ``height`` (16-bit RGBA by default) with a token IDAT:
    a few hundred bytes that would make a decoder allocate width * height * 8 bytes."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(bytes(4096)))
                     + chunk(b"IEND", b""))


def test_a_huge_image_is_refused_from_its_header(tmp_path, recwarn):
    """Issue 14 item 9: 13000x13000 16-bit RGBA (under Pillow's error limit, 5.7 GB to decode) is
    refused from the size in its header, before decoding, without Pillow's warning."""
    path = tmp_path / "bomb.png"
    _png_header_only(path, 13000, 13000)
    with pytest.raises(DataError) as info:
        load_digit(path)
    assert str(info.value) == (f"{path}: the image is 13000x13000 pixels (169,000,000); a digit image may have "
                               f"at most 16,777,216 (4096x4096): shrink it first")
    assert not [w for w in recwarn if "DecompressionBomb" in type(w.message).__name__]


def test_an_image_over_pillows_own_limit_gets_our_error(tmp_path):
    """Issue 13: a header of 20000x20000 (400 million pixels, over twice Pillow's MAX_IMAGE_PIXELS)
    makes Image.open itself raise DecompressionBombError; the error is ours, one line naming the
    file and the limit, not Pillow's text about a "DOS attack"."""
    from PIL import Image

    path = tmp_path / "bomb.png"
    _png_header_only(path, 20000, 20000, bit_depth=8, color_type=0)
    assert path.stat().st_size < 1000 and 20000 * 20000 > 2 * Image.MAX_IMAGE_PIXELS
    with pytest.raises(DataError) as info:
        load_digit(path)
    assert str(info.value) == (f"{path}: the image is too large (400,000,000 pixels); a digit image may have "
                               f"at most 16,777,216 (4096x4096): shrink it first")


def test_the_size_limit_is_on_pixels_not_sides(tmp_path):
    """A long thin strip of more than 4096 columns is read (its header passes; its token data
    fails later as unreadable, not as too large); 4097x4096 is refused."""
    strip = tmp_path / "strip.png"
    _png_header_only(strip, 8000, 20, bit_depth=8, color_type=0)
    with pytest.raises(DataError, match="cannot read the image"):
        load_digit(strip)
    big = tmp_path / "big.png"
    _png_header_only(big, 4097, 4096, bit_depth=8, color_type=0)
    with pytest.raises(DataError, match="4097x4096 pixels"):
        load_digit(big)

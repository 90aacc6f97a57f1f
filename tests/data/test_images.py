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

"""A photo or drawing of one digit -> a 28x28 uint8 image prepared the way MNIST's were
(numpy and Pillow; no torch).

MNIST's recipe (http://yann.lecun.com/exdb/mnist/): the NIST digits were "size normalized
to fit in a 20x20 pixel box while preserving their aspect ratio" with anti-aliasing, then
"centered in a 28x28 image by computing the center of mass of the pixels, and translating
the image so as to position this point at the center of the 28x28 field". Measured on the
test set, that centre is pixel (14.0, 14.0) (mean centre of mass, rows and columns from 0).

Steps here: grayscale; invert when the background (the border's median) is light, so the
digit is bright on black like MNIST; subtract the background level and stretch to 0..255;
crop to the ink; resize so the longer side is 20 pixels (Lanczos); put the centre of mass
at (14, 14).
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path

import numpy as np

from ..core.errors import DataError

BOX = 20  # the longer side of the digit after resizing
SIZE = 28
CENTER = 14.0  # where MNIST digits have their centre of mass (rows and columns)
INK_THRESHOLD = 0.1  # a pixel is ink when brighter than this fraction of the brightest one
MIN_CONTRAST = 16.0  # of 255: below this the image is treated as blank
# The most pixels a digit image may have, checked in the header before anything is decoded: a
# digit is shrunk to 20x20 anyway, and a phone photo has about 12 million. Pillow's own limit
# (89 million, warning up to 179 million) let a 1.3 MB PNG of 13000x13000 16-bit RGBA take
# 5.7 GB and 24 s to decode.
MAX_SIDE = 4096
MAX_PIXELS = MAX_SIDE * MAX_SIDE


def load_digit(path: str | os.PathLike) -> np.ndarray:
    """Read a PNG/JPEG (any size, any mode) and prepare it: uint8 (28, 28), digit bright on black."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    p = Path(path)
    try:
        with warnings.catch_warnings():  # the size is checked below, with a clearer word
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(p)
        with img:
            _check_size(img, p)  # the header's size: nothing is decoded yet
            img.load()
            img = ImageOps.exif_transpose(img)
            gray = _to_gray(img)
    except FileNotFoundError:
        raise DataError(f"{p}: no such file") from None
    except IsADirectoryError:
        raise DataError(f"{p}: is a directory, expected an image") from None
    except UnidentifiedImageError:
        raise DataError(f"{p}: not an image Pillow can read (give a PNG or JPEG)") from None
    except Image.DecompressionBombError as e:
        # Image.open itself refuses a header over twice Image.MAX_IMAGE_PIXELS (179 million), before
        # _check_size sees the size; Pillow's message says how many pixels
        found = re.search(r"\((\d+) pixels\)", str(e))
        pixels = f" ({int(found[1]):,} pixels)" if found else ""
        raise DataError(f"{p}: the image is too large{pixels}; {_LIMIT}") from None
    except (OSError, ValueError) as e:
        raise DataError(f"{p}: cannot read the image ({' '.join(str(e).split())})") from None
    return prepare_digit(gray, name=str(p))


_LIMIT = f"a digit image may have at most {MAX_PIXELS:,} ({MAX_SIDE}x{MAX_SIDE}): shrink it first"


def _check_size(img, p: Path) -> None:
    w, h = img.size
    if w * h > MAX_PIXELS:
        raise DataError(f"{p}: the image is {w}x{h} pixels ({w * h:,}); {_LIMIT}")


def _to_gray(img) -> np.ndarray:
    """Float grayscale 0..255. Transparent pixels take the colour that contrasts with the ink,
    so a dark digit on a transparent background reads as dark on white, and a light one as
    light on black."""
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        alpha = np.asarray(rgba.getchannel("A"), dtype=np.float32) / 255.0
        gray = np.asarray(rgba.convert("L"), dtype=np.float32)
        opaque = alpha > 0.5
        ink_is_dark = opaque.any() and float(gray[opaque].mean()) < 128
        background = 255.0 if ink_is_dark else 0.0
        return gray * alpha + background * (1.0 - alpha)
    if img.mode in ("I", "I;16", "F"):
        arr = np.asarray(img, dtype=np.float32)
        lo, hi = float(arr.min()), float(arr.max())
        return (arr - lo) * (255.0 / (hi - lo)) if hi > lo else np.zeros_like(arr)
    return np.asarray(img.convert("L"), dtype=np.float32)


def prepare_digit(gray: np.ndarray, name: str = "image") -> np.ndarray:
    """Grayscale (H, W), any range 0..255, digit dark or light -> MNIST-style uint8 (28, 28)."""
    from PIL import Image

    g = np.asarray(gray, dtype=np.float32)
    if g.ndim != 2 or g.size == 0:
        raise DataError(f"{name}: expected a 2-D grayscale image, got shape {g.shape}")
    border = np.concatenate([g[0], g[-1], g[:, 0], g[:, -1]])
    background = float(np.median(border))
    if background > 127.5:  # light background: invert so that the ink is bright
        g = 255.0 - g
        background = 255.0 - background
    ink = np.clip(g - background, 0.0, None)
    peak = float(ink.max())
    if peak < MIN_CONTRAST:
        raise DataError(f"{name}: no digit found (the image is blank or has almost no contrast)")
    ink *= 255.0 / peak
    mask = ink > INK_THRESHOLD * 255.0
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    crop = ink[rows[0]: rows[-1] + 1, cols[0]: cols[-1] + 1]
    crop = np.where(crop > INK_THRESHOLD * 255.0, crop, 0.0)  # faint noise outside the strokes
    h, w = crop.shape
    scale = BOX / max(h, w)
    nh, nw = max(1, int(round(h * scale))), max(1, int(round(w * scale)))
    resized = np.asarray(Image.fromarray(crop.astype(np.float32)).resize(
        (nw, nh), Image.Resampling.LANCZOS), dtype=np.float32)
    resized = np.clip(resized, 0.0, 255.0)
    total = float(resized.sum())
    cy = float((resized.sum(axis=1) * np.arange(nh)).sum()) / total
    cx = float((resized.sum(axis=0) * np.arange(nw)).sum()) / total
    top, left = int(round(CENTER - cy)), int(round(CENTER - cx))
    canvas = np.zeros((SIZE, SIZE), dtype=np.float32)
    # paste with clipping: a lopsided digit's box may stick out of the 28x28 field
    r0, c0 = max(0, top), max(0, left)
    r1, c1 = min(SIZE, top + nh), min(SIZE, left + nw)
    canvas[r0:r1, c0:c1] = resized[r0 - top: r1 - top, c0 - left: c1 - left]
    return np.round(canvas).astype(np.uint8)

"""explain(): the worked formula with the numbers put in, in English and Korean."""

from __future__ import annotations

import pytest

import shapetrace
from shapetrace.core.errors import ShapetraceError


def test_the_seed_conv_worked_formula():
    text = shapetrace.explain("Conv2d", (1, 1, 28, 28), out_channels=32, kernel_size=3, padding=1)
    assert "H_out = floor((28 + 2*1 - 1*(3-1) - 1) / 1) + 1 = 28" in text
    assert "W_out = floor((28 + 2*1 - 1*(3-1) - 1) / 1) + 1 = 28" in text
    assert "H_out = floor((H_in + 2*padding - dilation*(kernel_size-1) - 1) / stride) + 1" in text
    assert "Conv2d(in_channels=1, out_channels=32, kernel_size=3, padding=1)" in text
    assert "params: 320" in text  # 32*1*3*3 + 32
    assert "MACs: 225,792" in text  # 32*28*28*9


def test_korean_text():
    text = shapetrace.explain("Conv2d", (1, 1, 28, 28), lang="ko", out_channels=32, kernel_size=3, stride=2)
    assert "입력" in text and "출력" in text and "파라미터" in text
    assert "H_out = floor((28 + 2*0 - 1*(3-1) - 1) / 2) + 1 = 13" in text
    # the floor drops one input row: said in Korean
    assert "floor로 버려짐" in text


def test_stride_that_does_not_divide_is_said_not_silently_floored():
    text = shapetrace.explain("Conv2d", (1, 1, 28, 28), out_channels=1, kernel_size=3, stride=2)
    assert "does not divide evenly" in text and "last 1 input position" in text


def test_same_padding_is_explained():
    text = shapetrace.explain("Conv2d", (1, 1, 28, 28), out_channels=1, kernel_size=4, padding="same")
    assert "pads [1, 1] before and [2, 2] after" in text
    assert "H_out = floor((28 + (1+2) - 1*(4-1) - 1) / 1) + 1 = 28" in text


def test_transposed_conv_formula():
    text = shapetrace.explain("ConvTranspose2d", (1, 8, 7, 7), out_channels=4, kernel_size=3, stride=2,
                              padding=1, output_padding=1)
    assert "H_out = (7 - 1)*2 - 2*1 + 1*(3-1) + 1 + 1 = 14" in text


def test_unknown_language_is_an_error():
    with pytest.raises(ShapetraceError, match="lang must be 'en' or 'ko'"):
        shapetrace.explain("Conv2d", (1, 1, 8, 8), lang="fr", out_channels=1, kernel_size=3)


def test_explain_raises_what_output_shape_raises():
    with pytest.raises(shapetrace.ShapeError, match="kernel_size 9"):
        shapetrace.explain("Conv2d", (1, 1, 8, 8), out_channels=1, kernel_size=9)

"""An argument read off the input (in_channels, num_features ...) on an input without that
dimension: the error names the rank, not "in_channels must be an integer, got None"
(issue 12, item 10)."""

from __future__ import annotations

import pytest
import torch

import shapetrace
from shapetrace import ShapeError

from ..cli_run import run

CONVS = [f"Conv{n}d" for n in (1, 2, 3)] + [f"ConvTranspose{n}d" for n in (1, 2, 3)]


@pytest.mark.parametrize("layer", CONVS)
def test_a_conv_on_too_few_dimensions_names_the_rank(layer: str) -> None:
    n = int(layer[-2])
    for rank in range(1, n + 1):  # every rank below (C, *spatial)
        shape = (5,) * rank
        with pytest.raises(ShapeError) as e:
            shapetrace.output_shape(layer, shape, out_channels=4, kernel_size=1)
        msg = str(e.value)
        assert f"expected a {n + 1}D (unbatched) or {n + 2}D (batched) input" in msg, msg
        assert f"got {rank}D input" in msg and "None" not in msg
        assert e.value.argument == "input"
        # torch refuses the same input, with any in_channels
        conv = getattr(torch.nn, layer)(5, 4, 1)
        with pytest.raises(RuntimeError):
            conv(torch.zeros(shape))


def test_the_cli_says_what_is_wrong(capsys) -> None:
    code, _, err = run(["layer", "Conv2d", "--input", "28,28", "out_channels=8", "kernel_size=3"], capsys)
    assert code == 1, err
    assert err.strip() == ("error: Conv2d: expected a 3D (unbatched) or 4D (batched) input, "
                           "got 2D input of shape (28, 28)")


def test_an_explicit_in_channels_is_still_checked_first() -> None:
    with pytest.raises(ShapeError, match="must be an integer, got 'x'"):
        shapetrace.output_shape("Conv2d", (1, 3, 8, 8), in_channels="x", out_channels=4, kernel_size=1)

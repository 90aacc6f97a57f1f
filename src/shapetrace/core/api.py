"""The core's public functions: ``compute``, ``output_shape`` and ``explain``."""

from __future__ import annotations

from typing import Any

from .layers import call
from .records import LayerResult, Shape


def compute(layer: str, input_shape: Any, **kwargs: Any) -> LayerResult:
    """The full answer for ``torch.nn.<layer>(**kwargs)`` applied to ``input_shape``:
    output shape, params, MACs, the worked formulas and notes.

    Raises ``ShapeError`` wherever torch would raise, at construction or forward.
    """
    return call(layer, input_shape, kwargs)


def output_shape(layer: str, input_shape: Any, **kwargs: Any) -> Shape:
    """The shape ``torch.nn.<layer>(**kwargs)(torch.zeros(input_shape))`` would have.

    >>> output_shape("Conv2d", (1, 1, 28, 28), in_channels=1, out_channels=32, kernel_size=3, padding=1)
    (1, 32, 28, 28)
    """
    return call(layer, input_shape, kwargs).output_shape


def explain(layer: str, input_shape: Any, *, lang: str = "en", **kwargs: Any) -> str:
    """The worked formula per dimension with the numbers put in, plus params and MACs.

    ``lang`` is "en" or "ko".
    """
    from .explain import render_layer

    return render_layer(call(layer, input_shape, kwargs), lang=lang)

"""One rule per torch.nn layer kind. Importing this package registers them all.

Each family module (conv, pool, adaptive, linear, reshape, upsample, padding,
embedding, norm, dropout, activation) registers its classes with
``@register(name, signature)``; a rule checks the arguments as torch's constructor
and forward do, raises ``ShapeError`` (with the argument and the numbers) wherever
torch raises, and returns a ``LayerResult``. The oracle tests in tests/core compare
every rule with real torch.

Conventions shared by all rules:

params
    What ``sum(p.numel() for p in layer.parameters())`` gives in torch (frozen
    parameters included; buffers such as BatchNorm's running statistics excluded).

MACs (multiply-accumulates, one forward pass)
    - Conv/ConvTranspose/Linear/Bilinear: one per weight tap per output (transposed
      conv: per input); the bias is not counted.
    - AvgPool/LPPool: one per window element per output; AdaptiveAvgPool and
      Upsample(mode='area'): one per input element each bin reads.
    - MaxPool/AdaptiveMaxPool: 0 (comparisons, not multiplications).
    - BatchNorm/InstanceNorm/GroupNorm/LayerNorm/RMSNorm: one per element when the
      layer has a weight (affine), else 0; LocalResponseNorm: ``size`` per element.
    - Upsample: nearest modes 0; linear/bilinear/trilinear 2**d per output element,
      bicubic 4**d (the interpolation taps over d spatial dimensions).
    - Activations (PReLU included), dropout, padding, Embedding (a lookup) and the
      reshaping layers: 0.

Receptive field (``LayerResult.rf`` / ``rf_mode``)
    - Sliding windows (Conv, MaxPool/AvgPool/LPPool) give ``RFOp(kernel, stride, low-side
      padding, dilation)``; padding layers a 1-tap window shifted by the left padding;
      PixelUnshuffle a window of ``r`` with stride ``r``.
    - Element-wise layers, norms, dropout, ChannelShuffle, Identity: ``RFMode.IDENTITY``.
    - Linear, Bilinear, Flatten, global (output 1) adaptive pooling: ``RFMode.GLOBAL``.
    - Adaptive pooling whose every input size divides evenly by the output is a window
      with kernel = stride = in/out; with uneven bins it is ``RFMode.UNKNOWN``, as are
      ConvTranspose, Upsample, PixelShuffle, Fold, Unfold, Unflatten and Embedding.

Inferred arguments (may be left out; checked when given) are listed in each module's
docstring: Conv/ConvTranspose ``in_channels``, Linear ``in_features``, Bilinear
``in1_features``/``in2_features``, BatchNorm/InstanceNorm ``num_features``, GroupNorm
``num_channels``. Only values the input fixes are inferred.

The tensors each constructor makes (weight, bias, running statistics), by name and shape,
are in ``weights.py``, with the arguments that make given ones: the tracer compares them
with a module's own, whose weights may have been replaced after it was built.

Notes (``LayerResult.notes``) are message keys with numbers, declared on each rule
(``register(notes=...)``); ``core/words.py``
holds their English and Korean text.
"""

from . import (  # noqa: F401  (each module registers its layers)
    activation,
    adaptive,
    conv,
    dropout,
    embedding,
    linear,
    norm,
    padding,
    pool,
    reshape,
    upsample,
    weights,
)
from .base import REGISTRY, LayerDef, call, lookup

__all__ = ["REGISTRY", "LayerDef", "call", "lookup", "known_layers"]


def known_layers() -> list[str]:
    return sorted(REGISTRY)

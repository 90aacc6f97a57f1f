"""The weight initialisations of the depth nets (``models/depth.py``): the one ``Init`` choice,
torch-free so that the depth experiment's config and the CLI can name it without importing torch."""

from __future__ import annotations

import enum


class Init(str, enum.Enum):
    """How the conv and linear weights start (``models/depth.py`` explains both)."""

    DEFAULT = "default"  # PyTorch's own (kaiming_uniform_ with a=sqrt(5)), as the seed's layers
    KAIMING = "kaiming"  # He et al. 2015: N(0, 2/fan_out) for convs, zero biases

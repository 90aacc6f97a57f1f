"""One rule per torch.nn layer kind. Importing this package registers them all."""

from . import conv  # noqa: F401  (registers Conv*, ConvTranspose*)
from .base import REGISTRY, LayerDef, call, lookup

__all__ = ["REGISTRY", "LayerDef", "call", "lookup", "known_layers"]


def known_layers() -> list[str]:
    return sorted(REGISTRY)

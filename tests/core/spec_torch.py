"""Run a spec in real torch, layer by layer: the oracle for ``core.spec.flow``.

Independent of the core: missing ``in_channels``/``in_features``/``num_features``
are read off the real tensor here, the way a user would fill them in.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from shapetrace.core.spec import ConcatNode, LayerNode, ResidualNode, SequentialNode, child_name

_CHANNEL_ARG = {"Conv1d": "in_channels", "Conv2d": "in_channels", "Conv3d": "in_channels",
                "ConvTranspose1d": "in_channels", "ConvTranspose2d": "in_channels",
                "ConvTranspose3d": "in_channels", "BatchNorm1d": "num_features",
                "BatchNorm2d": "num_features", "BatchNorm3d": "num_features"}


class TorchFailed(Exception):
    def __init__(self, where: str, error: Exception):
        super().__init__(f"{where}: {error}")
        self.where = where
        self.error = error


def build_layer(node: LayerNode, x: torch.Tensor) -> nn.Module:
    kwargs = dict(node.kwargs)
    arg = _CHANNEL_ARG.get(node.type)
    if arg and arg not in kwargs and x.dim() >= 2:
        kwargs[arg] = x.shape[1]
    if node.type == "Linear" and "in_features" not in kwargs:
        kwargs["in_features"] = x.shape[-1]
    return getattr(nn, node.type)(**kwargs)


def run(spec, x: torch.Tensor) -> tuple[dict[str, tuple[int, ...]], TorchFailed | None]:
    """Shapes per qualified row name, and where torch failed (or None)."""
    shapes: dict[str, tuple[int, ...]] = {}
    try:
        with torch.no_grad():
            _seq(spec.layers, "", "", x, shapes)
    except TorchFailed as f:
        return shapes, f
    return shapes, None


def _seq(nodes, prefix, section, x, shapes):
    for i, n in enumerate(nodes):
        x = _node(n, child_name(prefix, section, n.name, i), x, shapes)
    return x


def _node(n, q, x, shapes):
    if isinstance(n, LayerNode):
        try:
            layer = build_layer(n, x)
            layer.eval()
            y = layer(x)
        except Exception as e:  # torch's own error, whatever its type
            raise TorchFailed(q, e) from None
    elif isinstance(n, SequentialNode):
        y = _seq(n.layers, q, "", x, shapes)
    elif isinstance(n, ResidualNode):
        body = _seq(n.body, q, "body", x, shapes)
        sc = x if n.shortcut is None else _seq(n.shortcut, q, "shortcut", x, shapes)
        try:
            y = body + sc
        except Exception as e:
            raise TorchFailed(q + ".add", e) from None
        shapes[q + ".add"] = tuple(y.shape)
        y = _seq(n.post, q, "post", y, shapes)
    else:
        assert isinstance(n, ConcatNode)
        outs = [_seq(b, q, f"branches.{i}", x, shapes) for i, b in enumerate(n.branches)]
        try:
            y = torch.cat(outs, dim=n.dim)
        except Exception as e:
            raise TorchFailed(q + ".cat", e) from None
        shapes[q + ".cat"] = tuple(y.shape)
    shapes[q] = tuple(y.shape)
    return y

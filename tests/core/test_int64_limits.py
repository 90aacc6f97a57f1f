"""Sizes beyond what a tensor can address: torch sizes storage in int64 bytes and refuses
weights or outputs beyond it ("Storage size calculation overflowed"), so the core does too.

These run torch on the meta device on purpose: on the CPU the same layers fail only by
running out of memory, while the meta device performs exactly the storage-size check."""

from __future__ import annotations

import pytest
import torch

import shapetrace
from shapetrace import ShapeError

CASES = [
    ("Conv2d", (1, 1, 28, 28), {"out_channels": 10**30, "kernel_size": 3}),
    ("Conv2d", (1, 1, 28, 28), {"out_channels": 2**62, "kernel_size": 3}),
    ("Conv2d", (1, 1, 28, 28), {"out_channels": 2**40, "kernel_size": 3}),
    ("Linear", (2, 10), {"out_features": 2**61}),
    ("Linear", (2, 10), {"out_features": 2**57}),
    ("ReLU", (2**62, 4), {}),
    ("ReLU", (2**59, 4), {}),
    ("ReLU", (2**58, 4), {}),
    ("Embedding", (3,), {"num_embeddings": 2**40, "embedding_dim": 2**22}),
    ("Embedding", (3,), {"num_embeddings": 2**40, "embedding_dim": 2**10}),
]


def _torch(name: str, shape: tuple, kw: dict):
    if name == "Conv2d":
        m = torch.nn.Conv2d(shape[1], device="meta", **kw)
    elif name == "Linear":
        m = torch.nn.Linear(shape[-1], device="meta", **kw)
    elif name == "Embedding":
        m = torch.nn.Embedding(device="meta", **kw)
    else:
        m = torch.nn.ReLU()
    x = torch.empty(shape, device="meta", dtype=torch.long if name == "Embedding" else torch.float)
    return tuple(m(x).shape)


@pytest.mark.parametrize("name,shape,kw", CASES, ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(CASES)])
def test_storage_limit_as_torch(name, shape, kw):
    try:
        expected = _torch(name, shape, kw)
    except (RuntimeError, TypeError):
        # an argument past int64 itself is refused first, as torch's TypeError does
        with pytest.raises(ShapeError, match=r"more than a tensor can address \(2\*\*63 - 1 bytes\)|beyond the int64 range"):
            shapetrace.output_shape(name, shape, **kw)
    else:
        assert shapetrace.output_shape(name, shape, **kw) == expected

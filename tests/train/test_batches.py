"""Batches cut on the device: normalisation, random shifts, the per-epoch random stream, sharding."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from shapetrace.data.mnist import PIXEL_MEAN, PIXEL_STD
from shapetrace.train.batches import epoch_generator, normalize, random_shift, shard_of_batch, to_device


def test_normalize_matches_the_formula():
    x = torch.tensor([[[0, 255], [51, 128]]], dtype=torch.uint8)
    got = normalize(x)
    assert got.shape == (1, 1, 2, 2) and got.dtype == torch.float32
    want = (x.float() / 255 - PIXEL_MEAN) / PIXEL_STD
    torch.testing.assert_close(got[:, 0], want)
    assert normalize(x.expand(3, 2, 2).contiguous(), channels_last=True).is_contiguous(
        memory_format=torch.channels_last)


def _translations(img: np.ndarray, s: int):
    """All (dy, dx) -> img translated by it, zero-filled."""
    out = {}
    padded = np.pad(img, s)
    h, w = img.shape
    for dy in range(2 * s + 1):
        for dx in range(2 * s + 1):
            out[(dy - s, dx - s)] = padded[dy: dy + h, dx: dx + w]
    return out


def test_random_shift_is_a_translation_per_image():
    g = torch.Generator().manual_seed(0)
    imgs = torch.randint(1, 256, (16, 28, 28), dtype=torch.uint8)  # no zeros: every shift is visible
    shifted = random_shift(imgs, 2, g)
    assert shifted.shape == imgs.shape and shifted.dtype == torch.uint8
    seen = set()
    for a, b in zip(imgs.numpy(), shifted.numpy()):
        matches = [k for k, v in _translations(a, 2).items() if np.array_equal(v, b)]
        assert len(matches) == 1
        seen.add(matches[0])
    assert len(seen) > 3  # offsets differ between images


def test_shift_zero_is_identity_and_seeded_shifts_repeat():
    imgs = torch.randint(0, 256, (8, 28, 28), dtype=torch.uint8)
    assert random_shift(imgs, 0, torch.Generator()) is imgs
    a = random_shift(imgs, 3, epoch_generator(5, 2, torch.device("cpu")))
    b = random_shift(imgs, 3, epoch_generator(5, 2, torch.device("cpu")))
    c = random_shift(imgs, 3, epoch_generator(5, 3, torch.device("cpu")))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_epoch_stream_depends_on_seed_and_epoch_only():
    cpu = torch.device("cpu")
    p1 = torch.randperm(100, generator=epoch_generator(0, 1, cpu))
    assert torch.equal(p1, torch.randperm(100, generator=epoch_generator(0, 1, cpu)))
    assert not torch.equal(p1, torch.randperm(100, generator=epoch_generator(0, 2, cpu)))
    assert not torch.equal(p1, torch.randperm(100, generator=epoch_generator(1, 1, cpu)))


@pytest.mark.parametrize("world", [1, 2, 4])
def test_shards_partition_each_global_batch(world):
    perm = torch.randperm(64)
    for step in range(4):
        parts = [shard_of_batch(perm, step, 16, r, world) for r in range(world)]
        assert all(len(p) == 16 // world for p in parts)
        assert sorted(torch.cat(parts).tolist()) == sorted(perm[step * 16:(step + 1) * 16].tolist())


def test_to_device_keeps_uint8_and_int64():
    s = to_device(np.zeros((3, 28, 28), np.uint8), np.arange(3, dtype=np.int64), torch.device("cpu"))
    assert s.images.dtype == torch.uint8 and s.labels.dtype == torch.int64 and len(s) == 3

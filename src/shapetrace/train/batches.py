"""The data on the device and batches cut from it by indexing: no DataLoader, no per-sample
Python. Images stay uint8 (47 MB for all of MNIST) and are normalised batch by batch.

The random shift pads with zeros (MNIST's background is 0) and reads a 28x28 window at a
random offset per image, with one gather over the whole batch (advanced indexing).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..data.mnist import PIXEL_MEAN, PIXEL_STD

_SCALE = 1.0 / (255.0 * PIXEL_STD)
_OFFSET = PIXEL_MEAN / PIXEL_STD


@dataclass(frozen=True)
class Split:
    images: torch.Tensor  # (N, 28, 28) uint8 on the device
    labels: torch.Tensor  # (N,) int64 on the device

    def __len__(self) -> int:
        return int(self.labels.shape[0])


def to_device(images: np.ndarray, labels: np.ndarray, device: torch.device) -> Split:
    return Split(torch.from_numpy(np.ascontiguousarray(images)).to(device),
                 torch.from_numpy(np.ascontiguousarray(labels)).to(device))


def normalize(images_u8: torch.Tensor, channels_last: bool = False) -> torch.Tensor:
    """(B, 28, 28) uint8 -> (B, 1, 28, 28) float32, (x / 255 - mean) / std in one multiply-add."""
    x = images_u8.unsqueeze(1).float().mul_(_SCALE).sub_(_OFFSET)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    return x


def draw_offsets(max_shift: int, batch_size: int, generator: torch.Generator) -> torch.Tensor:
    """The (dy, dx) offsets of a whole global batch, (2, batch_size) in [0, 2 * max_shift]: one draw
    per step, whatever the number of processes or shards, so that every split of the batch takes
    its images' offsets from the same draw."""
    return torch.randint(0, 2 * max_shift + 1, (2, batch_size), generator=generator,
                         device=generator.device)


def shift_by(images_u8: torch.Tensor, max_shift: int, offsets: torch.Tensor) -> torch.Tensor:
    """Translate image i by ``offsets[:, i] - max_shift`` pixels, zero-filled (MNIST's background)."""
    if max_shift <= 0:
        return images_u8
    b, h, w = images_u8.shape
    s = max_shift
    device = images_u8.device
    padded = torch.nn.functional.pad(images_u8, (s, s, s, s))  # (B, H + 2s, W + 2s)
    rows = offsets[0, :, None] + torch.arange(h, device=device)  # (B, H)
    cols = offsets[1, :, None] + torch.arange(w, device=device)  # (B, W)
    batch = torch.arange(b, device=device)[:, None, None]
    return padded[batch, rows[:, :, None], cols[:, None, :]]  # (B, H, W)


def random_shift(images_u8: torch.Tensor, max_shift: int, generator: torch.Generator, *, rank: int = 0,
                 world: int = 1) -> torch.Tensor:
    """Translate each image by its own (dy, dx) in [-max_shift, max_shift]^2, zero-filled.

    Under DDP each rank holds every ``world``-th image of the global batch: the offsets are
    drawn for the whole global batch (the same draw on every rank) and each rank takes its
    images' offsets, so N processes shift exactly as one process would."""
    if max_shift <= 0:
        return images_u8
    offsets = draw_offsets(max_shift, images_u8.shape[0] * world, generator)[:, rank::world]
    return shift_by(images_u8, max_shift, offsets)


def epoch_generator(seed: int, epoch: int, device: torch.device) -> torch.Generator:
    """The random stream of one epoch (order and shifts), a function of (seed, epoch) alone, so a
    resumed run draws exactly what the uninterrupted run drew."""
    g = torch.Generator(device=device)
    g.manual_seed((seed * 1_000_003 + epoch * 7_919) % (2 ** 63))
    return g


def shard_of_batch(perm: torch.Tensor, step: int, batch_size: int, rank: int, world: int) -> torch.Tensor:
    """The indices rank ``rank`` trains on at ``step``: every world-th entry of the global batch."""
    start = step * batch_size
    return perm[start + rank: start + batch_size: world]

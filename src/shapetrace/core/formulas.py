"""Per-dimension integer formulas of torch.nn layers, from the "Shape" sections of
the PyTorch docs (https://pytorch.org/docs/stable/nn.html). Pure integers in and out;
the layer rules in ``core/layers/`` check the arguments before calling these.
"""

from __future__ import annotations

import math


def conv_out(size: int, pad_total: int, kernel: int, stride: int, dilation: int) -> int:
    """Conv1d/2d/3d: floor((in + 2*padding - dilation*(kernel_size-1) - 1) / stride) + 1.

    ``pad_total`` is both sides together (2*padding, or the uneven split of 'same').
    https://pytorch.org/docs/stable/generated/torch.nn.Conv2d.html
    """
    return (size + pad_total - dilation * (kernel - 1) - 1) // stride + 1


def floor_remainder(size: int, pad_total: int, kernel: int, stride: int, dilation: int) -> int:
    """Input positions after the last window that the floor in ``conv_out`` drops."""
    return (size + pad_total - dilation * (kernel - 1) - 1) % stride


def conv_transpose_out(size: int, padding: int, kernel: int, stride: int, dilation: int,
                       output_padding: int) -> int:
    """ConvTranspose1d/2d/3d:
    (in - 1)*stride - 2*padding + dilation*(kernel_size-1) + output_padding + 1.
    https://pytorch.org/docs/stable/generated/torch.nn.ConvTranspose2d.html
    """
    return (size - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1


def pool_out(size: int, padding: int, kernel: int, stride: int, dilation: int, ceil_mode: bool) -> int:
    """MaxPool/AvgPool: like conv_out, with ceil instead of floor when ceil_mode, and
    then the last window dropped if it would start in the right padding
    (aten/src/ATen/native/Pool.h, pooling_output_shape_pad_lr).
    https://pytorch.org/docs/stable/generated/torch.nn.MaxPool2d.html
    """
    numerator = size + 2 * padding - dilation * (kernel - 1) - 1
    if ceil_mode:
        out = -(-numerator // stride) + 1
        if (out - 1) * stride >= size + padding:
            out -= 1
    else:
        out = numerator // stride + 1
    return out


def adaptive_bins(size: int, out: int) -> list[tuple[int, int]]:
    """Adaptive pooling's windows: bin i spans [floor(i*in/out), ceil((i+1)*in/out)).
    (aten/src/ATen/native/AdaptiveAveragePooling.cpp, start_index / end_index)
    """
    return [((i * size) // out, -(-((i + 1) * size) // out)) for i in range(out)]


def adaptive_bin_stats(size: int, out: int) -> tuple[int, int, int]:
    """(shortest bin, longest bin, sum of bin lengths) of ``adaptive_bins(size, out)``, in
    O(log) time: ``output_size`` can be 2**31, and listing the bins would hang.

    Bin i has length ceil(f + size/out) where f = (i*size mod out)/out; f = 0 at i = 0,
    and its largest value is (out - g)/out with g = gcd(size, out).
    """
    g = math.gcd(size, out)
    shortest = -(-size // out)
    longest = -(-(size + out - g) // out)
    # sum of ceil((i+1)*size/out) - floor(i*size/out) over i < out
    total = floor_sum(out, out, size, size + out - 1) - floor_sum(out, out, size, 0)
    return shortest, longest, total


def floor_sum(n: int, m: int, a: int, b: int) -> int:
    """sum(floor((a*i + b) / m) for i in range(n)) for non-negative a, b and m > 0, in
    O(log m) steps (the Euclid-like reduction of the sum)."""
    total = 0
    while True:
        if a >= m:
            total += (n - 1) * n // 2 * (a // m)
            a %= m
        if b >= m:
            total += n * (b // m)
            b %= m
        y_max = a * n + b
        if y_max < m:
            return total
        n, b = y_max // m, y_max % m
        m, a = a, m


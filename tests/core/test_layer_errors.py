"""Error messages: each kind of error names the layer, the argument and the numbers
(and a fix where one exists), in one line. Torch raises on every one of these cases
too (checked here against real torch, so that no message describes a non-error)."""

from __future__ import annotations

import pytest

import shapetrace
from shapetrace.core.errors import ArgumentError, ShapeError, UnknownLayerError

from .oracle import run_torch

# (id, layer, input shape, kwargs, argument blamed, substrings the message must hold, fix substring or None)
CASES = [
    ("channel mismatch", "Conv2d", (1, 3, 28, 28), dict(in_channels=1, out_channels=8, kernel_size=3),
     "in_channels", ["with 1 channel (in_channels)", "got 3 channels", "(1, 3, 28, 28)"], "in_channels=3"),
    ("groups do not divide in", "Conv2d", (1, 6, 8, 8), dict(in_channels=6, out_channels=8, kernel_size=3, groups=4),
     "groups", ["in_channels 6", "groups 4"], "divide 6"),
    ("groups do not divide out", "Conv1d", (1, 4, 8), dict(in_channels=4, out_channels=6, kernel_size=3, groups=4),
     "groups", ["out_channels 6", "groups 4"], "divide 6"),
    ("kernel larger than padded input", "Conv2d", (1, 1, 3, 3), dict(out_channels=1, kernel_size=5),
     "kernel_size", ["kernel_size 5", "padded input height 3", "3 + 0 + 0"], "padding >= 1"),
    ("dilated kernel too large", "Conv1d", (1, 1, 6), dict(out_channels=1, kernel_size=3, dilation=3),
     "kernel_size", ["kernel_size 3", "dilated: 7", "length 6"], None),
    ("same padding with stride", "Conv2d", (1, 1, 8, 8), dict(out_channels=1, kernel_size=3, padding="same", stride=2),
     "padding", ["padding='same'", "stride=2"], "stride=1"),
    ("pool padding over half the kernel", "MaxPool2d", (1, 1, 8, 8), dict(kernel_size=3, padding=2),
     "padding", ["padding 2", "kernel_size 3", "at most 1"], "padding <= 1"),
    ("pool output below 1", "MaxPool2d", (1, 1, 3, 3), dict(kernel_size=4),
     "kernel_size", ["output height 0", "floor((3 + 2*0 - 1*(4-1) - 1) / 4) + 1 = 0", "input height 3"], None),
    ("avg pool 3d kernel larger than input", "AvgPool3d", (1, 1, 2, 4, 4), dict(kernel_size=3, padding=1),
     "kernel_size", ["(2, 4, 4)", "(3, 3, 3)"], None),
    ("wrong number of dims", "Conv2d", (1, 1, 1, 28, 28), dict(in_channels=1, out_channels=8, kernel_size=3),
     "input", ["3D (unbatched) or 4D (batched)", "got 5D", "(1, 1, 1, 28, 28)"], None),
    ("non-positive kernel", "MaxPool1d", (1, 1, 8), dict(kernel_size=0), "kernel_size", ["positive", "got 0"], None),
    ("non-positive stride", "Conv2d", (1, 1, 8, 8), dict(out_channels=1, kernel_size=3, stride=(1, 0)),
     "stride", ["positive", "(1, 0)"], None),
    ("negative padding", "Conv2d", (1, 1, 8, 8), dict(out_channels=1, kernel_size=3, padding=-1),
     "padding", ["non-negative", "-1"], None),
    ("output_padding too large", "ConvTranspose2d", (1, 1, 4, 4),
     dict(out_channels=1, kernel_size=3, stride=2, output_padding=2),
     "output_padding", ["output_padding 2", "stride 2", "dilation 1"], "output_padding <= 1"),
    ("transposed output below 1", "ConvTranspose1d", (1, 1, 2), dict(out_channels=1, kernel_size=3, padding=3),
     "padding", ["(2-1)*1 - 2*3 + 1*(3-1) + 0 + 1 = -2"], "smaller padding"),
    ("reflect padding too large", "ReflectionPad2d", (1, 1, 3, 3), dict(padding=3),
     "padding", ["reflect padding (3, 3)", "input height 3"], "padding <= 2"),
    ("conv reflect padding too large", "Conv2d", (1, 1, 2, 8),
     dict(out_channels=1, kernel_size=3, padding=2, padding_mode="reflect"),
     "padding", ["(2, 2)", "height 2"], "padding <= 1"),
    ("circular wraps twice", "CircularPad1d", (1, 1, 3), dict(padding=4),
     "padding", ["(4, 4)", "more than once", "3"], "padding <= 3"),
    ("crop more than the input", "ZeroPad1d", (1, 3), dict(padding=(-4, 0)),
     "padding", ["(-4, 0)", "3"], None),
    ("the seed's Linear", "Linear", (1, 1152), dict(in_features=6272, out_features=512),
     "in_features", ["6272", "1152", "(1, 1152)"], "in_features=1152"),
    ("bilinear leading dims", "Bilinear", [(5, 2), (4, 3)], dict(out_features=4),
     "input", ["dim 0", "5", "4"], None),
    ("batchnorm channels", "BatchNorm2d", (2, 16, 4, 4), dict(num_features=32),
     "num_features", ["32 channels", "got 16"], "num_features=16"),
    ("instance norm spatial 1", "InstanceNorm2d", (2, 3, 1, 1), dict(num_features=3),
     "input", ["1 spatial element", "(2, 3, 1, 1)"], None),
    ("groupnorm divisibility", "GroupNorm", (2, 6, 4), dict(num_groups=4, num_channels=6),
     "num_groups", ["num_channels 6", "num_groups 4"], "divide 6"),
    ("layernorm shape", "LayerNorm", (2, 5, 7), dict(normalized_shape=(5, 8)),
     "normalized_shape", ["(5, 8)", "(2, 5, 7)"], "normalized_shape=(5, 7)"),
    ("adaptive negative size", "AdaptiveAvgPool2d", (1, 1, 8, 8), dict(output_size=(2, -1)),
     "output_size", ["(2, -1)", "non-negative"], None),
    ("upsample output below 1", "Upsample", (1, 1, 3), dict(scale_factor=0.25),
     "scale_factor", ["output length 0", "input length 3", "0.25"], None),
    ("upsample mode rank", "Upsample", (1, 1, 3), dict(scale_factor=2, mode="bilinear"),
     "input", ["'bilinear'", "4D", "got 3D"], None),
    ("align_corners with nearest", "Upsample", (1, 1, 3, 3), dict(scale_factor=2, align_corners=True),
     "align_corners", ["'nearest'"], "align_corners=None"),
    ("pixel shuffle channels", "PixelShuffle", (1, 6, 3, 3), dict(upscale_factor=2),
     "upscale_factor", ["6", "4"], "multiple of 4"),
    ("pixel unshuffle width", "PixelUnshuffle", (1, 1, 4, 6), dict(downscale_factor=4),
     "downscale_factor", ["width 6", "4"], "multiple of 4"),
    ("fold blocks", "Fold", (1, 12, 8), dict(output_size=4, kernel_size=2),
     "output_size", ["3 x 3 = 9", "is 8"], None),
    ("unfold kernel", "Unfold", (1, 3, 4, 4), dict(kernel_size=5),
     "kernel_size", ["5", "0 x 0 blocks"], None),
    ("unflatten product", "Unflatten", (4, 6), dict(dim=1, unflattened_size=(2, 4)),
     "unflattened_size", ["(2, 4)", "8", "size 6"], "product is 6"),
    ("flatten dims order", "Flatten", (2, 3, 4), dict(start_dim=2, end_dim=1),
     "start_dim", ["start_dim 2", "end_dim 1"], "start_dim <= end_dim"),
    ("softmax dim range", "Softmax", (2, 3), dict(dim=2), "dim", ["dim=2", "2D", "-2 to 1"], "dim between -2 and 1"),
    ("glu odd", "GLU", (2, 5), {}, "dim", ["odd size 5"], "even"),
    ("prelu channels", "PReLU", (2, 4, 3), dict(num_parameters=3),
     "num_parameters", ["num_parameters=3", "4"], "num_parameters=4 or 1"),
    ("embedding padding_idx", "Embedding", (2, 3), dict(num_embeddings=5, embedding_dim=2, padding_idx=5),
     "padding_idx", ["padding_idx 5", "num_embeddings 5", "-5 to 4"], "between -5 and 4"),
    ("dropout p", "Dropout", (2, 3), dict(p=1.5), "p", ["between 0 and 1", "1.5"], "between 0 and 1"),
    ("hardtanh bounds", "Hardtanh", (2,), dict(min_val=1.0, max_val=-1.0), "max_val", ["-1", "1"], None),
    ("celu alpha", "CELU", (2,), dict(alpha=0.0), "alpha", ["alpha must not be 0"], "alpha=1.0"),
    ("channel shuffle groups", "ChannelShuffle", (1, 4, 3, 3), dict(groups=3),
     "groups", ["channels 4", "groups 3"], "divide 4"),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_message_names_argument_and_numbers(case):
    _, layer, shape, kwargs, argument, parts, fix = case
    assert run_torch(layer, shape, kwargs).error is not None, "torch accepts this: not an error case"
    with pytest.raises(ShapeError) as info:
        shapetrace.output_shape(layer, shape, **kwargs)
    err = info.value
    msg = str(err)
    assert isinstance(err, ValueError)
    assert msg.startswith(f"{layer}: "), msg
    assert "\n" not in msg
    assert err.layer == layer
    assert err.argument == argument, msg
    assert argument in msg or argument == "input", msg
    for part in parts:
        assert part in msg, f"{part!r} not in {msg!r}"
    if fix is not None:
        assert err.fix is not None and fix in err.fix, (err.fix, fix)


def test_unknown_layer_suggests_the_right_name():
    with pytest.raises(UnknownLayerError, match="did you mean Conv2d"):
        shapetrace.output_shape("Conv2D", (1, 1, 8, 8), out_channels=1, kernel_size=3)


def test_unknown_argument_suggests_the_right_name():
    with pytest.raises(ArgumentError, match="did you mean 'kernel_size'"):
        shapetrace.output_shape("MaxPool2d", (1, 1, 8, 8), kernel=2)


def test_wrong_type_is_an_argument_error():
    with pytest.raises(ArgumentError, match="kernel_size must be an integer or a tuple of 2 integers, got 2.5"):
        shapetrace.output_shape("MaxPool2d", (1, 1, 8, 8), kernel_size=2.5)


def test_missing_required_argument():
    with pytest.raises(ArgumentError, match="missing required argument 'value'"):
        shapetrace.output_shape("ConstantPad2d", (1, 1, 8, 8), padding=1)


def test_bilinear_needs_two_shapes():
    with pytest.raises(ShapeError, match="takes 2 inputs"):
        shapetrace.output_shape("Bilinear", (4, 2), in1_features=2, in2_features=3, out_features=5)


def test_negative_input_size():
    with pytest.raises(ShapeError, match="negative size -1"):
        shapetrace.output_shape("ReLU", (2, -1))

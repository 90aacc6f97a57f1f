import shapetrace


def test_conv2d_seed_layer():
    assert shapetrace.output_shape("Conv2d", (1, 1, 28, 28), in_channels=1, out_channels=32,
                                   kernel_size=3, padding=1) == (1, 32, 28, 28)

"""One intra-op thread per test process: the models are tiny, and with pytest-xdist's two
workers on two cores more threads only contend."""

import torch

torch.set_num_threads(1)

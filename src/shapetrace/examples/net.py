"""A small CNN written for 32x32 images: `shapetrace summary examples/net.py:Net --input 1,3,64,64`
shows what breaks at 64x64 and how to fix it."""

import torch.nn as nn

class Net(nn.Module):
    def __init__(self, width=16):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.head = nn.Linear(width * 16 * 16, 10)

    def forward(self, x):
        return self.head(self.features(x).flatten(1))

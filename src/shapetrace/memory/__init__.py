"""Training memory and FLOPs: what one training step holds, when, and the batch that fits.

``api.train_memory`` is the entry (exported lazily as ``shapetrace.train_memory``); the step is
simulated on fake tensors in ``step``; ``records`` holds the numbers, ``render/memory.py`` the
text. Importing this package does not import torch.
"""

"""MNIST data: the IDX reader, lookup and verified download, and the bundled sample (numpy only)."""

from .idx import read_idx
from .mnist import MNIST, load_mnist, load_sample, read_images, read_labels

__all__ = ["MNIST", "load_mnist", "load_sample", "read_idx", "read_images", "read_labels"]

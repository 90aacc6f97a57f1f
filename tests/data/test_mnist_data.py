"""Finding, downloading and loading MNIST; the bundled sample; the real shared files."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import threading
from pathlib import Path

import numpy as np
import pytest

from .mnist_fakes import make_fake_mnist
from shapetrace.core.errors import DataError
from shapetrace.data import mnist as M


@pytest.fixture
def no_env(monkeypatch, tmp_path):
    """No $SHAPETRACE_DATA; the user cache dir is an empty temp folder."""
    monkeypatch.delenv(M.ENV_VAR, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    return tmp_path


def test_cache_dir_follows_platformdirs(no_env):
    assert M.default_cache_dir() == no_env / "xdg-cache" / "shapetrace" / "mnist"


def test_lookup_order_data_then_env_then_cache(no_env, monkeypatch):
    a = make_fake_mnist(no_env / "a", seed=1)
    b = make_fake_mnist(no_env / "b", seed=2, n_train=5)
    c = make_fake_mnist(M.default_cache_dir(), seed=3, n_train=6)
    got = M.load_mnist(download=False)
    assert got.source == str(M.default_cache_dir()) and len(got.train_labels) == 6
    np.testing.assert_array_equal(got.test_images, c["test_images"])
    monkeypatch.setenv(M.ENV_VAR, str(no_env / "b"))
    got = M.load_mnist(download=False)
    assert got.source == str(no_env / "b")
    np.testing.assert_array_equal(got.train_labels, b["train_labels"].astype(np.int64))
    got = M.load_mnist(no_env / "a", download=False)
    assert got.source == str(no_env / "a")
    np.testing.assert_array_equal(got.train_images, a["train_images"])


def test_raw_files_are_found_too(no_env):
    arrays = make_fake_mnist(no_env / "raw", gz=False)
    got = M.load_mnist(no_env / "raw", download=False)
    np.testing.assert_array_equal(got.test_images, arrays["test_images"])
    assert got.train_labels.dtype == np.int64 and got.train_images.dtype == np.uint8


def test_missing_offline_says_what_to_do(no_env):
    (no_env / "empty").mkdir()
    with pytest.raises(DataError) as info:
        M.load_mnist(no_env / "empty", download=False)
    msg = str(info.value)
    assert "MNIST not found in" in msg and "--data DIR" in msg and "SHAPETRACE_DATA" in msg
    with pytest.raises(DataError, match="no such directory"):
        M.load_mnist(no_env / "typo", download=False)
    (no_env / "file").write_text("x")
    with pytest.raises(DataError, match="is not a directory"):
        M.load_mnist(no_env / "file")


def test_image_label_count_mismatch(no_env):
    make_fake_mnist(no_env / "d")
    M.write_idx(no_env / "d" / "t10k-labels-idx1-ubyte.gz", np.zeros(3, dtype=np.uint8))
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte.gz: 3 labels for the 7 images"):
        M.load_mnist(no_env / "d", download=False)


def test_corrupt_file_in_folder_is_named(no_env):
    make_fake_mnist(no_env / "d")
    p = no_env / "d" / "train-images-idx3-ubyte.gz"
    p.write_bytes(p.read_bytes()[:-30])
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte.gz: corrupt or truncated gzip"):
        M.load_mnist(no_env / "d", download=False)


# ---------------------------------------------------------------- download (local HTTP mirrors)

class _Mirror:
    """A local HTTP server: serves ``files`` (name -> bytes), fails the first ``fail`` requests with 503."""

    def __init__(self, files: dict[str, bytes], fail: int = 0) -> None:
        self.files, self.fail, self.requests = files, fail, []
        mirror = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                mirror.requests.append(self.path)
                name = self.path.rsplit("/", 1)[-1]
                if mirror.fail > 0:
                    mirror.fail -= 1
                    self.send_error(503)
                    return
                if name not in mirror.files:
                    self.send_error(404)
                    return
                body = mirror.files[name]
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/mnist/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def published(tmp_path, monkeypatch):
    """Small fake MNIST .gz files and a FILES table with their md5, as a mirror would publish."""
    src = tmp_path / "published"
    arrays = make_fake_mnist(src, seed=7)
    blobs, table = {}, {}
    for key, (name, _md5) in M.FILES.items():
        data = (src / name).read_bytes()
        blobs[name] = data
        table[key] = (name, hashlib.md5(data).hexdigest())
    monkeypatch.setattr(M, "FILES", table)
    monkeypatch.setattr(M.time, "sleep", lambda s: None)
    return blobs, arrays


def test_download_verifies_and_loads(no_env, published):
    blobs, arrays = published
    with _Mirror(blobs) as mirror:
        got = M.load_mnist(mirrors=[mirror.url])
    cache = M.default_cache_dir()
    assert sorted(p.name for p in cache.iterdir()) == sorted(blobs)  # no temp files left
    np.testing.assert_array_equal(got.train_images, arrays["train_images"])
    assert len(mirror.requests) == 4


def test_download_retries_after_server_errors(no_env, published):
    blobs, _ = published
    with _Mirror(blobs, fail=2) as mirror:
        M.load_mnist(no_env / "dl", mirrors=[mirror.url], retries=3)
    assert len(mirror.requests) == 6
    assert (no_env / "dl" / "t10k-labels-idx1-ubyte.gz").is_file()


def test_md5_mismatch_falls_through_to_next_mirror(no_env, published):
    blobs, arrays = published
    bad = {name: gzip.compress(b"not mnist") for name in blobs}
    with _Mirror(bad) as evil, _Mirror(blobs) as good:
        got = M.load_mnist(no_env / "dl", mirrors=[evil.url, good.url])
    np.testing.assert_array_equal(got.test_images, arrays["test_images"])
    assert len(evil.requests) == 4  # one try each: a wrong md5 is not retried on the same mirror


def test_md5_mismatch_everywhere_keeps_nothing(no_env, published):
    blobs, _ = published
    bad = {name: b"garbage" for name in blobs}
    with _Mirror(bad) as evil:
        with pytest.raises(DataError, match=r"md5 [0-9a-f]{32} does not match the published"):
            M.load_mnist(no_env / "dl", mirrors=[evil.url])
    assert not (no_env / "dl").exists() or not any((no_env / "dl").iterdir())


def test_offline_download_error_says_what_to_do(no_env, published):
    with _Mirror({}) as mirror:
        dead = mirror.url
    with pytest.raises(DataError) as info:
        M.load_mnist(no_env / "dl", mirrors=[dead], retries=2, timeout=2)
    msg = str(info.value)
    assert "could not download train-images-idx3-ubyte.gz" in msg and "offline?" in msg
    assert "--data DIR" in msg and "\n" not in msg


def test_only_missing_files_are_downloaded(no_env, published):
    blobs, _ = published
    folder = no_env / "part"
    folder.mkdir()
    (folder / "train-images-idx3-ubyte.gz").write_bytes(blobs["train-images-idx3-ubyte.gz"])
    with _Mirror(blobs) as mirror:
        M.load_mnist(folder, mirrors=[mirror.url])
    assert sorted(r.rsplit("/", 1)[-1] for r in mirror.requests) == sorted(
        n for n in blobs if n != "train-images-idx3-ubyte.gz")


def test_published_md5_table_is_the_standard_one():
    assert M.FILES["train_images"] == ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873")
    assert M.FILES["test_labels"] == ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c")


# ---------------------------------------------------------------- the real data

def test_shared_mnist_loads(shared_mnist):
    m = M.load_mnist(shared_mnist, download=False)
    assert m.train_images.shape == (60000, 28, 28) and m.test_images.shape == (10000, 28, 28)
    assert m.train_labels.dtype == np.int64 and m.train_images.dtype == np.uint8
    assert np.bincount(m.test_labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert round(float(m.train_images.mean()), 3) == 33.318
    # the uncompressed bytes are MNIST's (md5 from the shared folder's README)
    assert hashlib.md5(gzip.decompress((shared_mnist / "t10k-labels-idx1-ubyte.gz").read_bytes())
                       ).hexdigest() == "27ae3e4e09519cfbb04c329615203637"


def test_sample_is_real_test_digits(shared_mnist):
    images, labels = M.sample_digits()
    assert images.shape == (1000, 28, 28) and np.bincount(labels).tolist() == [100] * 10
    size = sum((M.SAMPLE_DIR / n).stat().st_size for n in M.SAMPLE_FILES.values())
    assert size < 300_000
    full = M.load_mnist(shared_mnist, download=False)
    indices = [int(line) for line in (M.SAMPLE_DIR / "INDICES.txt").read_text().split("\n")
               if line and not line.startswith("#")]
    assert len(set(indices)) == 1000
    np.testing.assert_array_equal(images, full.test_images[indices])
    np.testing.assert_array_equal(labels, full.test_labels[indices])
    s = M.load_sample()
    assert len(s.train_labels) == 800 and len(s.test_labels) == 200
    assert np.bincount(s.test_labels).tolist() == [20] * 10


def test_dataclass_is_frozen_and_checked():
    s = M.load_sample()
    with pytest.raises(Exception):
        s.train_images = s.test_images  # type: ignore[misc]
    with pytest.raises(DataError, match="labels must be int64"):
        M.MNIST(s.test_images, s.test_labels.astype(np.uint8), s.test_images, s.test_labels)
    with pytest.raises(DataError, match=r"images must be uint8 \(N, 28, 28\)"):
        M.MNIST(s.test_images[:, :27], s.test_labels, s.test_images, s.test_labels)


# ---------------------------------------------------------------- the verified cache (tests' MNIST)

def _digests(folder: Path) -> dict[str, str]:
    return {key: M.content_sha256(folder / name) for key, (name, _md5) in M.FILES.items()}


def test_ensure_mnist_refetches_a_corrupted_cached_file(no_env, published):
    """Issue 13 item 8: the cache is checked file by file against the content's sha256; a corrupted
    file is refused and fetched again, the good ones are left as they are."""
    blobs, arrays = published
    digests = _digests(no_env / "published")
    with _Mirror(blobs) as mirror:
        cache = M.ensure_mnist(mirrors=[mirror.url], digests=digests)
        assert cache == M.default_cache_dir() and len(mirror.requests) == 4
        broken = cache / "t10k-images-idx3-ubyte.gz"
        data = bytearray(broken.read_bytes())
        data[-12] ^= 0xFF  # one flipped bit in the compressed data
        broken.write_bytes(bytes(data))
        M.ensure_mnist(mirrors=[mirror.url], digests=digests)
        assert mirror.requests[4:] == ["/mnist/t10k-images-idx3-ubyte.gz"]  # only the broken one again
        M.ensure_mnist(mirrors=[mirror.url], digests=digests)
        assert len(mirror.requests) == 5  # all four verified: nothing fetched
    np.testing.assert_array_equal(M.load_mnist(cache, download=False).test_images, arrays["test_images"])


def test_ensure_mnist_hashes_a_file_again_only_when_it_changed(no_env, published, monkeypatch):
    """Issue 13: a verified file is not hashed again by the same process while it is unchanged
    (unless it changed too recently for its file times to tell); one rewritten in place, its size
    and modification time put back, is hashed and refused."""
    import os

    blobs, _ = published
    digests = _digests(no_env / "published")
    hashed: list[str] = []
    real = M.content_sha256
    monkeypatch.setattr(M, "content_sha256", lambda path: hashed.append(Path(path).name) or real(path))
    with _Mirror(blobs) as mirror:
        cache = M.ensure_mnist(mirrors=[mirror.url], digests=digests)  # fetched (and checked) now
        assert len(hashed) == 0
        M.ensure_mnist(mirrors=[mirror.url], digests=digests)  # just written: hashed, not remembered
        assert len(hashed) == 4
        hashed.clear()
        threading.Event().wait(0.2)  # past the racy window, M._RACY_NS (``published`` stubs time.sleep)
        M.ensure_mnist(mirrors=[mirror.url], digests=digests)
        assert sorted(hashed) == sorted(name for name, _md5 in M.FILES.values())
        M.ensure_mnist(mirrors=[mirror.url], digests=digests)
        assert len(hashed) == 4 and len(mirror.requests) == 4  # remembered: not hashed, not fetched
        target = cache / "train-labels-idx1-ubyte.gz"
        before = target.stat()
        data = bytearray(target.read_bytes())
        data[-12] ^= 0xFF
        target.write_bytes(bytes(data))
        os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))
        assert (target.stat().st_size, target.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)
        with pytest.raises(DataError, match="could not download train-labels-idx1-ubyte.gz"):
            M.ensure_mnist(mirrors=[], digests=digests)  # refused: no mirror to fetch it again from
        assert hashed[4:] == ["train-labels-idx1-ubyte.gz"]
        M.ensure_mnist(mirrors=[mirror.url], digests=digests)
        assert mirror.requests[4:] == ["/mnist/train-labels-idx1-ubyte.gz"]


def test_ensure_mnist_refuses_a_mirror_with_other_content(no_env, published):
    """A mirror whose file matches the published md5 but not MNIST's content is refused."""
    blobs, _ = published
    digests = {**_digests(no_env / "published"), "train_labels": "0" * 64}
    with _Mirror(blobs) as mirror:
        with pytest.raises(DataError, match=r"train-labels-idx1-ubyte.gz.*the content's sha256 [0-9a-f]{64} is not "
                                            r"MNIST's 0{64}"):
            M.ensure_mnist(no_env / "dl", mirrors=[mirror.url], digests=digests)
    assert not (no_env / "dl" / "train-labels-idx1-ubyte.gz").exists()


def test_the_pinned_digests_are_the_shared_files(shared_mnist):
    """The sha256 pinned in the package are those of the real MNIST content (here: the shared copy,
    recompressed: its .gz md5 differs from the mirrors', its content does not)."""
    assert _digests(shared_mnist) == M.SHA256
    assert M.ensure_mnist(shared_mnist, mirrors=[]) == shared_mnist  # verified: nothing to fetch

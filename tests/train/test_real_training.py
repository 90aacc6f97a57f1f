"""A short real training run on the shared MNIST (a subset, CI-sized), then eval and predict with
its weights, predict on digits this test renders from MNIST (inverted, resized, off-centre)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from shapetrace.cli import main
from shapetrace.data.images import load_digit
from shapetrace.data.mnist import load_mnist
from shapetrace.train.config import TrainConfig
from shapetrace.train.loop import run

from .conftest import once_per_session


@pytest.fixture(scope="module")
def trained(shared_mnist, tmp_path_factory):
    def train(folder):
        cfg = TrainConfig.from_preset(data=str(shared_mnist), train_subset=4000, test_subset=2000, epochs=2,
                                      batch_size=64, threads=1, out=str(folder / "run"))
        run(cfg, progress=False, echo=lambda _msg: None)

    out = once_per_session(tmp_path_factory, "real-training", train) / "run"
    return out, json.loads((out / "metrics.json").read_text())


def test_beats_95_percent(trained):
    out, metrics = trained
    assert metrics["done"] and metrics["test"]["count"] == 2000
    assert metrics["test"]["accuracy"] > 0.95
    assert [h["epoch"] for h in metrics["history"]] == [1, 2]
    assert metrics["history"][-1]["train_loss"] < metrics["history"][0]["train_loss"]
    lines = (out / "log.csv").read_text().splitlines()
    assert lines[0].startswith("epoch,lr,train_loss,train_acc,test_loss,test_acc") and len(lines) == 3
    for name, size in (("curves.png", (1000, 400)), ("confusion.png", (640, 560))):
        with Image.open(out / name) as img:
            assert img.format == "PNG" and img.size == size


def test_eval_reproduces_the_runs_accuracy(trained, shared_mnist, capsys):
    out, metrics = trained
    with pytest.raises(SystemExit) as e:
        main(["eval", "--model", str(out), "--data", str(shared_mnist), "--test-subset", "2000", "--json"])
    assert e.value.code == 0
    got = json.loads(capsys.readouterr().out)
    assert got["correct"] == metrics["test"]["correct"] and got["confusion"] == metrics["test"]["confusion"]
    assert got["weights"].endswith("model.safetensors")
    assert got["per_class_count"] == np.bincount(load_mnist(shared_mnist).test_labels[:2000]).tolist()


def _render(digit: np.ndarray, rng: np.random.Generator, *, invert: bool, mode: str = "L") -> Image.Image:
    """The digit as a user might photograph or draw it: bigger, maybe dark on white, off-centre."""
    scale = rng.uniform(2.5, 9.0)
    img = Image.fromarray(255 - digit if invert else digit).resize(
        (int(28 * scale), int(28 * scale)), Image.Resampling.BICUBIC)
    w, h = img.size
    canvas = Image.new("L", (int(w * rng.uniform(1.6, 2.6)), int(h * rng.uniform(1.4, 2.2))), 255 if invert else 0)
    canvas.paste(img, (int(rng.integers(0, canvas.size[0] - w)), int(rng.integers(0, canvas.size[1] - h))))
    return canvas.convert(mode)


@pytest.fixture(scope="module")
def rendered(shared_mnist, tmp_path_factory):
    """30 test digits (outside the 2,000 the run was tested on), as PNG and JPEG files."""
    mnist = load_mnist(shared_mnist)
    folder = tmp_path_factory.mktemp("digits")
    rng = np.random.default_rng(1)
    items = []
    for k, i in enumerate(range(5000, 5030)):
        digit, label = mnist.test_images[i], int(mnist.test_labels[i])
        img = _render(digit, rng, invert=k % 3 != 0, mode="RGB" if k % 2 else "L")
        path = folder / f"digit{k:02d}-{label}.{'jpg' if k % 4 == 1 else 'png'}"
        img.save(path, **({"quality": 90} if path.suffix == ".jpg" else {}))
        items.append((path, digit, label))
    return items


def test_prepared_like_mnist(rendered):
    """Rendering then preparing gives back (nearly) the MNIST digit: same box, same centre of mass."""
    cors = []
    for path, digit, _label in rendered:
        got = load_digit(path)
        assert got.shape == (28, 28) and got.dtype == np.uint8
        ys, xs = np.nonzero(got > 25)
        assert max(ys.max() - ys.min(), xs.max() - xs.min()) + 1 <= 21
        w = got.astype(float)
        cy = (w.sum(1) * np.arange(28)).sum() / w.sum()
        cx = (w.sum(0) * np.arange(28)).sum() / w.sum()
        assert abs(cy - 14) < 0.75 and abs(cx - 14) < 0.75
        cors.append(np.corrcoef(got.ravel().astype(float), digit.ravel().astype(float))[0, 1])
    assert np.median(cors) > 0.9 and min(cors) > 0.6


def test_predict_on_rendered_digits(trained, rendered, capsys):
    out, _ = trained
    with pytest.raises(SystemExit) as e:
        main(["predict", "--model", str(out), "--json", *[str(p) for p, _, _ in rendered]])
    assert e.value.code == 0
    results = json.loads(capsys.readouterr().out)
    assert len(results) == len(rendered)
    right = 0
    for r, (path, _digit, label) in zip(results, rendered):
        assert r["image"] == str(path) and len(r["top"]) == 3
        probs = [t["probability"] for t in r["top"]]
        assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1.0 + 1e-6
        right += r["top"][0]["digit"] == label
    assert right >= 27, f"{right}/30 rendered digits recognised"


def test_predict_text_output(trained, rendered, capsys):
    out, _ = trained
    path, _, label = rendered[0]
    with pytest.raises(SystemExit) as e:
        main(["predict", "--model", str(out), str(path)])
    assert e.value.code == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith(str(path)) and line.count("%") == 3

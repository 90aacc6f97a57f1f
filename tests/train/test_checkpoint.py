"""Checkpoints and weights: atomic writes, safe loading (no pickled code runs), one-line errors."""

from __future__ import annotations

import os
import pickle

import pytest
import torch

from shapetrace.core.errors import CheckpointError
from shapetrace.models.seed import CNNWithResidual
from shapetrace.train import checkpoint as C
from shapetrace.atomic import atomic_write_bytes, remove_stale_temps
from shapetrace.train.config import TrainConfig
from shapetrace.train.loop import LRFactor, make_optimizer, make_scheduler


def _state(batchnorm: bool = False) -> dict:
    torch.manual_seed(0)
    model = CNNWithResidual(batchnorm=batchnorm)
    cfg = TrainConfig(schedule="cosine", batchnorm=batchnorm)
    opt = make_optimizer(cfg, model)
    sched = make_scheduler(cfg, opt, 10)
    model(torch.zeros(2, 1, 28, 28)).sum().backward()
    opt.step()
    sched.step()
    return {"config": cfg.to_dict(), "epoch": 1, "model_state": model.state_dict(),
            "optimizer_state": opt.state_dict(), "scheduler_state": sched.state_dict(),
            "history": [_entry(1)], "rng": {"torch": torch.get_rng_state()}}


def _entry(epoch: int) -> dict:
    """A history entry as the loop writes it (every field a number)."""
    return {**{k: 0.5 for k in C.HISTORY_FIELDS}, "epoch": epoch}


def test_round_trip_with_weights_only(tmp_path):
    state = _state()
    path = C.save_checkpoint(tmp_path / "c.pt", state)
    loaded = C.load_checkpoint(path)
    assert loaded.epoch == 1 and loaded.config == state["config"]
    for k, v in state["model_state"].items():
        assert torch.equal(loaded.model_state[k], v)
    assert loaded.scheduler_state["lr_lambdas"][0] == {"kind": "cosine", "warmup_steps": 2, "total_steps": 10}
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]


def test_onecycle_state_loads_with_weights_only(tmp_path):
    model = CNNWithResidual()
    cfg = TrainConfig()
    opt = make_optimizer(cfg, model)
    sched = make_scheduler(cfg, opt, 20)
    path = C.save_checkpoint(tmp_path / "c.pt", {**_state(), "optimizer_state": opt.state_dict(),
                                                 "scheduler_state": sched.state_dict()})
    assert C.load_checkpoint(path).scheduler_state["total_steps"] == 20


def test_interrupted_write_keeps_the_previous_file(tmp_path):
    target = tmp_path / "checkpoint.pt"
    C.save_checkpoint(target, _state())
    before = target.read_bytes()

    def crash():
        raise KeyboardInterrupt  # stands in for the process dying mid-write

    with pytest.raises(KeyboardInterrupt):
        C.save_checkpoint(target, {**_state(), "epoch": 2, "history": [_entry(1), _entry(2)]},
                          after_first_chunk=crash)
    assert target.read_bytes() == before and C.load_checkpoint(target).epoch == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.pt"]  # the temp file went too


def test_stale_temps_are_removed(tmp_path):
    (tmp_path / ".checkpoint.pt.abc.tmp").write_bytes(b"half")
    (tmp_path / "other.tmp").write_bytes(b"keep")
    removed = remove_stale_temps(tmp_path, "checkpoint.pt")
    assert [p.name for p in removed] == [".checkpoint.pt.abc.tmp"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.tmp"]


def test_atomic_write_mode_is_not_private(tmp_path):
    p = atomic_write_bytes(tmp_path / "f", b"x")
    mask = os.umask(0)
    os.umask(mask)
    assert p.stat().st_mode & 0o777 == 0o666 & ~mask


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch " + str(_Evil.marker),))


def test_pickled_code_is_never_run(tmp_path):
    _Evil.marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    torch.save({"format": C.FORMAT, "payload": _Evil()}, path)
    with pytest.raises(CheckpointError) as info:
        C.load_checkpoint(path)
    assert "refused" in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(CheckpointError, match="refused"):
        C.load_weights(path)
    assert not _Evil.marker.exists()
    raw = tmp_path / "evil.pkl"
    raw.write_bytes(pickle.dumps(_Evil()))
    with pytest.raises(CheckpointError):
        C.load_weights(raw)
    assert not _Evil.marker.exists()


def test_another_models_weights(tmp_path):
    path = tmp_path / "linear.pt"
    torch.save(torch.nn.Linear(3, 2).state_dict(), path)
    with pytest.raises(CheckpointError) as info:
        C.load_weights(path)
    msg = str(info.value)
    assert "weights of another model, not CNNWithResidual" in msg
    assert "missing conv1.weight" in msg and "unexpected weight, bias" in msg


def test_the_seeds_wrong_fc1_is_named(tmp_path):
    state = CNNWithResidual().state_dict()
    state["fc1.weight"] = torch.zeros(512, 128 * 7 * 7)  # the seed's nn.Linear(128 * 7 * 7, 512)
    path = tmp_path / "seed.pt"
    torch.save(state, path)
    with pytest.raises(CheckpointError, match=r"fc1.weight has shape \(512, 6272\), CNNWithResidual needs "
                                              r"\(512, 1152\)"):
        C.load_weights(path)


@pytest.mark.parametrize("content, message", [
    (b"", "not a readable checkpoint"),
    (b"garbage bytes, not a zip", "not a readable checkpoint"),
])
def test_unreadable_files(tmp_path, content, message):
    path = tmp_path / "bad.pt"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=message):
        C.load_checkpoint(path)


@pytest.mark.parametrize("error", [MemoryError(), ImportError("no module named x"), NameError("y")])
def test_errors_that_are_not_the_files_fault_are_not_reported_as_a_bad_file(tmp_path, monkeypatch, error):
    """Issue 13: only what torch.load raises on a damaged or foreign file becomes "not a readable
    checkpoint"; running out of memory or a broken install is not blamed on the file."""
    path = C.save_checkpoint(tmp_path / "c.pt", _state())

    def load(*args, **kwargs):
        raise error

    monkeypatch.setattr(C.torch, "load", load)
    with pytest.raises(type(error)):
        C.load_checkpoint(path)


def test_damaged_checkpoints_are_one_line_errors(tmp_path):
    """Bytes flipped, cut out or cut off anywhere in a real checkpoint (both torch formats): each
    either loads or is a CheckpointError, never another exception (the errors caught are a list)."""
    import random

    state = _state()
    good = C.save_checkpoint(tmp_path / "good.pt", state).read_bytes()
    legacy_path = tmp_path / "legacy.pt"
    torch.save({"format": C.FORMAT, "version": C.VERSION, "model": C.MODEL_NAME, **state}, legacy_path,
               _use_new_zipfile_serialization=False)
    legacy = legacy_path.read_bytes()
    rnd = random.Random(13)
    path = tmp_path / "bad.pt"
    outcomes = set()
    for src in (good, legacy):
        pickled = src.find(b"data.pkl") if src is good else 0  # where the structure is, not the tensors
        for _ in range(60):
            data = bytearray(src)
            at = rnd.randrange(pickled, pickled + 3000)
            kind = rnd.choice(["flip", "cut out", "cut off"])
            if kind == "flip":
                data[at] ^= 1 << rnd.randrange(8)
            elif kind == "cut out":
                del data[at: at + rnd.randint(1, 20)]
            else:
                del data[rnd.randrange(len(data)):]
            path.write_bytes(bytes(data))
            try:
                C.load_checkpoint(path)
                outcomes.add("loads")
            except CheckpointError as e:
                assert "\n" not in str(e)
                outcomes.add("refused")
    assert "refused" in outcomes


def test_truncated_checkpoint(tmp_path):
    path = C.save_checkpoint(tmp_path / "c.pt", _state())
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(CheckpointError, match=r"c.pt: not a readable checkpoint"):
        C.load_checkpoint(path)


def test_plain_data_that_is_not_a_checkpoint(tmp_path):
    path = tmp_path / "d.pt"
    torch.save({"hello": 1}, path)
    with pytest.raises(CheckpointError, match="not a shapetrace training checkpoint"):
        C.load_checkpoint(path)
    torch.save({**_state(), "format": C.FORMAT, "version": 99}, path)
    with pytest.raises(CheckpointError, match="checkpoint version 99"):
        C.load_checkpoint(path)


def test_missing_paths(tmp_path):
    with pytest.raises(CheckpointError, match="no such file"):
        C.load_checkpoint(tmp_path / "nope.pt")
    with pytest.raises(CheckpointError, match="is a directory"):
        C.load_checkpoint(tmp_path)
    with pytest.raises(CheckpointError, match="no such file or run folder"):
        C.load_weights(tmp_path / "nope")
    with pytest.raises(CheckpointError, match="holds neither model.safetensors nor checkpoint.pt"):
        C.load_weights(tmp_path)


@pytest.mark.parametrize("batchnorm", [False, True])
def test_safetensors_export_and_load(tmp_path, batchnorm):
    state = _state(batchnorm)["model_state"]
    path = C.export_weights(tmp_path / "model.safetensors", state, {"test_accuracy": 0.99})
    loaded, bn, file = C.load_weights(tmp_path)  # a run folder: finds model.safetensors
    assert file == path and bn is batchnorm
    for k, v in state.items():
        assert torch.equal(loaded[k], v)
    from safetensors import safe_open

    with safe_open(str(path), "pt") as f:
        meta = f.metadata()
    assert meta["model"] == "CNNWithResidual" and meta["batchnorm"] == str(batchnorm).lower()
    assert meta["test_accuracy"] == "0.99"


def test_corrupt_safetensors(tmp_path):
    path = tmp_path / "m.safetensors"
    path.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json")
    with pytest.raises(CheckpointError, match="not a readable safetensors file"):
        C.load_weights(path)


def test_checkpoint_and_bare_state_dict_both_load_as_weights(tmp_path):
    state = _state()
    C.save_checkpoint(tmp_path / "checkpoint.pt", state)
    loaded, bn, _ = C.load_weights(tmp_path)  # no safetensors yet: the checkpoint
    assert not bn and torch.equal(loaded["fc2.bias"], state["model_state"]["fc2.bias"])
    torch.save(state["model_state"], tmp_path / "sd.pt")
    assert torch.equal(C.load_weights(tmp_path / "sd.pt")[0]["fc2.bias"], state["model_state"]["fc2.bias"])


def test_lr_factor():
    f = LRFactor("cosine", 2, 10)
    assert [round(f(s), 3) for s in (0, 1, 2, 6, 10)] == [0.5, 1.0, 1.0, 0.5, 0.0]
    assert LRFactor("constant", 0, 10)(7) == 1.0


def test_stale_temps_of_several_names_and_odd_characters(tmp_path):
    for name in (".a[1].png.q.tmp", ".b.json.r.tmp", ".c.csv.s.tmp"):
        (tmp_path / name).write_bytes(b"half")
    removed = remove_stale_temps(tmp_path, "a[1].png", "b.json")
    assert sorted(p.name for p in removed) == [".a[1].png.q.tmp", ".b.json.r.tmp"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".c.csv.s.tmp"]

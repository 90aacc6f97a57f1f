"""Checkpoints (the whole training state, each epoch) and exported weights (safetensors).

Loading never runs pickled code: checkpoints are read with ``torch.load(weights_only=True)``
(https://pytorch.org/docs/stable/generated/torch.load.html), weights with safetensors.
Every failure is a one-line ``CheckpointError`` naming the file.
"""

from __future__ import annotations

import io
import json
import math
import os
import pickle
import struct
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import torch

from ..core.errors import ArgumentError, CheckpointError
from ..atomic import atomic_path, atomic_write_bytes
from .config import TrainConfig

FORMAT = "shapetrace-checkpoint"
WEIGHTS_FORMAT = "shapetrace-weights"
VERSION = 1
MODEL_NAME = "CNNWithResidual"
CHECKPOINT_NAME = "checkpoint.pt"
WEIGHTS_NAME = "model.safetensors"
# One entry per epoch in a checkpoint's history (and a row of log.csv): numbers only.
HISTORY_FIELDS = ("epoch", "lr", "train_loss", "train_acc", "test_loss", "test_acc", "train_s", "eval_s",
                  "images_per_s", "elapsed_s")
# The weights' dtypes a model may be loaded from: load_state_dict casts them to float32. An
# integer, bool, complex or float8 tensor is not a trained weight (they were accepted and gave
# nonsense silently); only BatchNorm's step counter is an integer.
FLOAT_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


# ----------------------------------------------------------------------------- training checkpoints

def save_checkpoint(path: str | os.PathLike, state: Mapping[str, Any],
                    after_first_chunk: Callable[[], None] | None = None) -> Path:
    """Serialise ``state`` (plain data and tensors only) and write it atomically to ``path``."""
    payload = {"format": FORMAT, "version": VERSION, "model": MODEL_NAME, **state}
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    try:
        return atomic_write_bytes(path, buffer.getvalue(), after_first_chunk=after_first_chunk)
    except OSError as e:
        raise CheckpointError(f"cannot write checkpoint {path}: {e.strerror or e}") from None


def load_checkpoint(path: str | os.PathLike) -> "Checkpoint":
    """A training checkpoint written by ``save_checkpoint``, its whole schema checked."""
    p = Path(path)
    return Checkpoint.from_obj(_torch_load(p), p)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


@dataclass(frozen=True)
class Checkpoint:
    """The training state of one epoch, as ``save_checkpoint`` writes it, checked field by field
    on load: a file that unpickles fine but was tampered with or truncated by hand (``epoch=-5``,
    ``epoch="one"``, ``optimizer_state={}``, ``history="nope"``) is one ``CheckpointError``
    naming the field, never a traceback from deep inside the resumed loop."""

    path: Path
    config: dict[str, Any]
    epoch: int
    model_state: dict[str, torch.Tensor]
    optimizer_state: dict[str, Any]
    scheduler_state: dict[str, Any]
    history: list[dict[str, Any]]
    last_eval: dict[str, Any] | None
    world_size: int
    rng: dict[str, Any]
    batchnorm: bool

    @classmethod
    def from_obj(cls, obj: Any, p: Path) -> "Checkpoint":
        if not isinstance(obj, dict) or obj.get("format") != FORMAT:
            raise CheckpointError(f"{p}: not a shapetrace training checkpoint")
        if obj.get("version") != VERSION:
            raise CheckpointError(f"{p}: checkpoint version {obj.get('version')!r}, this shapetrace reads {VERSION}")
        if obj.get("model") != MODEL_NAME:
            raise CheckpointError(f"{p}: checkpoint of model {obj.get('model')!r}, expected {MODEL_NAME}")
        for key in ("config", "epoch", "model_state", "optimizer_state", "scheduler_state", "history"):
            if key not in obj:
                raise CheckpointError(f"{p}: checkpoint lacks {key!r}")

        def bad(field: str, what: str) -> CheckpointError:
            return CheckpointError(f"{p}: damaged checkpoint: {field} {what}, got {_short(obj.get(field))}")

        epoch = obj["epoch"]
        if not _is_int(epoch) or epoch < 1:
            raise bad("epoch", "must be an integer of at least 1 (the epochs done)")
        history = obj["history"]
        if not isinstance(history, list) or len(history) != epoch:
            raise bad("history", f"must be a list of one entry per epoch done ({epoch})")
        for i, entry in enumerate(history):
            if not isinstance(entry, dict) or entry.get("epoch") != i + 1 or not all(
                    _is_number(entry.get(k)) and math.isfinite(entry[k]) for k in HISTORY_FIELDS
                    if k not in ("train_loss", "test_loss")):
                raise CheckpointError(f"{p}: damaged checkpoint: history entry {i + 1} must hold the "
                                      f"numbers {', '.join(HISTORY_FIELDS)} of epoch {i + 1}")
        for field in ("config", "optimizer_state", "scheduler_state"):
            if not isinstance(obj[field], dict):
                raise bad(field, "must be a mapping")
        opt = obj["optimizer_state"]
        if not isinstance(opt.get("state"), dict) or not isinstance(opt.get("param_groups"), list):
            raise bad("optimizer_state", "must hold 'state' and 'param_groups' (torch's Optimizer.state_dict())")
        last_eval = obj.get("last_eval")
        if last_eval is not None and not (isinstance(last_eval, dict) and all(
                _is_number(last_eval.get(k)) for k in ("accuracy", "correct", "count", "loss"))
                and isinstance(last_eval.get("confusion"), list)):
            raise bad("last_eval", "must be None or the evaluation of the last epoch")
        world_size = obj.get("world_size", 1)
        if not _is_int(world_size) or world_size < 1:
            raise bad("world_size", "must be a positive integer")
        rng = obj.get("rng", {})
        if not isinstance(rng, dict):
            raise bad("rng", "must be a mapping")
        batchnorm = check_state_dict(obj["model_state"], p)
        return cls(p, obj["config"], epoch, dict(obj["model_state"]), opt, obj["scheduler_state"],
                   history, last_eval, world_size, rng, batchnorm)

    def restore(self, model: torch.nn.Module, opt: torch.optim.Optimizer, sched: Any,
                device: torch.device) -> None:
        """Load the weights, optimizer, scheduler and RNG state into freshly built objects of the
        same config; anything that does not fit them is a ``CheckpointError``."""
        fresh_sched = sched.state_dict()
        for k, v in self.scheduler_state.items():
            if k not in fresh_sched or not _same_kind(v, fresh_sched[k]):
                raise CheckpointError(f"{self.path}: damaged checkpoint: scheduler_state[{k!r}] is "
                                      f"{_short(v)}, not what this run's scheduler holds")
        if self.scheduler_state.get("total_steps", fresh_sched.get("total_steps")) != fresh_sched.get("total_steps"):
            raise CheckpointError(f"{self.path}: damaged checkpoint: its scheduler plans "
                                  f"{self.scheduler_state['total_steps']} steps, its config "
                                  f"{fresh_sched['total_steps']}")
        try:
            model.load_state_dict(self.model_state)
            opt.load_state_dict(self.optimizer_state)
        except (ValueError, KeyError, RuntimeError, TypeError, IndexError) as e:
            raise CheckpointError(f"{self.path}: damaged checkpoint: optimizer_state does not fit the "
                                  f"model ({' '.join(str(e).split())[:200]})") from None
        for param, state in opt.state.items():
            for name, value in state.items():
                if not isinstance(value, torch.Tensor) or (value.ndim and value.shape != param.shape):
                    raise CheckpointError(f"{self.path}: damaged checkpoint: optimizer_state's {name!r} "
                                          f"does not fit a parameter of shape {tuple(param.shape)}")
        sched.load_state_dict(self.scheduler_state)
        try:
            if isinstance(self.rng.get("torch"), torch.Tensor):
                torch.set_rng_state(self.rng["torch"])
            if device.type == "cuda" and self.rng.get("cuda"):
                torch.cuda.set_rng_state_all(list(self.rng["cuda"]))
        except (RuntimeError, TypeError, ValueError) as e:
            raise CheckpointError(f"{self.path}: damaged checkpoint: rng ({' '.join(str(e).split())[:200]})") from None


# Fields that describe where and how a run executes rather than what it computes: a resumed run
# may change them (another machine, another data folder); every other field must match.
RUN_FIELDS = frozenset({"data", "out", "device", "threads", "compile", "bf16", "channels_last",
                        "eval_batch_size"})


def load_for_resume(path: Path, new: TrainConfig, given: set[str]) -> tuple[Checkpoint, TrainConfig]:
    """The checkpoint at ``path`` and the config the resumed run continues with: the saved one,
    with the run fields the user gave now (``merge_resume_config``)."""
    checkpoint = load_checkpoint(path)
    try:
        saved = TrainConfig.from_dict(checkpoint.config)
    except (ArgumentError, TypeError) as e:
        raise CheckpointError(f"{path}: its config is not valid here ({e})") from None
    return checkpoint, merge_resume_config(saved, new, given)


def merge_resume_config(saved: TrainConfig, new: TrainConfig, given: set[str]) -> TrainConfig:
    """The saved run's config, with the run fields the user gave now. A recipe option given now
    that differs from the saved one is an error: it would not continue the same run."""
    for name in sorted(given - RUN_FIELDS):
        a, b = getattr(saved, name), getattr(new, name)
        if a != b:
            shown = getattr(a, "value", a)
            raise ArgumentError(f"--resume continues the saved run, whose --{name.replace('_', '-')} is "
                                f"{shown!r}, not {getattr(b, 'value', b)!r}; start a new run with another --out")
    return saved.replace(**{name: getattr(new, name) for name in RUN_FIELDS if name in given or name == "out"})


def _same_kind(saved: Any, fresh: Any) -> bool:
    """Whether a saved scheduler field has the type of the fresh scheduler's (ints and floats mix)."""
    if _is_number(fresh):
        return _is_number(saved) and math.isfinite(saved)
    if isinstance(fresh, (list, tuple)):
        return isinstance(saved, (list, tuple)) and len(saved) == len(fresh) and all(
            _same_kind(a, b) for a, b in zip(saved, fresh))
    if isinstance(fresh, dict):
        return isinstance(saved, dict) and set(saved) == set(fresh) and all(
            _same_kind(saved[k], fresh[k]) for k in fresh)
    return fresh is None or type(saved) is type(fresh)


def _short(v: Any) -> str:
    text = repr(v) if not isinstance(v, (dict, list)) or len(v) < 4 else f"a {type(v).__name__} of {len(v)}"
    return text if len(text) <= 60 else text[:57] + "..."


def _checked_checkpoint(obj: Any, p: Path) -> tuple[dict[str, Any], bool]:
    """The weights of a checkpoint and its batchnorm flag (for eval/predict), the schema checked."""
    ckpt = Checkpoint.from_obj(obj, p)
    return {"model_state": ckpt.model_state}, ckpt.batchnorm


# What torch.load(weights_only=True) raises on a damaged or foreign file besides UnpicklingError,
# found by cutting, deleting and flipping bytes of real checkpoints (zip and legacy formats): its
# zip reader's RuntimeError; the unpickler's EOFError, IndexError, KeyError, ValueError (also
# UnicodeDecodeError) and struct.error; TypeError, AttributeError and AssertionError from
# rebuilding tensors out of damaged records; OSError from reading. Anything else (MemoryError,
# ImportError, NameError, ...) is not the file's fault and is not reported as if it were.
_UNREADABLE = (OSError, EOFError, RuntimeError, ValueError, KeyError, IndexError, TypeError, AttributeError,
               AssertionError, struct.error)


def _torch_load(p: Path) -> Any:
    if not p.exists():
        raise CheckpointError(f"{p}: no such file")
    if p.is_dir():
        raise CheckpointError(f"{p}: is a directory, expected a checkpoint file")
    try:
        with warnings.catch_warnings():  # torch warns about pickle protocols; the error below says it all
            warnings.simplefilter("ignore")
            return torch.load(p, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        # torch's message: boilerplate, then the line that says what was refused
        lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
        detail = next((ln for ln in lines if "GLOBAL" in ln or "Unsupported" in ln), lines[-1] if lines else "")
        if "GLOBAL" in detail:
            raise CheckpointError(f"{p}: refused: it holds pickled Python objects, not just tensors and "
                                  f"plain data; weights_only=True never runs them ({detail.rstrip('.')})") from None
        raise CheckpointError(f"{p}: not a readable checkpoint (not a torch.save file of tensors and plain "
                              f"data: {detail.rstrip('.')})") from None
    except _UNREADABLE as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise CheckpointError(f"{p}: not a readable checkpoint ({first[:200]})") from None


# ----------------------------------------------------------------------------- model weights

def expected_state(batchnorm: bool) -> dict[str, tuple[int, ...]]:
    from ..models.seed import CNNWithResidual

    return {k: tuple(v.shape) for k, v in CNNWithResidual(batchnorm=batchnorm).state_dict().items()}


def has_batchnorm(state: Mapping[str, Any]) -> bool:
    return any(k.startswith("resblock1.bn1.") for k in state)


def check_state_dict(state: Any, p: Path) -> bool:
    """Raise unless ``state`` holds exactly the seed model's tensors; returns its batchnorm flag."""
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{p}: does not hold a model's weights (a name -> tensor mapping)")
    batchnorm = has_batchnorm(state)
    want = expected_state(batchnorm)
    missing = [k for k in want if k not in state]
    unexpected = [k for k in state if k not in want]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing {_few(missing)}")
        if unexpected:
            parts.append(f"unexpected {_few(unexpected)}")
        raise CheckpointError(f"{p}: weights of another model, not {MODEL_NAME}: {'; '.join(parts)}")
    for k, shape in want.items():
        got = tuple(state[k].shape)
        if got != shape:
            raise CheckpointError(f"{p}: weights of another model: {k} has shape {got}, "
                                  f"{MODEL_NAME} needs {shape}")
    for k, v in state.items():
        if k.endswith("num_batches_tracked"):
            ok = v.dtype == torch.int64
        else:
            ok = v.dtype in FLOAT_DTYPES
        if not ok:
            need = "int64" if k.endswith("num_batches_tracked") else "float16, bfloat16, float32 or float64"
            raise CheckpointError(f"{p}: {k} holds {str(v.dtype).replace('torch.', '')} values; "
                                  f"weights must be {need}")
    return batchnorm


def _few(names: list[str], n: int = 3) -> str:
    return ", ".join(names[:n]) + (f" and {len(names) - n} more" if len(names) > n else "")


def export_weights(path: str | os.PathLike, state: Mapping[str, torch.Tensor],
                   metadata: Mapping[str, Any] | None = None) -> Path:
    """The final weights as safetensors (tensors only, no code), written atomically."""
    from safetensors.torch import save_file

    p = Path(path)
    meta = {"format": WEIGHTS_FORMAT, "model": MODEL_NAME,
            "batchnorm": json.dumps(has_batchnorm(state))}
    meta.update({k: v if isinstance(v, str) else json.dumps(v) for k, v in (metadata or {}).items()})
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in state.items()}
    try:
        with atomic_path(p) as tmp:
            save_file(tensors, str(tmp), metadata=meta)
    except OSError as e:
        raise CheckpointError(f"cannot write {p}: {e.strerror or e}") from None
    return p


def resolve_model_path(path: str | os.PathLike) -> Path:
    """A run folder (its model.safetensors, else its checkpoint.pt) or a file."""
    p = Path(path)
    if p.is_dir():
        for name in (WEIGHTS_NAME, CHECKPOINT_NAME):
            if (p / name).is_file():
                return p / name
        raise CheckpointError(f"{p}: holds neither {WEIGHTS_NAME} nor {CHECKPOINT_NAME}; "
                              f"train first (shapetrace train --out {p}) or pass a weights file")
    if not p.exists():
        raise CheckpointError(f"{p}: no such file or run folder")
    return p


def load_weights(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], bool, Path]:
    """The seed model's weights from a run folder, a ``.safetensors`` file, a training checkpoint
    or a bare state_dict file; returns (state_dict, batchnorm, the file read)."""
    p = resolve_model_path(path)
    if _is_safetensors(p):
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            state = load_file(str(p), device="cpu")
        except (SafetensorError, OSError, ValueError) as e:
            raise CheckpointError(f"{p}: not a readable safetensors file ({' '.join(str(e).split())})") from None
    else:
        obj = _torch_load(p)
        if isinstance(obj, dict) and obj.get("format") == FORMAT:
            checkpoint, batchnorm = _checked_checkpoint(obj, p)
            return dict(checkpoint["model_state"]), batchnorm, p
        state = obj
    batchnorm = check_state_dict(state, p)
    return dict(state), batchnorm, p


def _is_safetensors(p: Path) -> bool:
    """safetensors files begin with an 8-byte little-endian header length, then '{' (JSON);
    torch files begin with 'PK' (zip) or a pickle opcode."""
    if p.suffix == ".safetensors":
        return True
    try:
        with open(p, "rb") as f:
            head = f.read(9)
    except OSError as e:
        raise CheckpointError(f"{p}: cannot read ({e.strerror or e})") from None
    return len(head) == 9 and head[8:9] == b"{"

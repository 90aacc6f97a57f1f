"""Checkpoints (the whole training state, each epoch) and exported weights (safetensors).

Loading never runs pickled code: checkpoints are read with ``torch.load(weights_only=True)``
(https://pytorch.org/docs/stable/generated/torch.load.html), weights with safetensors.
Every failure is a one-line ``CheckpointError`` naming the file.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import warnings
import zipfile
from pathlib import Path
from typing import Any, Callable, Mapping

import torch

from ..core.errors import CheckpointError
from ..atomic import atomic_path, atomic_write_bytes

FORMAT = "shapetrace-checkpoint"
WEIGHTS_FORMAT = "shapetrace-weights"
VERSION = 1
MODEL_NAME = "CNNWithResidual"
CHECKPOINT_NAME = "checkpoint.pt"
WEIGHTS_NAME = "model.safetensors"


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


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """A training checkpoint written by ``save_checkpoint``, checked to be one."""
    p = Path(path)
    return _checked_checkpoint(_torch_load(p), p)[0]


def _checked_checkpoint(obj: Any, p: Path) -> tuple[dict[str, Any], bool]:
    """``obj`` if it is a complete checkpoint of the seed model, and its batchnorm flag."""
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise CheckpointError(f"{p}: not a shapetrace training checkpoint")
    if obj.get("version") != VERSION:
        raise CheckpointError(f"{p}: checkpoint version {obj.get('version')!r}, this shapetrace reads {VERSION}")
    if obj.get("model") != MODEL_NAME:
        raise CheckpointError(f"{p}: checkpoint of model {obj.get('model')!r}, expected {MODEL_NAME}")
    for key in ("config", "epoch", "model_state", "optimizer_state", "scheduler_state", "history"):
        if key not in obj:
            raise CheckpointError(f"{p}: checkpoint lacks {key!r}")
    return obj, check_state_dict(obj["model_state"], p)


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
    except (RuntimeError, EOFError, OSError, ValueError, zipfile.BadZipFile, KeyError, AttributeError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise CheckpointError(f"{p}: not a readable checkpoint ({first})") from None


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

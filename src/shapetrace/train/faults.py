"""Fault injection for the reliability tests: ``SHAPETRACE_FAULT`` makes the training process
SIGKILL itself at an exact point, so a test can check what a real kill leaves behind.

    SHAPETRACE_FAULT=epoch:2:step:3    killed during epoch 2, before its step 3 (1-based)
    SHAPETRACE_FAULT=checkpoint:2      killed while writing the checkpoint of epoch 2,
                                       after its first chunk reached the temp file

Unset (the normal case) it does nothing. Only rank 0 reacts.
"""

from __future__ import annotations

import os
import signal

ENV = "SHAPETRACE_FAULT"


def _spec() -> tuple[str, int, int]:
    text = os.environ.get(ENV, "")
    parts = text.split(":")
    try:
        if len(parts) == 4 and parts[0] == "epoch" and parts[2] == "step":
            return "epoch", int(parts[1]), int(parts[3])
        if len(parts) == 2 and parts[0] == "checkpoint":
            return "checkpoint", int(parts[1]), 0
    except ValueError:
        pass
    return "", 0, 0


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def at_step(epoch: int, step: int, rank: int = 0) -> None:
    kind, e, s = _spec()
    if kind == "epoch" and rank == 0 and e == epoch and s == step:
        _die()


def checkpoint_hook(epoch: int):
    """A callback for ``atomic_write_bytes(after_first_chunk=...)``, or None."""
    kind, e, _ = _spec()
    if kind == "checkpoint" and e == epoch:
        return _die
    return None

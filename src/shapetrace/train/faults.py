"""Fault injection for the reliability tests: ``SHAPETRACE_FAULT`` makes the training process
send itself a signal at an exact point, so a test can check what a real kill, Ctrl-C or
stopped process leaves behind.

    SHAPETRACE_FAULT=epoch:2:step:3        SIGKILL during epoch 2, before its step 3 (1-based)
    SHAPETRACE_FAULT=epoch:2:step:3:INT    the same point, SIGINT (what Ctrl-C sends)
    SHAPETRACE_FAULT=epoch:1:step:1:STOP   the same point, SIGSTOP: the process stays alive,
                                           frozen, holding its run folder (a second run can
                                           be tried against it; the test kills it after)
    SHAPETRACE_FAULT=checkpoint:2          SIGKILL while writing the checkpoint of epoch 2,
                                           after its first chunk reached the temp file

Unset (the normal case) it does nothing. Only rank 0 reacts.
"""

from __future__ import annotations

import os
import signal

ENV = "SHAPETRACE_FAULT"
SIGNALS = {"KILL": signal.SIGKILL, "INT": signal.SIGINT, "STOP": signal.SIGSTOP}


def _spec() -> tuple[str, int, int, signal.Signals]:
    text = os.environ.get(ENV, "")
    parts = text.split(":")
    try:
        if len(parts) in (4, 5) and parts[0] == "epoch" and parts[2] == "step":
            sig = SIGNALS.get(parts[4] if len(parts) == 5 else "KILL")
            if sig is not None:
                return "epoch", int(parts[1]), int(parts[3]), sig
        if len(parts) == 2 and parts[0] == "checkpoint":
            return "checkpoint", int(parts[1]), 0, signal.SIGKILL
    except ValueError:
        pass
    return "", 0, 0, signal.SIGKILL


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def at_step(epoch: int, step: int, rank: int = 0) -> None:
    kind, e, s, sig = _spec()
    if kind == "epoch" and rank == 0 and e == epoch and s == step:
        os.kill(os.getpid(), sig)


def checkpoint_hook(epoch: int):
    """A callback for ``atomic_write_bytes(after_first_chunk=...)``, or None."""
    kind, e, _, _ = _spec()
    if kind == "checkpoint" and e == epoch:
        return _die
    return None

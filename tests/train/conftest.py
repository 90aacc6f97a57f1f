from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from filelock import FileLock

REPO = Path(__file__).resolve().parents[2]



def cli(*args: str, env: dict | None = None, timeout: float = 240) -> subprocess.CompletedProcess:
    """``python -m shapetrace ARGS`` in a fresh process (one thread: CI runs tests two at a time)."""
    full_env = {k: v for k, v in os.environ.items() if k != "SHAPETRACE_FAULT"}
    full_env.update({"OMP_NUM_THREADS": "1", **(env or {})})
    return subprocess.run([sys.executable, "-m", "shapetrace", *args], capture_output=True, text=True,
                          env=full_env, cwd=REPO, timeout=timeout)


def once_per_session(tmp_path_factory, name: str, make) -> Path:
    """A folder that ``make(folder)`` fills once per test session, shared by the xdist workers
    (the pattern from pytest-xdist's docs: a file lock in the workers' common temp root), so
    that one expensive run serves tests that land on different workers."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent
    folder = root / f"shared-{name}"
    with FileLock(str(root / f"shared-{name}.lock")):
        if not (folder / ".done").exists():
            folder.mkdir(exist_ok=True)
            make(folder)
            (folder / ".done").write_text("ok")
    return folder

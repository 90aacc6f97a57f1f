"""The README's `shapetrace layer` and `shapetrace summary` examples are real: each is run
again and must print exactly what the README shows (stdout and stderr together).

A ``$ cat FILE`` line in the same block writes the lines shown under it to FILE first, so
an example may bring its own input file.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CHECKED = ("shapetrace layer", "shapetrace summary")


def _blocks() -> list[list[tuple[str, list[str]]]]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    blocks = []
    for body in re.findall(r"```console\n(.*?)```", text, flags=re.S):
        steps: list[tuple[str, list[str]]] = []
        for line in body.splitlines():
            if line.startswith("$ "):
                steps.append((line[2:], []))
            elif steps:
                steps[-1][1].append(line)
        if any(cmd.startswith(CHECKED) for cmd, _ in steps):
            blocks.append(steps)
    return blocks


BLOCKS = _blocks()


def test_the_readme_has_examples_to_check():
    assert len(BLOCKS) >= 8


@pytest.mark.parametrize("steps", BLOCKS, ids=[s[0][0][:60] for s in BLOCKS])
def test_readme_example_output_is_real(steps, tmp_path):
    (tmp_path / "examples").symlink_to(REPO / "examples")
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    for cmd, shown in steps:
        argv = shlex.split(cmd)
        if argv[0] == "cat":
            (tmp_path / argv[1]).write_text("\n".join(shown) + "\n")
            continue
        if not cmd.startswith(CHECKED):
            continue
        done = subprocess.run([sys.executable, "-m", "shapetrace", *argv[1:]], cwd=tmp_path, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)
        got = [line.rstrip() for line in done.stdout.rstrip("\n").splitlines()]
        assert got == [line.rstrip() for line in shown], f"README example differs: {cmd}"

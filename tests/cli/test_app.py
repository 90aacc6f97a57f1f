"""The CLI package: no import circle (issue 13 item 5), ``--version``, streams that cannot
encode every character (issue 14 item 2)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import shapetrace
from tests.cli_run import run

CLI = Path(shapetrace.__file__).parent / "cli"


def _imports_of(path: Path) -> set[str]:
    """The modules a file imports at any level, as absolute names."""
    pkg = "shapetrace.cli"
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = pkg.rsplit(".", node.level - 1)[0] if node.level else ""
            mod = ".".join(p for p in (base, node.module or "") if p)
            out.add(mod)
            out |= {f"{mod}.{a.name}" for a in node.names}
    return out


def test_no_command_module_imports_the_package_that_registers_it():
    for path in CLI.glob("*.py"):
        if path.name == "__init__.py":
            continue
        names = _imports_of(path)
        assert "shapetrace.cli" not in names and "shapetrace.cli.app" not in names, path.name
        if path.name != "application.py":
            assert "shapetrace.cli.application" not in names, f"{path.name} registers itself"


def test_version(capsys):
    code, out, err = run(["--version"], capsys)
    assert (code, out, err) == (0, f"shapetrace {shapetrace.__version__}\n", "")


def _cli(args, **env):
    return subprocess.run([sys.executable, "-m", "shapetrace", *args], capture_output=True,
                          env={**os.environ, **env}, timeout=120)


def test_a_stream_without_the_characters_gets_replacements_not_a_traceback():
    for enc, lang in (("ascii", "en"), ("latin-1", "ko")):
        done = _cli(["summary", "examples/seed.yaml", "--lang", lang], PYTHONIOENCODING=enc)
        assert done.returncode == 0 and b"Traceback" not in done.stderr, done.stderr.decode(enc)
        done.stdout.decode(enc)  # the stream's own encoding reads every byte
        assert b"23,299,584" in done.stdout
    # an error message with Korean words on an ascii stderr: one line, still no traceback
    done = _cli(["layer", "Conv2d", "--input", "1,1,4,4", "--lang", "ko", "kernel_size=9",
                 "out_channels=1"], PYTHONIOENCODING="ascii")
    lines = done.stderr.decode("ascii").splitlines()
    assert done.returncode == 1 and len(lines) == 1 and lines[0].startswith("error: "), lines


def test_a_closed_stdout_is_exit_141_without_a_word():
    for args in (["summary", "examples/seed.yaml", "--format", "json"],
                 ["layer", "Conv2d", "-i", "1,1,8,8", "out_channels=1", "kernel_size=3"]):
        p = subprocess.Popen([sys.executable, "-m", "shapetrace", *args], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        p.stdout.close()  # the reader is gone before the first byte
        assert p.wait(timeout=120) == 141
        assert p.stderr.read() == b""

"""Running the CLI in-process from a test, and checking its one-line errors."""

from __future__ import annotations

import pytest

from shapetrace.cli import main


def run(argv, capsys) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of ``shapetrace ARGV``; arguments may be paths or numbers."""
    with pytest.raises(SystemExit) as e:
        main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return e.value.code, out, err


def one_line_error(code: int, err: str, *needles: str) -> None:
    """Exit code 2 and exactly one stderr line, ``error: ...``, containing every needle."""
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for n in needles:
        assert n in lines[0], lines[0]

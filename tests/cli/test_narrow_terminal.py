"""A narrow terminal never cuts a number (issue 14 item 11: 40 columns showed `57,53` for
57,536): columns are left out, with a note that names them, and what still does not fit is
printed whole."""

from __future__ import annotations

import re
import sys

import pytest

from tests.cli_run import run

NUMBER = re.compile(r"\d[\d,]*")


def _terminal(monkeypatch, columns: int) -> None:
    monkeypatch.setenv("COLUMNS", str(columns))
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)


def _table_rows(text: str) -> list[str]:
    """The lines of the layer table (between the rule under the header and the totals)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if set(line.strip()) == {"─"})
    end = next(i for i, line in enumerate(lines) if line.startswith("Total params"))
    return lines[start + 1:end]


@pytest.mark.parametrize("columns", [30, 40, 52, 60, 100])
def test_every_number_in_a_narrow_terminal_is_whole(monkeypatch, capsys, columns):
    code, full, _ = run(["summary", "examples/seed.yaml"], capsys)  # a pipe: every column
    assert code == 0
    whole = {tuple(NUMBER.findall(line)) for line in _table_rows(full)}
    whole_numbers = {n for row in whole for n in row}
    _terminal(monkeypatch, columns)
    code, out, err = run(["summary", "examples/seed.yaml"], capsys)
    assert code == 0 and err == "", err
    rows = _table_rows(out)
    assert len(rows) == len(_table_rows(full))
    for line in rows:
        assert len(line.rstrip()) <= columns, line
        for n in NUMBER.findall(line.split(")")[-1]):  # the numbers right of the shapes
            assert n in whole_numbers, f"{n!r} is cut in {line!r}"
    assert "columns left out to fit" in out


def test_columns_the_user_asked_for_are_printed_whole_even_when_wider(monkeypatch, capsys):
    _terminal(monkeypatch, 40)
    code, out, _ = run(["summary", "examples/seed.yaml", "--columns", "layer,input,output,params,macs"], capsys)
    assert code == 0
    assert "11,239,424" in out and "23,299,584" in out and "(1, 32, 28, 28)" in out
    assert "left out" not in out

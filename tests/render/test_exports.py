"""CSV and Markdown as files people open: column sums are the totals (containers hold no
second copy of their children's MACs), a failing flow says so in the file, names cannot
run as a spreadsheet formula or as HTML (issue 12, item 11)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shapetrace import render
from shapetrace.core.records import Report, Row
from shapetrace.core.spec import flow, load_spec, parse_spec

EXAMPLES = Path(__file__).resolve().parents[2] / "src" / "shapetrace" / "examples"


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


@pytest.mark.parametrize("preset", ["seed", "resnet18"])
def test_every_csv_column_sums_to_its_total(preset: str) -> None:
    """Summed over every line (not only the leaves, as a spreadsheet user sums a column):
    ResNet-18's macs column summed to 2x the total when each block repeated its children's."""
    rep = flow(load_spec(EXAMPLES / f"{preset}.yaml"))
    rows = rows_of(render.csv(rep, explain=True))
    ints = lambda col: sum(int(x[col]) for x in rows if x[col])  # noqa: E731
    assert ints("macs") == rep.totals.macs
    assert ints("params") == rep.totals.params
    assert ints("output_bytes") == rep.totals.activation_bytes
    # the block's own total is still there, in its own column
    groups = [x for x in rows if x["group_macs"]]
    assert groups and all(x["macs"] == "" for x in groups)
    first = next(x for x in rows if x["kind"] == "Residual")
    i = rows.index(first)
    inside = [x for x in rows[i + 1:] if x["name"].startswith(first["name"] + ".")]
    assert int(first["group_macs"]) == sum(int(x["macs"] or 0) for x in inside)


def test_markdown_marks_a_blocks_macs_as_its_sum() -> None:
    rep = flow(load_spec(EXAMPLES / "seed.yaml"))
    md = render.markdown(rep)
    block = next(line for line in md.splitlines() if line.startswith("| resblock1 |"))
    leaf = next(line for line in md.splitlines() if line.startswith("| resblock1.conv1 |"))
    assert "| Σ 11,239,424 |" in block
    assert "Σ" not in leaf


def test_a_failing_flow_ends_its_csv_with_the_error() -> None:
    spec = load_spec(EXAMPLES / "seed.yaml").to_dict()
    spec["layers"][8]["in_features"] = 6272
    rep = flow(parse_spec(spec))
    assert rep.error is not None
    rows = rows_of(render.csv(rep))
    assert "error" in rows[0]
    last = rows[-1]
    assert last["error"].startswith("error: " + rep.error.message)
    assert "layer: fc1 (Linear)" in last["error"]
    assert all(f"fix: {f}" in last["error"] for f in rep.error.fixes)
    assert all(x["error"] == "" for x in rows[:-1])
    # a good flow has no error column
    assert "error" not in rows_of(render.csv(flow(load_spec(EXAMPLES / "seed.yaml"))))[0]


def _named(name: str) -> dict:
    return {"name": "m", "input": [1, 3], "layers": [{"type": "Linear", "name": name, "out_features": 2}]}


def _report(name: str) -> Report:
    """A one-row report named as given (a traced model's names are not checked as a spec's)."""
    return Report(model="m", input_shapes=[(1, 3)], rows=[
        Row(name=name, kind="Linear", depth=0, input_shapes=[(1, 3)], output_shapes=[(1, 2)])])


@pytest.mark.parametrize("name", ['=HYPERLINK("http://evil.example","x")', "+1+1", "-2+3", "@SUM(A1)",
                                  "\tx", "\rx"])
def test_csv_cells_never_start_a_formula(name: str) -> None:
    cell = rows_of(render.csv(_report(name)))[0]["name"]
    assert cell == "'" + name  # shown as text by Excel, LibreOffice and Google Sheets


@settings(max_examples=60)
@given(st.text(alphabet=st.sampled_from("=+-@\t\rabc<>&|'\"(),;1."), min_size=1, max_size=12))
def test_no_text_cell_starts_with_a_formula_character(name: str) -> None:
    for row in csv.reader(io.StringIO(render.csv(_report(name), explain=True), newline="")):
        for cell in row:
            assert not cell.startswith(("=", "+", "@", "\t", "\r")) or cell.startswith("'"), cell
            if cell.startswith("-"):
                assert all(ch in "-+0123456789.x" for ch in cell), cell  # a negative number


def test_markdown_leaves_no_html_in_names() -> None:
    md = render.markdown(flow(parse_spec(_named("<img/src/onerror=alert(1)>"))))
    assert "<img" not in md and "&lt;img/src/onerror=alert(1)>" in md
    md = render.markdown(flow(parse_spec(_named("a&lt;b"))))
    assert "a&amp;lt;b" in md  # shown as typed, not as "<"

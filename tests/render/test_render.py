"""Renderers: golden files for every format (``pytest --update-goldens`` rewrites them), the
seed's table reproduced from code, column sums equal to the totals, and the options."""

from __future__ import annotations

import csv
import io
import json
from functools import lru_cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import shapetrace
from shapetrace import render
from shapetrace.core.errors import ShapetraceError
from shapetrace.core.records import Report, Row, finish_totals, mark_leaves
from shapetrace.core.spec import flow, load_spec
from shapetrace.models import seed_verbatim as sv
from shapetrace.models.seed import CNNWithResidual
from shapetrace.render.fmt import shape_text
from shapetrace.render.options import Layout
from shapetrace.trace.fold import fold

from ..seed_table import SEED_TABLE
from ..trace.zoo import make

ROOT = Path(__file__).resolve().parents[2]



@lru_cache(maxsize=None)
def report(name: str) -> Report:
    if name == "seed":
        return shapetrace.summary(CNNWithResidual(), (1, 1, 28, 28), device="cpu")
    if name == "verbatim1":
        return shapetrace.summary(sv.CNNWithResidual(), (1, 1, 28, 28), device="cpu")
    if name == "verbatim49":
        return shapetrace.summary(sv.CNNWithResidual(), (49, 1, 28, 28), device="cpu")
    if name == "spec":
        return flow(load_spec(ROOT / "examples" / "seed.yaml"))
    model, kw, _ = make(name)
    return shapetrace.summary(model, device="cpu", **kw)


GOLDENS = [
    ("seed.table.txt", "seed", lambda r: render.table(r, width=200)),
    ("seed.hwc.ko.table.txt", "seed", lambda r: render.table(r, width=200, layout="hwc", lang="ko")),
    ("seed.md", "seed", lambda r: render.markdown(r)),
    ("seed.explain.ko.md", "seed", lambda r: render.markdown(r, explain=True, lang="ko", layout="hwc")),
    ("seed.flops.md", "seed", lambda r: render.markdown(r, flops=True, columns="layer,kind,output,macs")),
    ("seed.seed_table.ko.md", "seed", lambda r: render.markdown(r, layout="hwc", lang="ko", seed_table=True)),
    ("seed.seed_table.en.txt", "seed", lambda r: render.table(r, width=120, layout="hwc", seed_table=True)),
    ("seed.csv", "seed", lambda r: render.csv(r, explain=True)),
    ("seed.json", "seed", lambda r: render.json(r)),
    ("seed.seed_table.json", "seed", lambda r: render.json(r, seed_table=True, layout="hwc", lang="ko")),
    ("seed.html", "seed", lambda r: render.html(r, full_page=True)),
    ("seed_verbatim_b1.table.txt", "verbatim1", lambda r: render.table(r, width=200)),
    ("seed_verbatim_b1.ko.md", "verbatim1", lambda r: render.markdown(r, lang="ko", layout="hwc")),
    ("seed_verbatim_b1.html", "verbatim1", lambda r: render.html(r)),
    ("seed_verbatim_b49.seed_table.md", "verbatim49", lambda r: render.markdown(r, layout="hwc", seed_table=True)),
    ("spec_seed.md", "spec", lambda r: render.markdown(r, explain=True)),
    ("transformer.table.txt", "transformer", lambda r: render.table(r, width=200)),
    ("lstm.csv", "lstm", lambda r: render.csv(r, flops=True)),
    ("unet.hwc.md", "unet", lambda r: render.markdown(r, layout="hwc")),
]


@pytest.mark.parametrize("filename, name, fn", GOLDENS, ids=[g[0] for g in GOLDENS])
def test_golden(golden, filename: str, name: str, fn) -> None:
    golden(filename, fn(report(name)))


def test_the_seed_table_is_the_seeds() -> None:
    assert render.markdown(report("seed"), layout="hwc", lang="ko", seed_table=True) == SEED_TABLE
    # the spec of the same model groups into the same nine rows
    assert render.markdown(report("spec"), layout="hwc", lang="ko", seed_table=True) == SEED_TABLE


def test_the_seed_table_rule_is_general() -> None:
    """Other models group by the same rule: blocks with a shortcut add are Residual Blocks,
    activations join the layer before them, containers open up."""
    md = render.markdown(report("residual"), layout="hwc", seed_table=True)
    lines = md.splitlines()[2:]
    assert [line.split(" | ")[0].lstrip("| ") for line in lines] == [
        "Conv1 + BatchNorm + ReLU", "Residual Block 1", "Residual Block 2", "AdaptiveAvgPool", "Flatten", "fc1"]
    assert lines[1].endswith("| (16, 16, 16) | (16, 16, 16) | Residual Block (shortcut path) |")


@pytest.mark.parametrize("name", ["seed", "verbatim49", "transformer", "lstm", "densenet", "tied", "spec"])
def test_csv_columns_add_up_to_the_totals(name: str) -> None:
    r = report(name)
    rows = list(csv.DictReader(io.StringIO(render.csv(r))))
    depth = [int(x["depth"]) for x in rows]
    leaf = [not (i + 1 < len(depth) and depth[i + 1] > depth[i]) for i in range(len(depth))]
    assert sum(int(x["params"]) for x in rows) == r.totals.params
    assert sum(int(x["trainable_params"]) for x in rows) == r.totals.trainable_params
    assert sum(int(x["param_bytes"]) for x in rows) == r.totals.param_bytes
    assert sum(int(x["output_bytes"]) for x, lf in zip(rows, leaf) if lf) == r.totals.activation_bytes
    macs = [x["macs"] for x, lf in zip(rows, leaf) if lf]
    assert sum(int(m) for m in macs if m) == r.totals.macs
    assert ("" in macs) == r.totals.macs_partial


def test_json_is_the_contract() -> None:
    r = report("verbatim1")
    data = json.loads(render.json(r))
    assert set(data) >= {"rows", "totals", "warnings", "error"}
    assert Report.from_dict(data).to_dict() == r.to_dict()
    assert data["error"]["fixes"][1] == "fc1 = nn.Linear(1152, 512)"


def test_hwc_layout() -> None:
    assert shape_text((1, 32, 28, 28), Layout.HWC, 1) == "(28, 28, 32)"
    assert shape_text((1, 8, 4, 5, 6), Layout.HWC, 1) == "(4, 5, 6, 8)"
    assert shape_text((1, 1152), Layout.HWC, 1) == "(1152,)"
    assert shape_text((9, 6272), Layout.HWC, 49) == "(9, 6272)"  # not the batch: kept, visibly
    assert shape_text((1152,), Layout.NCHW, None, seed_style=True) == "(1152, )"


@pytest.mark.parametrize("shape,batch", [((1, 32, 28, 28), 1), ((1, 8, 4, 5, 6), 1), ((1, 1152), 1),
                                         ((9, 6272), 49), ((3, 4, 5), None), ((7,), 7), ((2, 3, 4, 5, 6, 7), 2)])
def test_a_formula_is_laid_out_as_its_shape(shape, batch) -> None:
    """``summary --symbolic``'s formulas and the shapes follow one hwc rule (fmt.laid_out)."""
    from shapetrace.render.sizes import formula_text

    parts = [str(d) for d in shape]  # a formula that is its own value
    for lay in Layout:
        assert formula_text(parts, shape, lay is Layout.HWC, batch) == shape_text(shape, lay, batch)


def test_korean_words() -> None:
    text = render.table(report("seed"), lang="ko", width=220)
    for word in ("특징 추출", "차원 축소", "단축 경로", "펼치기", "특징 결합", "라벨 분류", "총 파라미터"):
        assert word in text


def test_error_and_warning_are_rendered_in_every_format() -> None:
    for fmt in ("table", "markdown", "html", "csv", "json"):
        out = render.render(report("verbatim1"), fmt)
        if fmt != "csv":
            assert "nn.Linear(1152, 512)" in out, fmt
        out = render.render(report("verbatim49"), fmt)
        if fmt != "csv":
            assert "batch of 49 into 9" in out, fmt


def test_html_escapes_everything() -> None:
    r = Report(model="<script>x</script>", input_shapes=[(1, 2)], rows=[
        Row(name="a<b", kind="K&", depth=0, input_shapes=[(1, 2)], output_shapes=[(1, 2)])])
    out = render.html(r)
    assert "<script>x" not in out and "&lt;script&gt;" in out and "K&amp;" in out
    shown = render.repr_html(r)  # the notebook: the table and, beside it, the graph
    assert out in shown and "<svg" in shown and "<script>x" not in shown


@pytest.mark.parametrize("bad", [dict(layout="chw"), dict(lang="fr"), dict(columns="layer,size"), dict(columns=",")])
def test_bad_options_are_one_line_errors(bad) -> None:
    with pytest.raises(ShapetraceError) as e:
        render.markdown(report("seed"), **bad)
    assert "\n" not in str(e.value) and e.value.exit_code == 2
    with pytest.raises(ShapetraceError, match="format must be one of"):
        render.render(report("seed"), "pdf")


def test_fold_counts_depth_like_torchinfo_for_specs_and_models() -> None:
    """depth=1 keeps the model's direct children: for a traced model the root row and its
    children, for a spec (no root row) its top-level layers."""
    spec = fold(report("spec"), 1)
    assert {r.depth for r in spec.rows} == {0}
    assert [r.name for r in spec.rows][:4] == ["conv1", "relu", "pool", "resblock1"]
    assert sum(r.params for r in spec.rows) == report("spec").totals.params
    traced = fold(report("seed"), 1)
    assert {r.depth for r in traced.rows} == {0, 1}
    assert [r.name for r in traced.rows if r.depth == 1][:4] == ["conv1", "relu", "pool", "resblock1"]


@st.composite
def trees(draw):
    """Random pre-order rows: each depth at most one deeper than the row before."""
    n = draw(st.integers(1, 25))
    depths = [0]
    for _ in range(n - 1):
        depths.append(draw(st.integers(1, depths[-1] + 1)))
    rows = [Row(name=f"r{i}", kind="K", depth=d, input_shapes=[], output_shapes=[(1,)],
                params=draw(st.integers(0, 1000)), trainable_params=0,
                macs=draw(st.one_of(st.none(), st.integers(0, 10**6))),
                output_bytes=draw(st.integers(0, 100)), param_bytes=0) for i, d in enumerate(depths)]
    mark_leaves(rows)
    return rows


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(rows=trees(), depth=st.integers(0, 6))
def test_fold_keeps_params_and_macs(rows, depth) -> None:
    r = Report(model="m", input_shapes=[(1,)], rows=rows, totals=finish_totals(rows))
    f = fold(r, depth)
    assert all(x.depth <= depth for x in f.rows)
    assert sum(x.params for x in f.rows) == r.totals.params
    leaves = [x.macs for x in f.rows if x.leaf]
    if not r.totals.macs_partial:
        assert sum(leaves) == r.totals.macs
    else:
        assert None in leaves
    assert f.totals == r.totals

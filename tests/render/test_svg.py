"""The flow as a picture: edges of spec flows checked by hand, the SVG parsed back as XML
(one node per leaf row), its geometry checked (no node overlaps another, no edge crosses
a node, groups nest), folding, ×N for repeated blocks, the failing layer and what never
ran, both languages and layouts, and a golden SVG of the seed."""

from __future__ import annotations

from pathlib import Path
import xml.etree.ElementTree as ET

import pytest

from shapetrace import render
from shapetrace.core.records import Edge, Report
from shapetrace.core.spec import flow, load_spec
from shapetrace.trace.fold import fold

from .svg_geometry import NS, parse, problems

ROOT = Path(__file__).resolve().parents[2]


def spec(name: str) -> Report:
    return flow(load_spec(ROOT / "examples" / f"{name}.yaml"))


def edges_by_name(r: Report) -> set[tuple[str, str]]:
    def name(e):
        return e if isinstance(e, str) else r.rows[e].name
    return {(name(e.src), name(e.dst)) for e in r.edges}


def test_seed_spec_edges_by_hand() -> None:
    r = spec("seed")
    got = edges_by_name(r)
    # the residual add has two incoming edges: the body's last conv and the shortcut
    assert ("resblock1.conv2", "resblock1.add") in got and ("resblock1.shortcut", "resblock1.add") in got
    # both paths start from the block's input, the pool before it
    assert ("pool", "resblock1.conv1") in got and ("pool", "resblock1.shortcut") in got
    assert ("input:0", "conv1") in got and ("fc2", "output:0") in got
    assert ("resblock1.conv2", "resblock1.shortcut") not in got  # consecutive rows, no data flow
    assert len(got) == len(r.edges) == 24
    leaves = {i for i, row in enumerate(r.rows) if row.leaf}
    for e in r.edges:  # endpoints are leaf rows or the model's inputs/outputs
        for end in (e.src, e.dst):
            assert end in leaves or end in ("input:0", "output:0")
        if isinstance(e.dst, int):
            assert e.shape in [tuple(s) for s in r.rows[e.dst].input_shapes]
        if isinstance(e.src, int):
            assert e.shape == tuple(r.rows[e.src].output_shapes[0])


def test_identity_shortcut_concat_and_dense_skips() -> None:
    r = flow({"input": [1, 4, 8, 8], "layers": [
        {"type": "Conv2d", "name": "stem", "out_channels": 4, "kernel_size": 1},
        {"type": "Residual", "name": "res", "body": [{"type": "ReLU", "name": "act"}]},
        {"type": "Concat", "name": "cat3", "dim": 1, "branches": [
            [{"type": "Conv2d", "name": "a", "out_channels": 2, "kernel_size": 1}],
            [{"type": "Conv2d", "name": "b", "out_channels": 3, "kernel_size": 1}],
            []]},
        # DenseNet-style: each layer's input is the concat of the block input and its output
        {"type": "Concat", "name": "d1", "dim": 1, "branches": [[], [
            {"type": "Conv2d", "name": "c", "out_channels": 2, "kernel_size": 1}]]},
        {"type": "Concat", "name": "d2", "dim": 1, "branches": [[], [
            {"type": "Conv2d", "name": "c", "out_channels": 2, "kernel_size": 1}]]},
    ]})
    assert r.ok
    got = edges_by_name(r)
    assert {("stem", "res.act"), ("stem", "res.add"), ("res.act", "res.add")} <= got  # x + f(x)
    cat_in = [e for e in r.edges if isinstance(e.dst, int) and r.rows[e.dst].name == "cat3.cat"]
    assert sorted(r.rows[e.src].name for e in cat_in) == ["cat3.a", "cat3.b", "res.add"]  # one per branch
    assert ("cat3.cat", "d1.cat") in got and ("d1.c", "d1.cat") in got and ("cat3.cat", "d1.c") in got
    assert ("d1.cat", "d2.cat") in got and ("d2.cat", "output:0") in got


def test_failing_spec_marks_the_failure_and_what_never_ran() -> None:
    r = spec("seed-verbatim")
    assert not r.ok and r.error.row == "fc1"
    assert [r.rows[i].name for i in r.error_inputs] == ["flatten"]
    assert [(u.name, u.kind) for u in r.not_reached] == [("relu_fc1", "ReLU"), ("fc2", "Linear")]
    pic = parse(render.svg(r))
    assert "failed" in pic.classes["error"]
    assert all("unreached" in pic.classes[f"unreached:{k}"] for k in range(2))
    assert any(dst == "error" for _, dst, _, _ in pic.edges)
    assert not problems(pic)
    text = render.svg(r)
    assert "never ran" in text and "6272" in text  # the error's numbers are in the picture


def test_one_node_per_leaf_row_and_valid_xml() -> None:
    for name in ("seed", "resnet18", "vgg16"):
        r = spec(name)
        text = render.svg(r, collapse=False)
        root = ET.fromstring(text)
        assert root.tag == NS + "svg" and root.get("viewBox")
        pic = parse(text)
        rows = {k for k in pic.nodes if not k.startswith(("input", "output"))}
        assert rows == {str(i) for i, row in enumerate(r.rows) if row.leaf}, name
        assert len(pic.edges) == len({(e.src, e.dst, e.shape) for e in r.edges})
        assert not problems(pic), (name, problems(pic)[:3])


def test_repeated_blocks_collapse_and_fold() -> None:
    r = spec("resnet18")
    text = render.svg(r)
    pic = parse(text)
    assert not problems(pic)
    full = parse(render.svg(r, collapse=False))
    assert len(pic.nodes) < len(full.nodes)
    # resnet18's layer1 holds two identical residual blocks: drawn once, marked ×2
    assert "0 ×2" in text
    folded = render.svg(r, depth=1)
    fp = parse(folded)
    assert {"layer1", "layer4"} <= set(_labels(folded)) and not problems(fp)
    f = fold(r, 1)
    assert all(isinstance(e.src, str) or f.rows[e.src].leaf for e in f.edges)
    assert len(fp.edges) == len({(e.src, e.dst) for e in f.edges})


def _labels(text: str) -> list[str]:
    root = ET.fromstring(text)
    out = []
    for g in root.iter(NS + "g"):
        if g.get("class", "").startswith("n"):
            t = g.findall(NS + "text")[0]
            out.append("".join(t.itertext()).split()[0])
    return out


def test_languages_and_layouts() -> None:
    r = spec("seed")
    ko = render.svg(r, lang="ko", layout="hwc")
    assert "입력" in ko and "출력" in ko and "(28, 28, 32)" in ko and "(1, 32, 28, 28)" not in ko
    assert not problems(parse(ko))
    with pytest.raises(Exception, match="layout must be one of"):
        render.svg(r, layout="chw")


def test_names_are_escaped() -> None:
    r = flow({"input": [1, 3], "name": "<script>alert(1)</script>",
              "layers": [{"type": "Linear", "name": "a<b&c", "out_features": 2}]})
    text = render.svg(r)
    ET.fromstring(text)
    assert "<script>" not in text and "a&lt;b&amp;c" in text


def test_render_by_format_name() -> None:
    r = spec("seed")
    assert render.render(r, "svg") == render.svg(r)
    assert render.render(r, "svg", explain=True, layout="hwc") == render.svg(r, layout="hwc")


def test_edges_survive_json() -> None:
    r = spec("seed")
    d = r.to_dict()
    assert d["edges"][0] == {"src": "input:0", "dst": 0, "shape": [1, 1, 28, 28]}
    back = Report.from_dict(d)
    assert back.edges == r.edges and isinstance(back.edges[0], Edge)


def test_golden_seed_spec_svg(golden) -> None:
    golden("seed_spec.svg", render.svg(spec("seed")))


def test_the_geometry_check_finds_what_it_looks_for() -> None:
    """The checker must fail on a bad picture, or the tests above prove nothing."""
    bad = ('<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100">'
           '<g class="n" data-row="0"><rect x="10" y="10" width="40" height="20"/></g>'
           '<g class="n" data-row="1"><rect x="30" y="20" width="40" height="20"/></g>'
           '<g class="n" data-row="2"><rect x="10" y="60" width="40" height="20"/></g>'
           '<g class="edge" data-src="0" data-dst="1"><path d="M30,0 L30,95"/></g>'
           '<g class="g" data-row="3"><rect x="5" y="5" width="50" height="50"/></g>'
           '<g class="g" data-row="4"><rect x="40" y="40" width="70" height="30"/></g></svg>')
    found = " | ".join(problems(parse(bad)))
    assert "node 0 overlaps node 1" in found and "crosses node 2" in found
    assert "overlap without nesting" in found and "outside the picture" in found


def test_the_page_has_the_graphs_style() -> None:
    """The page's CSP refuses the SVG's inline <style>: static/convpic.css carries the same text."""
    from shapetrace.render.graph_svg import STYLE

    css = (ROOT / "src" / "shapetrace" / "web" / "static" / "convpic.css").read_text(encoding="utf-8")
    assert STYLE in css and f"<style>{STYLE}</style>" in render.svg(spec("seed"))


def test_characters_xml_cannot_hold_do_not_break_the_picture() -> None:
    """A name may hold control characters (a ModuleDict key is any string): the SVG stays XML."""
    for name in ["a\x01b", "\ufffe", "x\ud800", "\x00"]:
        r = flow({"input": [1, 3], "name": name, "layers": [{"type": "Linear", "name": name, "out_features": 2}]})
        text = render.svg(r)
        ET.fromstring(text.encode("utf-8", "surrogatepass").decode("utf-8", "replace"))
        assert "\ufffd" in text


@pytest.mark.parametrize("bad", [-1, "2", 2.5, True])
def test_a_bad_depth_is_one_clear_error(bad) -> None:
    from shapetrace.core.errors import ShapetraceError

    with pytest.raises(ShapetraceError, match="depth must be a whole number") as e:
        render.svg(spec("seed"), depth=bad)
    assert e.value.exit_code == 2

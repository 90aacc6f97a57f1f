"""What `shapetrace sizes` prints: the header, the constraints (the same in the text and
the JSON), call numbers for a module used more than once, many independent boxes."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from shapetrace.cli import app
from shapetrace.core.symbolic import analyze_spec
from shapetrace.models.seed_verbatim import CNNWithResidual as SeedVerbatim
from shapetrace.render.sizes import text
from shapetrace.trace.symbolic_probe import analyze_model

from . import zoo


def _constraint_lines(out: str) -> list[str]:
    lines = out.splitlines()
    start = next(i for i, t in enumerate(lines) if t.startswith("Constraints"))
    block = []
    for t in lines[start + 1:]:
        if not t.strip():
            break
        block.append(t.strip().split("  (")[0])
    return block


def test_text_and_json_list_the_same_constraints():
    res = analyze_model(SeedVerbatim().eval(), (1, 1, 28, 28))
    d = res.to_dict()
    assert all(set(c) == {"row", "text"} for c in d["constraints"])
    out = text(res, "seed-verbatim", (28, 28))
    assert _constraint_lines(out) == [c["text"] for c in d["constraints"]]
    assert out.splitlines()[0].startswith("Accepted sizes of H, W within 1..4096 for seed-verbatim")


def test_a_module_called_three_times_is_named_by_call():
    res = analyze_model(SeedVerbatim().eval(), (1, 1, 28, 28))
    names = [r["name"] for r in res.to_dict()["rows"]]
    assert [n for n in names if n.startswith("pool")] == ["pool (1st call)", "pool (2nd call)", "pool (3rd call)"]
    assert len(set(names)) == len(names)
    assert res.status((5, 30)).failed[0].text(res.names) == "pool (3rd call): ⌊H/8⌋ >= 1"


def test_independent_axes_with_many_boxes_print_per_axis(tmp_path):
    p = tmp_path / "unet.json"
    p.write_text(json.dumps(zoo.UNET_SPEC))
    r = CliRunner().invoke(app, ["sizes", str(p), "--max", "1024"])
    assert r.exit_code == 0, r.output
    assert "65,536 boxes" in r.stdout
    assert "H in 4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48; ... (256 intervals)" in r.stdout
    res = analyze_spec(zoo.UNET_SPEC, max_size=1024)
    assert res.contains((1024, 12)) and not res.contains((1022, 12))
    assert len(res.boxes) == 256 * 256


def test_largest_max_answers(tmp_path):
    r = CliRunner().invoke(app, ["sizes", "seed", "--max", "65536", "--format", "json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["accepted"] == [[[8, 15], [72, 79]], [[24, 31], [24, 31]], [[72, 79], [8, 15]]]

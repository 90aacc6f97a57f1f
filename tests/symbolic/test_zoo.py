"""The accepted set of small real models (and the same models as spec files) against a real
CPU forward at every size of a grid, exactly: a strided conv net with a Linear head, an
AdaptiveAvgPool net, a U-Net with skip concats, a transformer on token ids, a 1-D and a
3-D conv net. A spec's answer (torch-free) must equal its module's."""

from __future__ import annotations

import json

import pytest
import torch
from typer.testing import CliRunner

from shapetrace.cli import app
from shapetrace.core.symbolic import analyze_spec
from shapetrace.trace.symbolic_probe import analyze_model

from . import zoo
from .oracle import forward_accepts, grid, mismatches

# (model class, spec or None, example input, per-axis grid tops, step, sizes near box edges)
CASES = {
    "strided": (zoo.Strided, zoo.STRIDED_SPEC, (1, 1, 32, 32), (64, 64), 3, True),
    "adaptive": (zoo.Adaptive, zoo.ADAPTIVE_SPEC, (1, 1, 32, 32), (64, 64), 3, True),
    # every box edge is a multiple of 4; step 3 meets every residue mod 4 and 12
    "unet": (zoo.UNet, zoo.UNET_SPEC, (1, 1, 32, 32), (48, 48), 1, False),
    "conv1d": (zoo.Conv1dNet, zoo.CONV1D_SPEC, (1, 2, 64), (200,), 1, True),
    "conv3d": (zoo.Conv3dNet, zoo.CONV3D_SPEC, (1, 1, 5, 20, 24), (9, 40, 64), 4, True),
}


def _model(cls):
    torch.manual_seed(0)
    return cls().eval()


@pytest.mark.parametrize("name", sorted(CASES))
def test_module_matches_torch_on_grid(name):
    cls, _, shape, tops, step, near = CASES[name]
    model = _model(cls)
    res = analyze_model(model, shape, max_size=max(tops))
    assert res.exact and res.boxes
    points = grid(res, tops, step, near)
    assert mismatches(res, model, points) == []


@pytest.mark.parametrize("name", sorted(n for n in CASES if CASES[n][1] is not None))
def test_spec_answers_as_its_module(name, tmp_path):
    cls, spec, shape, tops, _, _ = CASES[name]
    res = analyze_model(_model(cls), shape, max_size=max(tops))
    from_spec = analyze_spec(spec, max_size=max(tops))
    assert from_spec.exact and from_spec.boxes == res.boxes
    # the CLI on the spec file (torch-free path) gives the same JSON boxes
    p = tmp_path / f"{name}.json"
    p.write_text(json.dumps(spec))
    r = CliRunner().invoke(app, ["sizes", str(p), "--max", str(max(tops)), "--format", "json"])
    assert r.exit_code in (0, 1), r.output
    assert json.loads(r.stdout)["accepted"] == [[list(iv) for iv in b] for b in res.boxes]


def test_unet_fails_at_the_cat():
    res = analyze_model(_model(zoo.UNet), (1, 1, 32, 32), max_size=48)
    st = res.status((30, 32))
    assert st.status.value == "raises" and st.failed[0].row.startswith("cat")
    assert not forward_accepts(_model(zoo.UNet), (1, 1, 32, 32), res.dims, (30, 32))


def test_token_transformer_sequence_axis():
    model = _model(zoo.TokenTransformer)
    res = analyze_model(model, (1, 16), max_size=64, dtype=torch.long)
    assert res.exact and res.names == ("T",) and res.dims == (1,)
    assert mismatches(res, model, [(t,) for t in range(1, 65)], torch.long) == []
    assert res.boxes == [((1, 40),)]  # the position table has 40 rows
    assert any("pos" in c["text"] and "40" in c["text"] for c in res.to_dict()["constraints"])


def test_unmodelled_op_is_probed_and_says_so():
    model = _model(zoo.LibraryEncoder)
    res = analyze_model(model, (1, 16), max_size=64, dtype=torch.long)
    d = res.to_dict()
    assert d["exact"] is False
    assert "TransformerEncoderLayer" in d["probed"]["op"]
    probed = d["probed"]["sizes"][0]
    assert 16 in probed and 64 in probed
    # at every probed size the answer is the real forward's; sizes between are not claimed
    for t in probed:
        assert res.contains((t,)) == forward_accepts(model, (1, 16), (1,), (t,), torch.long), t
    assert not res.contains((20,)) and 20 not in probed
    from shapetrace.render.sizes import text

    out = text(res, "LibraryEncoder", (16,))
    assert "NOT exact" in out and "TransformerEncoderLayer" in out and "16, 17" in out


def test_spec_with_an_unmodelled_layer_is_probed():
    """PixelUnshuffle needs sizes divisible by its factor, which no per-axis formula says:
    the spec is probed with the core's concrete flow (torch-free) and says so."""
    from shapetrace.core.spec import Spec, flow, parse_spec

    spec = parse_spec({"input": [1, 4, 16, 16], "layers": [
        {"type": "Conv2d", "out_channels": 4, "kernel_size": 3},
        {"type": "PixelUnshuffle", "downscale_factor": 2},
        {"type": "Flatten"}, {"type": "Linear", "in_features": 784, "out_features": 2}]})
    res = analyze_spec(spec, max_size=64)
    assert not res.exact and "PixelUnshuffle" in res.probed["op"]
    hs, ws = res.probed["sizes"]
    assert res.contains((16, 16))
    for h in hs:
        for w in ws:
            ok = flow(Spec((1, 4, h, w), spec.layers)).error is None
            assert res.contains((h, w)) == ok, (h, w)

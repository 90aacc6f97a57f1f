"""Spec block types are described once (``core.spec.BLOCK_TYPES``) and the spec tree is
walked once (``core.spec.walk``): the parser, ``to_dict`` and the flow's rows agree with
that description."""

from __future__ import annotations

import pytest

from shapetrace.core.errors import SpecError
from shapetrace.core.spec import BLOCK_TYPES, BLOCKS, FieldKind, flow, parse_spec, walk

RELU = {"type": "ReLU"}

NESTED = {"input": [1, 3, 8, 8], "layers": [
    {"type": "Conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1},
    {"type": "Residual", "name": "res", "body": [RELU, {"type": "Conv2d", "out_channels": 4, "kernel_size": 1}],
     "shortcut": [{"type": "Identity"}], "post": [RELU]},
    {"type": "Concat", "name": "cat", "branches": [
        [RELU], [{"type": "Sequential", "layers": [RELU, {"type": "Sequential", "name": "inner", "layers": [RELU]}]}]]},
    {"type": "Sequential", "name": "head", "layers": [{"type": "Flatten"}, {"type": "Linear", "out_features": 2}]},
]}


def minimal(block) -> dict:
    """The smallest spec item of this block type that parses, every field given."""
    item = {"type": block.type, "name": "b"}
    for f in block.fields:
        item[f.key] = {FieldKind.LAYERS: [RELU], FieldKind.BRANCHES: [[RELU], [RELU]], FieldKind.INT: 1}[f.kind]
    return item


def test_the_block_names_are_the_table():
    assert BLOCKS == tuple(BLOCK_TYPES) == ("Residual", "Concat", "Sequential")


@pytest.mark.parametrize("name", BLOCKS)
def test_each_block_round_trips_and_takes_exactly_its_keys(name):
    block = BLOCK_TYPES[name]
    spec = {"input": [1, 2, 4, 4], "layers": [minimal(block)]}
    parsed = parse_spec(spec)
    assert parsed.to_dict()["layers"] == spec["layers"]
    assert flow(parsed).error is None
    with pytest.raises(SpecError) as info:
        parse_spec({"input": [1, 2, 4, 4], "layers": [{**minimal(block), "extra": 1}]})
    assert f"(takes: {', '.join(sorted(block.keys))})" in str(info.value)
    for f in block.fields:
        if f.required:
            item = {k: v for k, v in minimal(block).items() if k != f.key}
            with pytest.raises(SpecError, match=f.key):
                parse_spec({"input": [1, 2, 4, 4], "layers": [item]})


def test_walk_gives_the_flow_rows_in_order():
    spec = parse_spec(NESTED)
    report = flow(spec)
    assert report.error is None
    assert [(p.qual, p.kind, p.depth) for p in walk(spec.layers)] == \
        [(r.name, r.kind, r.depth) for r in report.rows]


def test_walk_paths_point_at_the_layers_in_the_spec():
    spec = parse_spec(NESTED)
    for p in walk(spec.layers):
        if p.node is None:
            assert p.kind in ("add", "cat") and p.path == ()
            continue
        item: object = NESTED
        for step in p.path:
            item = item[step]  # type: ignore[index]
        assert item["type"] == p.kind


def test_rows_after_a_failure_are_the_rest_of_the_walk():
    data = {**NESTED, "layers": NESTED["layers"][:2] + [{"type": "Linear", "in_features": 7, "out_features": 2}]
            + NESTED["layers"][2:]}
    spec = parse_spec(data)
    report = flow(spec)
    assert report.error is not None and report.error.row == "2"
    names = [p.qual for p in walk(spec.layers)]
    assert [u.name for u in report.not_reached] == names[names.index("2") + 1:]

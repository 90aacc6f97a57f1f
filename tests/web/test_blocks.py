"""The spec's block types are described once, in Python (core.spec.BLOCK_TYPES), and served
to the page (GET /blocks.js): the editor's BLOCKS are built from them (issue 13 item 2)."""

from __future__ import annotations

import json

from shapetrace.core.spec import BLOCK_TYPES, FieldKind
from shapetrace.web.app import STATIC
from shapetrace.web.schema import block_table

from .test_browser import open_page

PREFIX = "window.shapetraceBlocks = "


def _served(client) -> list[dict]:
    r = client.get("/blocks.js")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/javascript")
    text = r.text.strip()
    assert text.startswith(PREFIX) and text.endswith(";")
    return json.loads(text[len(PREFIX):-1])


def test_the_page_gets_every_block_type_with_its_fields(client):
    served = _served(client)
    assert served == block_table()
    assert [b["type"] for b in served] == list(BLOCK_TYPES)
    for b in served:
        fields = BLOCK_TYPES[b["type"]].fields
        assert [f["key"] for f in b["fields"]] == [f.key for f in fields]
        assert [f["kind"] for f in b["fields"]] == [f.kind.value for f in fields]


def test_the_editor_builds_its_blocks_from_the_served_types(page, live_server):
    open_page(page, live_server.url)
    got = page.evaluate("""() => Object.fromEntries(Object.entries(window.shapetraceWords.BLOCKS)
        .map(([k, b]) => [k, {sections: b.sections, nested: !!b.nested, made: b.make()}]))""")
    assert list(got) == list(BLOCK_TYPES)
    for name, block in BLOCK_TYPES.items():
        lists = [f for f in block.fields if f.kind is not FieldKind.INT]
        assert got[name]["sections"] == [f.key for f in lists]
        assert got[name]["nested"] == any(f.kind is FieldKind.BRANCHES for f in block.fields)
    assert got["Concat"]["made"] == {"type": "Concat", "dim": 1, "branches": [[], []]}
    assert got["Residual"]["made"] == {"type": "Residual", "body": [], "shortcut": [], "post": []}
    assert got["Sequential"]["made"] == {"type": "Sequential", "layers": []}


def test_the_served_table_says_which_fields_are_always_sent_and_the_defaults(client):
    for b in _served(client):
        fields = BLOCK_TYPES[b["type"]].fields
        assert [f["always"] for f in b["fields"]] == [f.always for f in fields]
        assert [f["default"] for f in b["fields"]] == [f.default for f in fields]


def test_the_page_knows_no_block_type_by_name_in_what_it_sends():
    """The spec the page sends is tidied from the served table (BLOCKS), not from the names
    of the block types; Concat's dim default is the served one too."""
    state_js = (STATIC / "state.js").read_text(encoding="utf-8")
    for name in BLOCK_TYPES:
        assert f'"{name}"' not in state_js, name
    editor_js = (STATIC / "editor.js").read_text(encoding="utf-8")
    assert "?? 1" not in editor_js




def _block(type_: str, inner: str | None) -> dict:
    """A block whose required sections hold a layer (or, with ``inner``, that block type
    with its optional sections empty) and whose optional sections are empty."""
    node: dict = {"type": type_}
    for f in BLOCK_TYPES[type_].fields:
        content = [_block(inner, None)] if inner else [{"type": "ReLU"}]
        if f.kind is FieldKind.INT:
            node[f.key] = f.default
        elif f.kind is FieldKind.BRANCHES:
            node[f.key] = [content, [] if not f.required else content]
        else:
            node[f.key] = content if f.required else []
    return node


def test_the_page_sends_each_block_as_the_server_writes_it(page, live_server):
    """specForServer drops the empty sections that Spec.to_dict drops (Residual's shortcut and
    post), at every depth, and keeps the rest: for every block type, alone and holding every
    other, the page sends what the server's parser reads back unchanged."""
    from shapetrace.core.spec import parse_spec

    open_page(page, live_server.url)
    layers = [_block(t, None) for t in BLOCK_TYPES] + [_block(t, u) for t in BLOCK_TYPES
                                                      for u in BLOCK_TYPES]
    spec = {"name": "blocks", "input": [1, 3, 8, 8], "layers": layers}
    send = """async (spec) => {
        const m = await import("/static/state.js");
        const kept = m.state.spec;
        m.state.spec = spec;
        try { return m.specForServer(); } finally { m.state.spec = kept; }
    }"""
    sent = page.evaluate(send, spec)
    assert sent == parse_spec(sent, source="spec").to_dict()
    assert sent["layers"] != layers  # empty optional sections were there to drop
    # a required section left empty is sent (the server's message names it)
    empty = {"name": "m", "input": [1, 3, 8, 8], "layers": [
        {"type": "Residual", "body": [], "shortcut": [], "post": []},
        {"type": "Sequential", "layers": [{"type": "Concat", "branches": [[], []]}]}]}
    assert page.evaluate(send, empty)["layers"] == [
        {"type": "Residual", "body": []},
        {"type": "Sequential", "layers": [{"type": "Concat", "branches": [[], []]}]}]


def test_the_kinds_table_takes_the_block_types_from_the_spec_tree():
    """core/kinds.py describes each spec block by its BLOCK_TYPES entry, not from a list of
    its own: a block's category follows from its op row."""
    from shapetrace.core import kinds
    from shapetrace.core.records import Category

    by_hand = {k for ks in kinds._OTHER.values() for k in ks}
    assert not by_hand & set(BLOCK_TYPES), sorted(by_hand & set(BLOCK_TYPES))
    assert {t: kinds.category(t) for t in BLOCK_TYPES} == {
        "Residual": Category.RESIDUAL, "Concat": Category.CONCAT, "Sequential": Category.BLOCK}

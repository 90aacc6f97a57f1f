"""The spec's block types are described once, in Python (core.spec.BLOCK_TYPES), and served
to the page (GET /blocks.js): the editor's BLOCKS are built from them (issue 13 item 2)."""

from __future__ import annotations

import json

from shapetrace.core.spec import BLOCK_TYPES, FieldKind
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

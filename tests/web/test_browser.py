"""The page in a real browser (headless Debian Chromium, driven by playwright).

Builds the seed's model through the UI, checks every shape shown against the core,
breaks it and checks the highlight, round-trips a share URL, and saves screenshots
under artifacts/web/.
"""

from __future__ import annotations

import json

import pytest

from shapetrace.core.words import note_text
from shapetrace.core.spec import flow, load_spec, parse_spec
from shapetrace.render.fmt import shape_text
from shapetrace.render.options import Layout

from .conftest import EXAMPLES

SETTLED = ":not([data-state=computing]):not([data-state=loading])"


def spec_dict(name: str) -> dict:
    return load_spec(EXAMPLES / f"{name}.yaml").to_dict()


# ---------------------------------------------------------------- helpers


def rev(page) -> str:
    return page.get_attribute("body", "data-rev") or "0"


def settle(page, before: str) -> str:
    """Wait until the table was redrawn after ``before`` and no request is in flight."""
    page.wait_for_selector(f'body[data-rev]:not([data-rev="{before}"]){SETTLED}', timeout=15_000)
    return page.get_attribute("body", "data-state")


def edit(page, action) -> str:
    """Do ``action`` (an edit) and wait for the table it causes; return the page state."""
    before = rev(page)
    action()
    return settle(page, before)


def open_page(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector(f"body[data-rev]{SETTLED}", timeout=20_000)


def top(page):
    return page.locator("#stack-root > ol.stack.top")


def card_of(stack, index: int):
    return stack.locator(":scope > li.card").nth(index)


def add(page, stack, type_: str, name: str | None = None, **args):
    """Add a layer at the end of ``stack`` through its add bar, then fill its fields."""
    bar = stack.locator(":scope > li.add-bar")
    bar.locator("select").focus()  # its options are made when it is used
    bar.locator("select").select_option(type_)
    n = stack.locator(":scope > li.card").count()
    edit(page, lambda: bar.locator("button.add").click())
    card = card_of(stack, n)
    assert card.get_attribute("data-type") == type_

    def fill() -> None:  # several fields, one wait: the page drops answers to older edits
        if name:
            card.locator(":scope > .card-head input.name").fill(name)
        for key, value in args.items():
            card.locator(f':scope > .args input[aria-label="{key}"]').fill(str(value))

    if name or args:
        edit(page, fill)
    return card


def section(card, name: str):
    return card.locator(f":scope > .sec-{name} > ol.stack")


def shown_rows(page) -> dict[str, dict[str, str]]:
    """The table as shown: row name -> its cells' text (read in one call into the page)."""
    rows = page.locator("#flow-body > tr.row:not(.error-row)").evaluate_all("""trs => trs.map(tr => {
        const text = (sel) => { const e = tr.querySelector(sel); return e ? e.innerText : ""; };
        return [tr.dataset.qual, {
            kind: text(".r-kind"),
            in: [...tr.querySelectorAll("td.c-shape.in > div")].map(d => d.innerText).join(" + "),
            out: text("td.c-shape.out"), params: text("td.params"), rf: text("td.c-rf .rf-size")}];
    })""")
    return dict(rows)


def assert_clean_text(page) -> None:
    """No JavaScript value leaked into the page as text."""
    text = page.inner_text("body")
    for leak in ("null", "undefined", "NaN", "[object"):
        assert leak not in text, leak


def _in_view(page, locator) -> bool:
    """The element is inside the editor panel's visible area."""
    box = locator.bounding_box()
    panel = page.locator("#editor").bounding_box()
    return box is not None and box["y"] >= panel["y"] - 1 and box["y"] < panel["y"] + panel["height"]


def exported_spec(page) -> dict:
    with page.expect_download() as dl:
        page.click("#export-json")
    return json.loads(open(dl.value.path(), encoding="utf-8").read())


def expected_cells(spec: dict, layout: Layout) -> dict[str, dict[str, str]]:
    """What the page must show for ``spec``, computed by the core and shapetrace.render."""
    rep = flow(parse_spec(spec))
    batch = rep.input_shapes[0][0] if len(rep.input_shapes[0]) >= 2 else None
    cells = {}
    for r in rep.rows:
        cells[r.name] = {
            "kind": r.kind,
            "in": " + ".join(shape_text(s, layout, batch) for s in r.input_shapes),
            "out": ", ".join(shape_text(s, layout, batch) for s in r.output_shapes),
            "params": f"{r.params:,}" if r.params else "",
            "rf": "" if r.receptive_field is None else (
                f"{r.receptive_field.size[0]}×{r.receptive_field.size[0]}"
                if len(set(r.receptive_field.size)) == 1 and len(r.receptive_field.size) > 1
                else "×".join(map(str, r.receptive_field.size))),
        }
    return cells


# ---------------------------------------------------------------- tests


def test_build_the_seed_model_through_the_ui(page, live_server, artifacts):
    open_page(page, live_server.url)
    edit(page, lambda: page.select_option("#preset", "__empty"))
    assert page.locator("#flow-body > tr").count() == 0
    assert_clean_text(page)
    edit(page, lambda: page.fill("#model-name", "seed"))
    edit(page, lambda: page.fill("#input-shape", "1, 1, 28, 28"))

    stack = top(page)
    add(page, stack, "Conv2d", "conv1", out_channels=32, kernel_size=3, padding=1)
    add(page, stack, "ReLU", "relu")
    add(page, stack, "MaxPool2d", "pool", kernel_size=2, stride=2)
    for i, (c, pool) in enumerate([(64, "pool2"), (128, "pool3")], start=1):
        res = add(page, stack, "Residual", f"resblock{i}")
        body = section(res, "body")
        add(page, body, "Conv2d", "conv1", out_channels=c, kernel_size=3, padding=1)
        add(page, body, "ReLU", "relu")
        add(page, body, "Conv2d", "conv2", out_channels=c, kernel_size=3, padding=1)
        add(page, section(res, "shortcut"), "Conv2d", "shortcut", out_channels=c, kernel_size=1)
        add(page, section(res, "post"), "ReLU", "relu_out")
        add(page, stack, "MaxPool2d", pool, kernel_size=2, stride=2)
    add(page, stack, "Flatten", "flatten")
    add(page, stack, "Linear", "fc1", out_features=512)
    add(page, stack, "ReLU", "relu_fc1")
    add(page, stack, "Linear", "fc2", out_features=10)

    assert page.get_attribute("body", "data-state") == "ok"
    # The spec built by hand is the shipped seed.yaml, key for key.
    assert exported_spec(page) == spec_dict("seed")
    # Every row shown is what the core computes: shapes, params, receptive field.
    assert shown_rows(page) == expected_cells(spec_dict("seed"), Layout.NCHW)
    rows = shown_rows(page)
    assert rows["conv1"]["out"] == "(1, 32, 28, 28)"
    assert rows["resblock1"]["out"] == "(1, 64, 14, 14)"
    assert rows["pool3"]["out"] == "(1, 128, 3, 3)"
    assert rows["flatten"]["out"] == "(1, 1152)"
    assert rows["fc2"]["out"] == "(1, 10)"
    assert page.inner_text('#totals [data-total="params"] dd') == "883,082"
    # Each card shows its own output shape as well.
    fc1 = card_of(top(page), 8)
    assert fc1.locator(".out-shape").inner_text() == "→ (1, 512)"
    # The worked formula of conv1, as the core writes it.
    detail = page.locator('#flow-body > tr.detail[data-qual="conv1"]').inner_text()
    assert "H_out, W_out = floor((28 + 2*1 - 1*(3-1) - 1) / 1) + 1 = 28" in detail
    page.screenshot(path=str(artifacts / "seed_built.png"), full_page=True)

    # The seed's own layout, (H, W, C) without the batch: its table's sizes.
    edit(page, lambda: page.click('#layout-toggle button[data-layout="hwc"]'))
    rows = shown_rows(page)
    assert rows == expected_cells(spec_dict("seed"), Layout.HWC)
    seed_table = {"conv1": "(28, 28, 32)", "pool": "(14, 14, 32)", "resblock1": "(14, 14, 64)",
                  "pool2": "(7, 7, 64)", "resblock2": "(7, 7, 128)", "pool3": "(3, 3, 128)",
                  "flatten": "(1152,)", "fc1": "(512,)", "fc2": "(10,)"}
    assert {k: rows[k]["out"] for k in seed_table} == seed_table
    assert rows["conv1"]["in"] == "(28, 28, 1)"
    page.screenshot(path=str(artifacts / "seed_hwc.png"), full_page=True)


def test_error_is_highlighted_with_message_and_fix(page, live_server, artifacts, client):
    open_page(page, live_server.url)
    assert page.input_value("#preset") == "seed"
    stack = top(page)
    fc1 = card_of(stack, 8)
    assert fc1.locator(".card-head input.name").input_value() == "fc1"
    # The seed's bug: nn.Linear(128 * 7 * 7, 512) after a (3, 3) map.
    state = edit(page, lambda: fc1.locator('input[aria-label="in_features"]').fill("6272"))
    assert state == "error"
    spec = spec_dict("seed")
    spec["layers"][8]["in_features"] = 6272
    err = client.post("/api/flow", json=spec).json()["error"]
    assert err["row"] == "fc1"
    # The failing card is marked, with the core's message and fix; later cards are dimmed.
    assert "error" in fc1.get_attribute("class")
    assert fc1.locator(".card-error .err-msg").inner_text() == err["message"]
    assert err["fixes"][0] in fc1.locator(".card-error").inner_text()
    assert "after-error" in card_of(stack, 10).get_attribute("class")  # fc2
    assert page.locator(".card.error").count() == 1
    # The table stops at the failing layer with an error row; the banner names it.
    err_row = page.locator("#flow-body > tr.error-row")
    assert err_row.get_attribute("data-qual") == "fc1"
    assert err["message"] in err_row.inner_text()
    assert page.locator("#flow-body > tr.row:not(.error-row)").last.get_attribute("data-qual") == "flatten"
    assert page.inner_text("#status .err-row") == "fc1"
    assert err["fixes"][0] in page.inner_text("#status")
    assert page.locator(".totals-note").count() == 1
    # "show" brings the failing card into view, scrolling the editor panel, not the page.
    page.evaluate("window.scrollTo(0, 0)")
    page.locator("#editor").evaluate("e => { e.scrollTop = 0; }")
    assert not _in_view(page, fc1)
    page.click("#status button.link")
    fc1.locator(".card-error").wait_for(state="visible")
    page.wait_for_timeout(400)  # the smooth scroll
    assert fc1.is_visible() and _in_view(page, fc1)
    assert page.evaluate("window.scrollY") == 0  # the editor panel scrolled, not the page
    assert "bad" in fc1.locator('.arg:has(input[aria-label="in_features"])').get_attribute("class")
    page.screenshot(path=str(artifacts / "error_fc1.png"))
    assert_clean_text(page)

    # Fixing it clears the highlight.
    assert edit(page, lambda: fc1.locator('input[aria-label="in_features"]').fill("1152")) == "ok"
    assert page.locator(".card.error, .card.after-error, tr.error-row").count() == 0

    # A residual whose shortcut is removed: the add fails, the block is highlighted.
    res1 = card_of(stack, 3)
    shortcut = section(res1, "shortcut")
    state = edit(page, lambda: card_of(shortcut, 0).locator("button.remove").click())
    assert state == "error"
    assert page.get_attribute("#flow-body > tr.error-row", "data-qual") == "resblock1.add"
    assert "error" in card_of(top(page), 3).get_attribute("class")
    assert "Conv2d(32, 64" in page.inner_text("#status")
    page.click("#status button.link")
    page.wait_for_timeout(400)
    page.screenshot(path=str(artifacts / "error_residual.png"))


def test_spec_errors_name_the_field(page, live_server):
    open_page(page, live_server.url)
    conv1 = card_of(top(page), 0)
    state = edit(page, lambda: conv1.locator(".card-head input.name").fill("conv 1"))
    assert state == "spec-error"
    assert "name" in page.inner_text("#status .status-msg")
    assert "error" in conv1.get_attribute("class")
    assert edit(page, lambda: conv1.locator(".card-head input.name").fill("conv1")) == "ok"
    state = edit(page, lambda: page.fill("#input-shape", "1, 1, 28, x"))
    assert state == "spec-error" and "input" in page.inner_text("#status .status-msg")
    assert_clean_text(page)


def test_a_broken_share_link_falls_back(page, live_server):
    open_page(page, live_server.url + "#s=bm90IGRlZmxhdGU")
    assert page.input_value("#preset") == "seed" and page.get_attribute("body", "data-state") == "ok"
    assert "share link" in page.inner_text("#toast")


def test_reorder_remove_duplicate(page, live_server):
    open_page(page, live_server.url)
    stack = top(page)
    edit(page, lambda: card_of(stack, 0).locator("button.down").click())
    assert [tr.get_attribute("data-qual") for tr in page.locator("#flow-body > tr.row").all()[:2]] == ["relu", "conv1"]
    assert shown_rows(page)["relu"]["out"] == "(1, 1, 28, 28)"
    edit(page, lambda: card_of(stack, 1).locator("button.up").click())
    assert exported_spec(page) == spec_dict("seed")
    # Remove pool3: fc1 then reads 128 * 7 * 7 = 6272 features (in_features is inferred).
    edit(page, lambda: card_of(stack, 6).locator("button.remove").click())
    assert shown_rows(page)["fc1"]["params"] == f"{6272 * 512 + 512:,}"
    # Duplicate relu: the copy gets a fresh name.
    edit(page, lambda: card_of(stack, 1).locator("button.dup").click())
    assert card_of(stack, 2).locator(".card-head input.name").input_value() == "relu_2"
    assert "relu_2" in shown_rows(page)


def test_concat_block(page, live_server):
    open_page(page, live_server.url)
    edit(page, lambda: page.select_option("#preset", "__empty"))
    edit(page, lambda: page.fill("#input-shape", "1, 3, 32, 32"))
    cat = add(page, top(page), "Concat", "mix")
    branches = cat.locator(":scope > .sec-branch > ol.stack")
    add(page, branches.nth(0), "Conv2d", "a", out_channels=8, kernel_size=1)
    add(page, branches.nth(1), "Conv2d", "b", out_channels=16, kernel_size=3, padding=1)
    edit(page, lambda: cat.locator("button.add-branch").click())
    add(page, cat.locator(":scope > .sec-branch > ol.stack").nth(2), "MaxPool2d", "c", kernel_size=3,
        stride=1, padding=1)
    rows = shown_rows(page)
    assert rows["mix.cat"]["out"] == "(1, 27, 32, 32)"
    assert rows["mix.cat"]["in"] == "(1, 8, 32, 32) + (1, 16, 32, 32) + (1, 3, 32, 32)"
    assert rows == expected_cells(exported_spec(page), Layout.NCHW)


def test_share_url_restores_the_whole_state(page, browser, live_server, artifacts):
    open_page(page, live_server.url)
    conv1 = card_of(top(page), 0)
    edit(page, lambda: conv1.locator('input[aria-label="out_channels"]').fill("16"))
    edit(page, lambda: conv1.locator('input[aria-label="kernel_size"]').fill("(5, 3)"))
    edit(page, lambda: page.click('#layout-toggle button[data-layout="hwc"]'))
    edit(page, lambda: page.click('#lang-toggle button[data-lang="ko"]'))
    spec = exported_spec(page)
    assert spec["layers"][0]["out_channels"] == 16 and spec["layers"][0]["kernel_size"] == [5, 3]
    page.click("#share")
    page.wait_for_selector("#share-url:not([hidden])")
    url = page.input_value("#share-url")
    assert url.startswith(live_server.url + "#s=")
    table = page.inner_text("#flow")

    other = browser.new_context(viewport={"width": 1440, "height": 960}, accept_downloads=True)
    try:
        fresh = other.new_page()
        open_page(fresh, url)
        assert exported_spec(fresh) == spec
        assert fresh.get_attribute("html", "lang") == "ko"
        assert fresh.get_attribute('#layout-toggle button[data-layout="hwc"]', "aria-pressed") == "true"
        assert fresh.inner_text("#flow") == table
        assert card_of(top(fresh), 0).locator('input[aria-label="kernel_size"]').input_value() == "(5, 3)"
        fresh.screenshot(path=str(artifacts / "share_restored_ko.png"), full_page=True)
    finally:
        other.close()


def test_korean_notes_are_the_cores(page, live_server):
    open_page(page, live_server.url)
    edit(page, lambda: page.click('#lang-toggle button[data-lang="ko"]'))
    assert page.inner_text("#results-title") == "흐름"
    rep = flow(load_spec(EXAMPLES / "seed.yaml"))
    pool3 = next(r for r in rep.rows if r.name == "pool3")
    assert pool3.notes
    shown = page.locator('#flow-body > tr.detail[data-qual="pool3"] .note').all_inner_texts()
    assert shown == [note_text(n.key, n.args, "ko") for n in pool3.notes]


@pytest.mark.parametrize("preset, out, params", [("resnet18", "(1, 1000)", "11,689,512"),
                                                 ("vgg16", "(1, 1000)", "138,357,544")])
def test_presets(page, live_server, artifacts, preset, out, params):
    open_page(page, live_server.url)
    assert edit(page, lambda: page.select_option("#preset", preset)) == "ok"
    assert page.inner_text("#status .final-shape") == out
    assert page.inner_text('#totals [data-total="params"] dd') == params
    assert shown_rows(page) == expected_cells(spec_dict(preset), Layout.NCHW)
    page.screenshot(path=str(artifacts / f"preset_{preset}.png"), full_page=True)


def test_import_and_export_files(page, live_server, tmp_path):
    from shapetrace import render

    open_page(page, live_server.url)
    before = rev(page)
    page.set_input_files("#file-input", str(EXAMPLES / "vgg16.yaml"))
    settle(page, before)
    assert page.input_value("#model-name") == "vgg16"
    assert exported_spec(page) == spec_dict("vgg16")
    with page.expect_download() as dl:
        page.click("#export-yaml")
    saved = tmp_path / "saved.yaml"
    saved.write_bytes(open(dl.value.path(), "rb").read())
    assert load_spec(saved).to_dict() == spec_dict("vgg16")
    assert dl.value.suggested_filename == "vgg16.yaml"
    for button, fmt in (("#export-md", "markdown"), ("#export-csv", "csv")):
        with page.expect_download() as dl:
            page.click(button)
        text = open(dl.value.path(), encoding="utf-8").read()
        assert text == render.render(flow(load_spec(EXAMPLES / "vgg16.yaml")), fmt, explain=True)
    # Pasted text that is not a spec: the dialog says why and keeps the model.
    page.click("#import-paste")
    page.fill("#paste-text", "input: [1, 8]\nlayers: [{type: Relu}]")
    page.click("#paste-load")
    page.wait_for_selector("#paste-error:not([hidden])")
    assert "unknown layer type 'Relu'" in page.inner_text("#paste-error")
    page.fill("#paste-text", json.dumps(spec_dict("seed")))
    before = rev(page)
    page.click("#paste-load")
    settle(page, before)
    assert page.input_value("#model-name") == "seed"


FIELD_CASES = [
    ("Conv2d", "kernel_size", "3,3", [3, 3]), ("Conv2d", "kernel_size", "(3, 5)", [3, 5]),
    ("Conv2d", "kernel_size", "[1, 3]", [1, 3]), ("Conv2d", "kernel_size", "(3,)", [3]),
    ("Conv2d", "padding", "same", "same"), ("Conv2d", "padding", "'valid'", "valid"),
    ("Conv2d", "bias", "false", False), ("Conv2d", "bias", "True", True),
    ("Conv2d", "stride", "2", 2), ("Conv2d", "padding", "-1", -1),
    ("Conv2d", "padding_mode", "zeros", "zeros"), ("Conv2d", "groups", "none", None),
    ("MaxPool2d", "ceil_mode", "true", True), ("Dropout", "p", "0.25", 0.25),
    ("AdaptiveAvgPool2d", "output_size", "(None, 7)", [None, 7]),
]


def test_fields_read_values_like_the_cli(page, live_server):
    """What one types in a field is read as `shapetrace layer ... key=value` reads it (the CLI
    keeps None inside a tuple as the string 'None'; the page reads it as None, as torch means)."""
    from shapetrace.cli._common import parse_value

    def plain(v):
        return [plain(x) for x in v] if isinstance(v, (tuple, list)) else v

    open_page(page, live_server.url)
    edit(page, lambda: page.select_option("#preset", "__empty"))
    required = {"Conv2d": {"out_channels": 4, "kernel_size": 3}, "MaxPool2d": {"kernel_size": 2},
                "AdaptiveAvgPool2d": {"output_size": 7}}
    cards = {}
    for layer, arg, typed, value in FIELD_CASES:
        if layer not in cards:
            cards[layer] = add(page, top(page), layer, **required.get(layer, {}))
            if cards[layer].locator("button.more-args").count():
                cards[layer].locator("button.more-args").click()  # all arguments; no request
        index = list(cards).index(layer)
        edit(page, lambda: cards[layer].locator(f'.args input[aria-label="{arg}"]').fill(typed))
        assert exported_spec(page)["layers"][index][arg] == value, (layer, arg, typed)
        if "None" not in typed:
            assert plain(parse_value(typed)) == value, typed


def test_a_3d_receptive_field_shows_every_dimension(page, live_server):
    """The receptive-field cell shows every spatial size (a 3x3x3 field was shown as 3x3)."""
    spec = {"name": "volume", "input": [1, 1, 8, 8, 8], "layers": [
        {"type": "Conv3d", "name": "cube", "out_channels": 2, "kernel_size": 3},
        {"type": "Conv3d", "name": "slab", "out_channels": 2, "kernel_size": [3, 1, 1]}]}
    expected = {r.name: "×".join(str(s) for s in r.receptive_field.size)
                for r in flow(parse_spec(spec)).rows}
    assert expected == {"cube": "3×3×3", "slab": "5×3×3"}
    open_page(page, live_server.url)
    page.click("#import-paste")
    page.fill("#paste-text", json.dumps(spec))
    before = rev(page)
    page.click("#paste-load")
    settle(page, before)
    rows = shown_rows(page)
    assert {name: rows[name]["rf"] for name in expected} == expected

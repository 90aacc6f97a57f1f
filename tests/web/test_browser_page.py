"""The page's defects of issue 12 (items 9-16), in headless Chromium: what a failure says,
exact big numbers, a light ResNet-18 editor, rows and cards linked, phone and Korean
layouts. Screenshots go to artifacts/web/."""

from __future__ import annotations

import base64
import json

from .test_browser import SETTLED, card_of, edit, open_page, top


def link(spec: dict, layout: str = "nchw", lang: str = "en") -> str:
    data = json.dumps({"v": 1, "spec": spec, "layout": layout, "lang": lang}).encode()
    return "#j=" + base64.urlsafe_b64encode(data).decode().rstrip("=")


def status(page) -> tuple[str, str]:
    head = page.inner_text("#status .status-head")
    msg = page.locator("#status .status-msg")
    return head, (msg.inner_text() if msg.count() else "")


def test_a_failure_says_what_was_wrong(page, live_server):
    # a share link whose spec is not valid: the server names the item; not "server down"
    open_page(page, live_server.url + link({"input": [1, 8], "layers": [None]}))
    assert page.get_attribute("body", "data-state") == "spec-error"
    head, msg = status(page)
    assert "The spec is not valid" in head and "layers[0]" in msg and "got None" in msg
    bad = card_of(top(page), 0)
    assert "bad-node" in bad.get_attribute("class") and "null" in bad.inner_text()
    # removing it through the editor gives a valid (empty) model
    assert edit(page, lambda: bad.locator("button.remove").click()) == "ok"

    page.goto(live_server.url + link({"input": [1, 3, 8, 8], "layers": [{"type": "Concat", "branches": [5]}]}))
    page.wait_for_selector(f"body[data-rev]{SETTLED}")
    head, msg = status(page)
    assert "The spec is not valid" in head and "layers[0].branches[0] must be a list of layers" in msg

    # a damaged link says so (it said "Failed to fetch") and the page still works
    page.goto("about:blank")  # a load, not a hashchange
    open_page(page, live_server.url + "#s=AAAAAAAA")
    toast = page.inner_text("#toast")
    assert "share link is damaged" in toast and "does not decompress" in toast and "fetch" not in toast
    assert page.get_attribute("body", "data-state") == "ok"

    # the server gone: said as such, with what to do
    page.route("**/api/view", lambda route: route.abort())
    state = edit(page, lambda: card_of(top(page), 0).locator('input[aria-label="out_channels"]').fill("16"))
    assert state == "server-down"
    head, msg = status(page)
    assert head == "✗The server does not answer" or head.endswith("The server does not answer")
    assert "shapetrace serve" in msg
    page.unroute("**/api/view")
    page.errors[:] = [e for e in page.errors if "ERR_FAILED" not in e]  # the aborted requests


def test_no_stale_inferred_values_after_an_error(page, live_server):
    open_page(page, live_server.url)
    conv1 = card_of(top(page), 0).locator('input[aria-label="in_channels"]')
    assert conv1.get_attribute("placeholder") == "1"  # read off the input by the core
    assert edit(page, lambda: page.fill("#input-shape", "28, 28")) == "error"
    assert conv1.get_attribute("placeholder") == "inferred"
    assert "expected a 3D (unbatched) or 4D (batched) input" in page.inner_text("#status")
    assert "None" not in page.inner_text("#status")


def test_numbers_stay_exact_and_readable(page, live_server, client):
    spec = {"name": "huge", "input": [1, 2**30], "layers": [{"type": "Linear", "name": "fc", "out_features": 2**24}]}
    flow = client.post("/api/flow", json=spec).json()
    params = flow["totals"]["params"]
    assert params > 2**53
    open_page(page, live_server.url + link(spec))
    assert page.inner_text('#totals [data-total="params"] dd') == f"{params:,}"  # every digit
    assert page.inner_text('#flow-body tr.row[data-qual="fc"] td.params') == f"{params:,}"
    assert page.inner_text('#totals [data-total="macs"] dd') == "18.01 P"
    assert page.inner_text('#totals [data-total="pmem"] dd') == "64.0 PiB"
    # a big integer typed into a field goes to the server exactly
    card = card_of(top(page), 0)
    with page.expect_request("**/api/view") as req:
        edit(page, lambda: card.locator('input[aria-label="out_features"]').fill("9007199254740993"))
    assert json.loads(req.value.post_data)["layers"][0]["out_features"] == 2**53 + 1
    # "features_out = 512 = 512": a formula that is its value is written once
    open_page(page, live_server.url)
    detail = page.inner_text('#flow-body > tr.detail[data-qual="fc1"]')
    assert "features_out = 512" in detail and "512 = 512" not in detail
    # the symbolic formula is on the page, not only in a tooltip
    assert "H_out = floor((H_in + 2*padding" in page.inner_text('#flow-body > tr.detail[data-qual="conv1"]')
    # a long value is not clipped in its field
    field = card_of(top(page), 0).locator('input[aria-label="kernel_size"]')
    field.fill("(3, 3, 3, 3, 3, 3, 3)")
    assert field.evaluate("e => e.scrollWidth <= e.clientWidth + 1")


def test_resnet18_is_light_and_rows_link_to_cards(page, live_server, artifacts):
    open_page(page, live_server.url)
    assert edit(page, lambda: page.select_option("#preset", "resnet18")) == "ok"
    # one <option> per card select was 10,374 elements; now only the used selects hold them
    assert page.locator("option").count() < 300
    blocks = page.locator("#stack-root li.card.block.collapsed")
    assert blocks.count() == 4  # ResNet-18's stages (layer1-4) start collapsed
    assert page.locator("#editor").evaluate("e => e.scrollHeight") < 2500
    # a row inside a collapsed block: its block opens and its card is selected and in view
    row = page.locator('#flow-body > tr.row[data-qual="layer2.0.conv1"]')
    assert row.count() == 1
    row.click()
    card = page.locator("#stack-root li.card.linked")
    assert card.count() == 1 and card.get_attribute("data-type") == "Conv2d"
    page.wait_for_timeout(400)  # smooth scroll
    box, panel = card.bounding_box(), page.locator("#editor").bounding_box()
    assert panel["y"] - 1 <= box["y"] <= panel["y"] + panel["height"]
    assert "linked" in row.get_attribute("class")
    # and back: a click on a card selects its row
    card_of(top(page), 0).locator(".card-out").click(force=True)
    assert page.locator('#flow-body > tr.row.linked').first.get_attribute("data-qual") == "conv1"
    # the collapse-all button opens every block
    page.click("#collapse-all")
    assert page.locator("#stack-root li.card.block.collapsed").count() == 0
    page.click("#collapse-all")
    assert page.locator("#stack-root li.card.block.collapsed").count() == 4
    page.screenshot(path=str(artifacts / "resnet18_desktop.png"))
    # wide screen, scrolled to the bottom: nothing covers the editor
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.wait_for_timeout(100)
    head = page.locator(".topbar").bounding_box()
    ed = page.locator("#editor").bounding_box()
    assert head["y"] + head["height"] <= ed["y"] + 1


def test_phone_layout(browser, live_server, artifacts):
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True)
    try:
        page = ctx.new_page()
        open_page(page, live_server.url)
        assert edit(page, lambda: page.select_option("#preset", "seed-verbatim")) == "error"
        assert page.evaluate("document.documentElement.scrollWidth") <= 390  # was 436
        assert page.locator(".topbar").bounding_box()["height"] < 144
        assert page.locator("#status").bounding_box()["y"] < 844  # the error is on the first screen (was 4,400 px down)
        out = page.locator("#flow thead th.c-shape:not(.in)").bounding_box()
        assert out["x"] + out["width"] <= 390  # the Output column on screen
        cards = page.locator("#stack-root li.card")
        widths = cards.evaluate_all("cs => cs.map(c => c.getBoundingClientRect().right)")
        assert max(widths) <= 390  # no nested card clipped
        page.screenshot(path=str(artifacts / "phone_error.png"), full_page=False)
        page.screenshot(path=str(artifacts / "phone_full.png"), full_page=True)
    finally:
        ctx.close()


def test_korean(page, live_server, artifacts):
    open_page(page, live_server.url + link({"input": [1, 1, 28, 28], "layers": []}, "hwc", "ko"))
    edit(page, lambda: page.select_option("#preset", "seed-verbatim"))
    fonts = page.evaluate("getComputedStyle(document.body).fontFamily")
    assert "NanumGothic" in fonts and "Noto Sans CJK KR" in fonts
    options = page.locator("#preset option").all_inner_texts()
    assert "seed-verbatim" not in options and any("시드 원본" in o for o in options)
    # the (H, W, C) layout: the message quotes the shape as the table shows it
    msg = page.inner_text("#status .status-msg")
    assert "(1152,)" in msg and "(1, 1152)" not in msg
    page.screenshot(path=str(artifacts / "korean_hwc_error.png"), full_page=True)

"""The formula toggle (issue 16), in headless Chromium: with it on, each Output cell also
shows the output as a formula of the varying input sizes, in the page's layout; its label
follows the page's language. The formulas are the server's (POST /api/view, display.rows[i].sym)."""

from __future__ import annotations

from .test_browser import open_page


def _sym(page, qual: str) -> str:
    return page.locator(f'#flow-body > tr.row[data-qual="{qual}"] td.c-shape.out .sym').inner_text()


def test_formula_toggle(page, live_server) -> None:
    open_page(page, live_server.url)
    toggle = page.locator("#symbolic-toggle")
    assert toggle.count() == 1
    assert page.locator("#flow-body .sym").count() == 0  # off by default
    toggle.check()
    page.wait_for_selector("#flow-body .sym")
    rows = page.locator("#flow-body > tr.row").count()
    assert page.locator("#flow-body .sym").count() == rows  # the seed: every row has one
    assert _sym(page, "flatten") == "(1, 128·⌊H/8⌋·⌊W/8⌋)"
    assert _sym(page, "conv1") == "(1, 32, H, W)"
    # the seed's table layout: no batch, channels last, as the concrete shapes are shown
    page.locator('#layout-toggle button[data-layout="hwc"]').click()
    page.wait_for_function("() => [...document.querySelectorAll('#flow-body .sym')]"
                           ".some((d) => d.textContent === '(H, W, 32)')")
    page.locator("#lang-toggle button[data-lang=ko]").click()
    page.wait_for_function("() => document.querySelector('.sym-toggle').textContent.includes('공식')")
    assert page.locator("#flow-body .sym").count() == rows
    toggle.uncheck()
    assert page.locator("#flow-body .sym").count() == 0


def test_view_answer_has_formulas(client) -> None:
    spec = {"input": [1, 3, 64, 64], "layers": [
        {"type": "Conv2d", "out_channels": 8, "kernel_size": 3, "stride": 2, "padding": 1},
        {"type": "MaxPool2d", "kernel_size": 2}, {"type": "Flatten"}]}
    r = client.post("/api/view", json=spec)
    assert r.status_code == 200
    rows = r.json()["display"]["rows"]
    assert [x["sym"]["nchw"] for x in rows] == ["(1, 8, ⌈H/2⌉, ⌈W/2⌉)", "(1, 8, ⌊(H + 1)/4⌋, ⌊(W + 1)/4⌋)",
                                                 "(1, 8·⌊(H + 1)/4⌋·⌊(W + 1)/4⌋)"]
    assert rows[0]["sym"]["hwc"] == "(⌈H/2⌉, ⌈W/2⌉, 8)"
    assert rows[2]["sym"]["hwc"] == "(8·⌊(H + 1)/4⌋·⌊(W + 1)/4⌋,)"

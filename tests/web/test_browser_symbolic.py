"""The formula toggle (issue 16), in headless Chromium: with it on, each Output cell also
shows the output as a formula of the varying input sizes, in the page's layout; its label
follows the page's language. The formulas are the server's (POST /api/view?symbolic=true,
display.rows[i].sym), asked for only while the toggle is on (issue 13: up to 0.4 s a request)."""

from __future__ import annotations

import json

import jsonschema_rs

from shapetrace.web import tasks
from shapetrace.web.limits import DEFAULT_LIMITS

from .test_browser import card_of, edit, open_page, top

SPEC = {"input": [1, 3, 64, 64], "layers": [
    {"type": "Conv2d", "out_channels": 8, "kernel_size": 3, "stride": 2, "padding": 1},
    {"type": "MaxPool2d", "kernel_size": 2}, {"type": "Flatten"}]}


def _sym(page, qual: str) -> str:
    return page.locator(f'#flow-body > tr.row[data-qual="{qual}"] td.c-shape.out .sym').inner_text()


def test_formula_toggle(page, live_server) -> None:
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/api/view" in r.url else None)
    open_page(page, live_server.url)
    toggle = page.locator("#symbolic-toggle")
    assert toggle.count() == 1
    assert page.locator("#flow-body .sym").count() == 0  # off by default
    assert asked and not any("symbolic" in u for u in asked)  # and no formulas asked for
    with page.expect_request("**/api/view?symbolic=true"):  # switched on: asked again at once
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
    # every edit while it is on asks for them; once it is off, none does
    field = card_of(top(page), 0).locator('input[aria-label="out_channels"]')
    with page.expect_request("**/api/view?symbolic=true"):
        edit(page, lambda: field.fill("16"))
    assert page.locator("#flow-body .sym").count() == rows
    toggle.uncheck()
    assert page.locator("#flow-body .sym").count() == 0
    with page.expect_request("**/api/view") as req:
        edit(page, lambda: field.fill("32"))
    assert "symbolic" not in req.value.url
    assert page.locator("#flow-body .sym").count() == 0


def test_view_answer_has_formulas_when_asked(client) -> None:
    r = client.post("/api/view?symbolic=true", json=SPEC)
    assert r.status_code == 200
    rows = r.json()["display"]["rows"]
    assert [x["sym"]["nchw"] for x in rows] == ["(1, 8, ⌈H/2⌉, ⌈W/2⌉)", "(1, 8, ⌊(H + 1)/4⌋, ⌊(W + 1)/4⌋)",
                                                 "(1, 8·⌊(H + 1)/4⌋·⌊(W + 1)/4⌋)"]
    assert rows[0]["sym"]["hwc"] == "(⌈H/2⌉, ⌈W/2⌉, 8)"
    assert rows[2]["sym"]["hwc"] == "(8·⌊(H + 1)/4⌋·⌊(W + 1)/4⌋,)"


def test_view_answer_has_no_formulas_unless_asked(client) -> None:
    plain = client.post("/api/view", json=SPEC)
    assert plain.status_code == 200
    assert all("sym" not in row for row in plain.json()["display"]["rows"])
    assert client.post("/api/view?symbolic=false", json=SPEC).json() == plain.json()
    asked = client.post("/api/view?symbolic=true", json=SPEC).json()
    assert asked["flow"] == plain.json()["flow"]  # the same flow, with the formulas added
    r = client.post("/api/view?symbolic=maybe", json=SPEC)
    assert r.status_code == 422 and "symbolic" in r.json()["detail"]


def test_the_formulas_are_not_computed_unless_asked(monkeypatch) -> None:
    """Not only left out of the answer: not computed (the view task runs in this process here)."""
    calls = []
    monkeypatch.setattr(tasks, "_symbolic", lambda *a: calls.append(a))
    body = json.dumps(SPEC).encode()
    tasks.TASKS["view"](body, DEFAULT_LIMITS)
    assert calls == []
    tasks.TASKS["view_symbolic"](body, DEFAULT_LIMITS)
    assert len(calls) == 1


def test_the_view_schema_describes_the_formulas(client) -> None:
    comps = client.get("/openapi.json").json()["components"]["schemas"]
    validator = jsonschema_rs.validator_for({**comps["View"], "components": {"schemas": comps}})
    for url in ("/api/view", "/api/view?symbolic=true"):
        view = client.post(url, json=SPEC).json()
        errors = [e.message for e in validator.iter_errors(view)]
        assert not errors, errors[:3]
    sym = comps["Display"]["properties"]["rows"]["items"]["properties"]["sym"]
    assert "symbolic=true" in sym["description"]
    params = client.get("/openapi.json").json()["paths"]["/api/view"]["post"]["parameters"]
    assert [(p["name"], p["in"], p["schema"]["type"]) for p in params] == [("symbolic", "query", "boolean")]

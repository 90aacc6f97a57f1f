"""The JSON API: the same answers as the core and the CLI, and a clear 4xx for bad input."""

from __future__ import annotations

import json

import pytest
import yaml

from shapetrace.core.layers import REGISTRY
from shapetrace.core.words import NOTES
from shapetrace.core.spec import flow, load_spec, parse_spec
from shapetrace.web.app import spec_text
from shapetrace.web.limits import DEFAULT_LIMITS

from .conftest import EXAMPLES

PRESETS = ("seed", "resnet18", "vgg16")
SMALL = {"input": [1, 1, 28, 28], "layers": [{"type": "Conv2d", "out_channels": 8, "kernel_size": 3}]}


def spec_dict(name: str) -> dict:
    return load_spec(EXAMPLES / f"{name}.yaml").to_dict()


def post(client, data, url="/api/flow"):
    return client.post(url, content=json.dumps(data), headers={"content-type": "application/json"})


# ---------------------------------------------------------------- the flow: one source of truth


@pytest.mark.parametrize("name", PRESETS)
def test_flow_is_the_cores_flow(client, name):
    r = post(client, spec_dict(name))
    assert r.status_code == 200
    assert r.json() == flow(load_spec(EXAMPLES / f"{name}.yaml")).to_dict()


@pytest.mark.parametrize("name", PRESETS)
def test_flow_is_the_cli_summary_json(client, name, tmp_path):
    """POST /api/flow and `shapetrace summary SPEC --format json` give the same JSON."""
    from typer.testing import CliRunner

    from shapetrace.cli import app

    spec_file = tmp_path / f"{name}.json"
    spec_file.write_text(json.dumps(spec_dict(name)))
    res = CliRunner().invoke(app, ["summary", str(spec_file), "--format", "json"])
    assert res.exit_code == 0, res.output
    assert post(client, spec_dict(name)).json() == json.loads(res.stdout)


def test_seed_flow_numbers(client):
    """The seed's table, as the API gives it (checked against torch in tests/core)."""
    rep = post(client, spec_dict("seed")).json()
    out = {r["name"]: tuple(r["output_shapes"][0]) for r in rep["rows"]}
    assert out["conv1"] == (1, 32, 28, 28)
    assert out["pool"] == (1, 32, 14, 14)
    assert out["resblock1"] == (1, 64, 14, 14)
    assert out["pool2"] == (1, 64, 7, 7)
    assert out["resblock2"] == (1, 128, 7, 7)
    assert out["pool3"] == (1, 128, 3, 3)
    assert out["flatten"] == (1, 1152)
    assert out["fc1"] == (1, 512)
    assert out["fc2"] == (1, 10)
    assert rep["error"] is None
    assert rep["totals"]["params"] == 883_082


def test_presets_are_faithful(client):
    """ResNet-18 and VGG-16 as published: parameter counts (torchvision) and receptive fields
    (Araujo et al., Distill 2019: VGG-16 212; ResNet-18's layer4 435)."""
    res = post(client, spec_dict("resnet18")).json()
    vgg = post(client, spec_dict("vgg16")).json()
    assert res["error"] is None and vgg["error"] is None
    assert res["totals"]["params"] == 11_689_512
    assert vgg["totals"]["params"] == 138_357_544
    rows = {r["name"]: r for r in res["rows"]}
    assert rows["maxpool"]["output_shapes"] == [[1, 64, 56, 56]]
    assert rows["layer4"]["output_shapes"] == [[1, 512, 7, 7]]
    assert rows["layer4"]["receptive_field"]["size"] == [435, 435]
    assert rows["layer2.0.downsample.0"]["kwargs"]["stride"] in (2, [2, 2])
    assert res["rows"][-1]["output_shapes"] == [[1, 1000]]
    vrows = {r["name"]: r for r in vgg["rows"]}
    assert vrows["features.30"]["output_shapes"] == [[1, 512, 7, 7]]
    assert vrows["features.30"]["receptive_field"]["size"] == [212, 212]
    assert vrows["flatten"]["output_shapes"] == [[1, 25088]]
    assert sum(r["kind"] == "Conv2d" for r in vgg["rows"]) == 13
    assert sum(r["kind"] == "Linear" for r in vgg["rows"]) == 3


def test_shape_error_is_a_200_with_the_diagnosis(client):
    """The seed's own bug (fc1 = Linear(128*7*7, 512)): the rows up to fc1, then the error."""
    spec = spec_dict("seed")
    fc1 = next(n for n in spec["layers"] if n.get("name") == "fc1")
    fc1["in_features"] = 6272
    r = post(client, spec)
    assert r.status_code == 200
    rep = r.json()
    assert rep["error"]["row"] == "fc1"
    assert "1152" in rep["error"]["message"] and "6272" in rep["error"]["message"]
    assert any("1152" in f for f in rep["error"]["fixes"])
    assert rep["rows"][-1]["name"] == "flatten"
    assert rep == flow(parse_spec(spec)).to_dict()


def test_response_matches_the_openapi_schema(client):
    """Real reports (ok and failing) validate against the Report schema the API publishes."""
    import jsonschema_rs

    doc = client.get("/openapi.json").json()
    comps = doc["components"]["schemas"]
    report_schema = {**comps["Report"], "components": {"schemas": comps}}
    text = json.dumps(report_schema).replace("#/components/schemas/", "#/components/schemas/")
    validator = jsonschema_rs.validator_for(json.loads(text))
    bad = spec_dict("seed")
    bad["layers"][-1]["in_features"] = 3
    for spec in (spec_dict("seed"), spec_dict("resnet18"), bad, SMALL):
        rep = post(client, spec).json()
        errors = [e.message for e in validator.iter_errors(rep)]
        assert not errors, errors[:3]
    spec_schema = {**comps["Spec"], "components": {"schemas": comps}}
    spec_validator = jsonschema_rs.validator_for(spec_schema)
    for name in PRESETS:
        assert spec_validator.is_valid(spec_dict(name)), name


def test_openapi_describes_the_bodies(client):
    doc = client.get("/openapi.json").json()
    op = doc["paths"]["/api/flow"]["post"]
    assert op["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Spec"}
    assert op["responses"]["200"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Report"}
    for code in ("400", "413", "422"):
        assert op["responses"][code]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    layer_types = doc["components"]["schemas"]["LayerCall"]["properties"]["type"]["enum"]
    assert set(layer_types) == set(REGISTRY)


# ---------------------------------------------------------------- bad input: 4xx, one line


def assert_4xx(r, status, *words):
    assert r.status_code == status, (r.status_code, r.text)
    detail = r.json()["detail"]
    assert isinstance(detail, str) and "\n" not in detail and detail
    for w in words:
        assert w.lower() in detail.lower(), detail
    return detail


@pytest.mark.parametrize("body, words", [
    (b"{bad json", ["not valid JSON", "line 1"]),
    (b"", ["empty"]),
    (b"   ", ["empty"]),
    (b"\xff\xfe{}", ["UTF-8"]),
    (b"[" * 100_000 + b"]" * 100_000, []),
    (b'{"input": [1, 1, 28, 28], "layers": [], "n": 1' + b"0" * 5000 + b"}", ["JSON"]),
])
def test_malformed_json(client, body, words):
    r = client.post("/api/flow", content=body, headers={"content-type": "application/json"})
    assert r.status_code in (400, 413), r.text
    assert_4xx(r, r.status_code, *words)


@pytest.mark.parametrize("data, words", [
    ([1, 2, 3], ["mapping"]),
    ("spec", ["mapping"]),
    ({"layers": []}, ["missing 'input'"]),
    ({"input": [1, 1, 28, 28]}, ["missing 'layers'"]),
    ({"input": "1,1,28,28", "layers": []}, ["input"]),
    ({"input": [1, -1, 28, 28], "layers": []}, ["positive"]),
    ({"input": [1, 1.5, 28, 28], "layers": []}, ["integers"]),
    ({"input": [1] * 9, "layers": []}, ["dimensions"]),
    ({"input": [1, 1, 28, 28], "layers": {"type": "ReLU"}}, ["list"]),
    ({"input": [1, 1, 28, 28], "layers": [{"type": "Conv2D"}]}, ["unknown layer type", "Conv2d"]),
    ({"input": [1, 1, 28, 28], "layers": [{"type": "Conv2d", "kernal_size": 3}]}, ["kernel_size"]),
    ({"input": [1, 1, 28, 28], "layers": [{"type": 7}]}, ["type must be a string"]),
    ({"input": [1, 1, 28, 28], "layers": [{"type": "Residual"}]}, ["body"]),
    ({"input": [1, 1, 28, 28], "layers": [{"type": "ReLU", "name": "a.b"}]}, ["name"]),
    ({"input": [1, 1, 2**40, 28], "layers": []}, ["out of range"]),
    ({"input": [1, 1, 28, 28], "layers": [{"type": "Conv2d", "out_channels": 10**30, "kernel_size": 3}]},
     ["out of range"]),
    ({"input": [1, 1, 28, 28], "layers": [{"type": "Dropout", "p": 1e300}]}, ["out of range"]),
    ({"input": [1, 1, 28, 28], "layers": [{"type": "Conv2d", "out_channels": 4, "kernel_size": [[3]]}]},
     ["nested"]),
    ({"input": [1, 1, 28, 28], "layers": [{"type": "Conv2d", "out_channels": 4, "kernel_size": {"a": 1}}]},
     ["mapping"]),
    ({"input": [1, 1, 28, 28], "layers": [{"type": "ReLU", "name": "x" * 500}]}, ["too long"]),
])
def test_invalid_specs_are_422(client, data, words):
    assert_4xx(post(client, data), 422, *words)


def test_negative_and_zero_arguments_are_diagnosed(client):
    """A negative stride is a valid request about an invalid layer: the flow says why."""
    for kwargs in ({"stride": -1}, {"kernel_size": 0}, {"padding": -2}, {"out_channels": -5}):
        layer = {"type": "Conv2d", "out_channels": 4, "kernel_size": 3, **kwargs}
        r = post(client, {"input": [1, 1, 28, 28], "layers": [layer]})
        assert r.status_code in (200, 422), r.text
        if r.status_code == 200:
            err = r.json()["error"]
            assert err and err["row"] == "0" and err["message"]


def test_ten_thousand_layers_is_refused(client):
    spec = {"input": [1, 8], "layers": [{"type": "ReLU"}] * 10_000}
    assert_4xx(post(client, spec), 422, "layers", f"{DEFAULT_LIMITS.max_layers:,}")
    # Nested too: the cap counts every level.
    nested = {"input": [1, 8], "layers": [{"type": "Sequential", "layers": [{"type": "ReLU"}] * 2500}] * 4}
    assert_4xx(post(client, nested), 422, "layers")


def test_the_layer_cap_itself_is_accepted(client):
    spec = {"input": [1, 8], "layers": [{"type": "ReLU"}] * DEFAULT_LIMITS.max_layers}
    r = post(client, spec)
    assert r.status_code == 200
    assert len(r.json()["rows"]) == DEFAULT_LIMITS.max_layers


def test_deep_nesting_is_refused(client):
    node: dict = {"type": "ReLU"}
    for _ in range(80):
        node = {"type": "Sequential", "layers": [node]}
    assert_4xx(post(client, {"input": [1, 8], "layers": [node]}), 422, "nested")


def test_oversized_body_is_413(client):
    big = b'{"input": [1, 8], "layers": [' + b'{"type": "ReLU"},' * 80_000 + b'{"type": "ReLU"}]}'
    assert len(big) > DEFAULT_LIMITS.max_body_bytes
    assert_4xx(client.post("/api/flow", content=big), 413, "too large")
    # A lying Content-Length does not get past the cap: the body is counted as it streams.

    def chunks():
        for _ in range(200):
            yield b" " * 10_000

    assert_4xx(client.post("/api/flow", content=chunks()), 413, "too large")


def test_small_limits_apply(tmp_path):
    """Limits are the app's own (tests and embedders can shrink them)."""
    import warnings

    from shapetrace.web.app import create_app
    from shapetrace.web.limits import Limits

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # starlette's note that it prefers httpx2 to httpx
        from fastapi.testclient import TestClient
    c = TestClient(create_app(Limits(max_body_bytes=200, max_layers=3)))
    assert post(c, {"input": [1, 8], "layers": [{"type": "ReLU"}] * 3}).status_code == 200
    assert_4xx(post(c, {"input": [1, 8], "layers": [{"type": "ReLU"}] * 4}), 422, "at most 3")
    assert_4xx(post(c, {"input": [1, 8], "layers": [{"type": "ReLU"}] * 20}), 413, "200 bytes")


def test_nothing_is_evaluated(client):
    """Strings that would be code anywhere else stay strings: YAML tags are refused by the safe
    loader, and a __import__ string is just an unknown value for the core to reject."""
    r = client.post("/api/spec/parse", json={"text": "input: !!python/object/apply:os.system ['touch /tmp/pwned']\nlayers: []"})
    assert_4xx(r, 422, "YAML")
    spec = {"input": [1, 1, 28, 28],
            "layers": [{"type": "Conv2d", "out_channels": 4, "kernel_size": "__import__('os').system('x')"}]}
    # a value of the wrong type is bad input (422), as everywhere else (issue 14 item 11)
    assert_4xx(post(client, spec), 422, "kernel_size must be an integer")
    assert_4xx(post(client, {"input": [1, 8], "layers": [{"type": "__import__('os')"}]}), 422, "unknown")


@pytest.mark.timeout(60)
def test_yaml_alias_bomb_is_refused_quickly(client):
    """Billion laughs: YAML aliases that expand to 10^9 items must not be walked."""
    lines = ['a0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]']
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    lines += ["input: [1, 8]", "layers: [{type: Conv2d, out_channels: 4, kernel_size: *a9}]"]
    r = client.post("/api/spec/parse", json={"text": "\n".join(lines)})
    assert_4xx(r, 422, "aliases")


@pytest.mark.parametrize("url", ["/api/flow", "/api/spec/export", "/api/table", "/api/spec/parse"])
def test_every_post_endpoint_refuses_garbage(client, url):
    for body in (b"", b"null", b"{", b"[]", b'"x"', b"123", json.dumps({"text": 5}).encode()):
        r = client.post(url, content=body)
        assert 400 <= r.status_code < 500, (url, body, r.status_code, r.text)
        assert isinstance(r.json()["detail"], str)


def test_unknown_paths_and_methods(client):
    assert_4xx(client.get("/api/presets/nope"), 404, "nope")
    assert client.get("/api/nothing").status_code == 404
    r = client.get("/api/flow")
    assert r.status_code == 405 and "POST" in r.headers["allow"]
    assert_4xx(client.post("/api/table?format=pdf", json=SMALL), 422, "format")


# ---------------------------------------------------------------- spec files in and out


@pytest.mark.parametrize("name", PRESETS)
def test_parse_reads_the_clis_spec_files(client, name):
    text = (EXAMPLES / f"{name}.yaml").read_text()
    r = client.post("/api/spec/parse", json={"text": text, "format": "yaml"})
    assert r.status_code == 200
    assert r.json() == spec_dict(name)
    as_json = json.dumps(spec_dict(name))
    assert client.post("/api/spec/parse", json={"text": as_json, "format": "json"}).json() == spec_dict(name)


def test_parse_errors_name_the_place(client):
    r = client.post("/api/spec/parse", json={"text": "input: [1, 1, 28, 28]\nlayers:\n  - {type: Conv2d,"})
    assert_4xx(r, 422, "invalid YAML", "line")
    r = client.post("/api/spec/parse", json={"text": "{'input': 1}", "format": "json"})
    assert_4xx(r, 422, "invalid JSON")
    r = client.post("/api/spec/parse", json={"text": "input: [1, 8]\nlayers: [{type: Relu}]"})
    assert_4xx(r, 422, "layers[0]", "ReLU")
    assert_4xx(client.post("/api/spec/parse", json={"text": "", "format": "toml"}), 422, "format")
    assert_4xx(client.post("/api/spec/parse", json={"text": "x", "extra": 1}), 422, "extra")


@pytest.mark.parametrize("name", PRESETS)
@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_export_round_trips(client, name, fmt, tmp_path):
    r = post(client, spec_dict(name), f"/api/spec/export?format={fmt}")
    assert r.status_code == 200
    assert r.text == spec_text(spec_dict(name), fmt)
    path = tmp_path / f"{name}.{fmt}"
    path.write_text(r.text)
    assert load_spec(path).to_dict() == spec_dict(name)  # the CLI reads what the page saves
    if fmt == "yaml":
        # one line per layer, like the shipped examples
        assert "- {type: Conv2d" in r.text
        assert yaml.safe_load(r.text) == spec_dict(name)


def test_yaml_export_of_odd_values(client):
    spec = {"name": "odd", "input": [1, 3, 16, 16], "layers": [
        {"type": "Conv2d", "out_channels": 4, "kernel_size": [3, 3], "padding": "same", "bias": False},
        {"type": "Concat", "dim": 1, "branches": [[{"type": "ReLU"}], [{"type": "Identity"}]]},
        {"type": "Upsample", "scale_factor": 2.0, "mode": "nearest"}]}
    text = post(client, spec, "/api/spec/export?format=yaml").text
    assert yaml.safe_load(text) == parse_spec(spec).to_dict()


# ---------------------------------------------------------------- catalog, messages, presets


def test_layer_catalog_is_the_registry(client):
    cat = client.get("/api/layers").json()
    assert {c["name"] for c in cat} == set(REGISTRY)
    conv = next(c for c in cat if c["name"] == "Conv2d")
    args = {a["name"]: a for a in conv["args"]}
    assert [a["name"] for a in conv["args"]] == list(REGISTRY["Conv2d"].arg_names)
    assert args["in_channels"]["inferred"] and args["in_channels"]["required"]
    assert args["out_channels"]["required"] and not args["out_channels"]["inferred"]
    assert args["stride"]["default"] == 1 and args["bias"]["default"] is True
    assert args["padding_mode"]["default_text"] == "'zeros'"
    json.dumps(cat, allow_nan=False)  # plain JSON: no inf/nan defaults leak through


@pytest.mark.parametrize("name", PRESETS)
def test_view_is_the_flow_plus_the_renderers_text(client, name):
    """What the page uses: /api/flow's JSON unchanged, and each shape and note as text made by
    shapetrace.render and the core (the page formats none itself)."""
    from shapetrace.core.explain import note_lines
    from shapetrace.render.fmt import shape_text
    from shapetrace.render.options import Layout

    spec = spec_dict(name)
    if name == "seed":
        spec["layers"][8]["in_features"] = 6272  # with an error, too
    view = post(client, spec, "/api/view").json()
    assert view["flow"] == post(client, spec).json()
    report = flow(parse_spec(spec))
    batch = report.input_shapes[0][0]
    assert len(view["display"]["rows"]) == len(report.rows)
    for row, shown in zip(report.rows, view["display"]["rows"]):
        for lay in Layout:
            assert shown["in"][lay.value] == [shape_text(s, lay, batch) for s in row.input_shapes]
            assert shown["out"][lay.value] == [shape_text(s, lay, batch) for s in row.output_shapes]
        assert shown["notes"] == {"en": note_lines(row.notes, "en"), "ko": note_lines(row.notes, "ko")}
    # Every row of a layer or block knows its place in the spec (the page finds cards by it).
    paths = view["display"]["paths"]
    assert {r.name for r in report.rows if not r.is_op} <= set(paths)
    if name == "seed":
        assert paths["fc1"] == "layers/8" and paths["resblock1.shortcut"] == "layers/3/shortcut/0"
        assert paths["resblock2.relu_out"] == "layers/5/post/0"
    if name == "resnet18":
        assert paths["layer2.0.downsample.1"] == "layers/5/layers/0/shortcut/0/layers/1"
    if name == "seed":
        assert view["display"]["error"]["actual"] == {"nchw": ["(1, 1152)"], "hwc": ["(1152,)"]}
        assert view["display"]["rows"][-1]["out"]["hwc"] == ["(1152,)"]
    else:
        assert view["display"]["error"] is None
        assert view["display"]["rows"][-1]["out"] == {"nchw": ["(1, 1000)"], "hwc": ["(1000,)"]}


def test_view_keeps_python_number_text(client):
    """Notes carry floats (eps=0.0): Python writes them, so the page shows what the CLI shows
    (a JavaScript formatter would have written eps=0)."""
    from shapetrace.core.explain import note_lines

    spec = {"input": [2, 4, 8, 8], "layers": [{"type": "BatchNorm2d", "eps": 0.0}]}
    view = post(client, spec, "/api/view").json()
    report = flow(parse_spec(spec))
    assert view["display"]["rows"][0]["notes"]["en"] == note_lines(report.rows[0].notes, "en")
    assert "eps=0.0 " in view["display"]["rows"][0]["notes"]["en"][0]


def test_presets(client):
    listed = client.get("/api/presets").json()
    assert [p["id"] for p in listed][:3] == list(PRESETS)
    for p in listed:
        r = client.get(f"/api/presets/{p['id']}")
        assert r.status_code == 200
        assert r.json() == spec_dict(p["id"])
        error = post(client, r.json()).json()["error"]
        if p["id"] == "seed-verbatim":  # the seed's own Linear(128 * 7 * 7, 512), on purpose
            assert error["row"] == "fc1" and "in_features=1152" in error["fixes"]
        else:
            assert error is None, p["id"]
        assert p["description"]


# ---------------------------------------------------------------- page and headers


def test_page_and_security_headers(client):
    r = client.get("/")
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    assert 'src="/static/app.js"' in r.text
    csp = r.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "unsafe" not in csp
    for asset in ("app.js", "style.css", "favicon.svg"):
        assert client.get(f"/static/{asset}").status_code == 200
    # No CDN: every script and stylesheet the page names is served here.
    assert "http" not in "".join(line for line in r.text.splitlines() if "src=" in line or "href=" in line)


def test_page_computes_nothing():
    """One source of truth: the page's script holds no formula (no floor, no arithmetic on
    sizes); every number it shows comes from /api/flow."""
    from shapetrace.web.app import STATIC

    js = (STATIC / "app.js").read_text()
    assert "/api/view" in js
    for banned in ("Math.floor", "Math.ceil", "dilation *", "kernel_size -", "eval(", "new Function",
                   "innerHTML", "outerHTML", "insertAdjacentHTML", "document.write",
                   "output_shapes.map", "input_shapes.map", "note.params"):
        assert banned not in js, banned


@pytest.mark.parametrize("fmt", ["markdown", "csv"])
@pytest.mark.parametrize("layout, lang", [("nchw", "en"), ("hwc", "ko")])
def test_table_export_is_the_renderers(client, fmt, layout, lang):
    from shapetrace import render

    r = post(client, spec_dict("seed"), f"/api/table?format={fmt}&layout={layout}&lang={lang}")
    assert r.status_code == 200
    report = flow(load_spec(EXAMPLES / "seed.yaml"))
    assert r.text == render.render(report, fmt, layout=layout, lang=lang, explain=True)
    assert ("text/csv" if fmt == "csv" else "text/markdown") in r.headers["content-type"]
    if layout == "hwc":
        assert "(28, 28, 32)" in r.text and "(1152,)" in r.text


def test_table_export_of_a_failing_spec(client):
    spec = spec_dict("seed")
    spec["layers"][-3]["in_features"] = 6272  # fc1, as the seed's code has it
    r = post(client, spec, "/api/table?format=markdown")
    assert r.status_code == 200
    assert "in_features=1152" in r.text and "6272" in r.text
    assert r.text == __import__("shapetrace.render", fromlist=["render"]).render(
        flow(parse_spec(spec)), "markdown", explain=True)


def test_a_task_past_its_deadline_is_stopped_and_replaced(monkeypatch):
    """Whatever a task does, the worker running it is killed at the deadline and a fresh
    worker answers the next request."""
    import time

    from shapetrace.web.worker import Pool

    monkeypatch.setenv("SHAPETRACE_WEB_TEST_TASKS", "1")  # the children get the "sleep" task
    pool = Pool(size=1, timeout=1.0)
    try:
        t0 = time.perf_counter()
        out = pool.run("sleep", 60)
        assert time.perf_counter() - t0 < 20
        assert not out.ok and out.status == 422 and "more than 1 s" in out.message
        ok = pool.run("flow", json.dumps(SMALL).encode(), DEFAULT_LIMITS)
        assert ok.ok and json.loads(ok.value) == flow(parse_spec(SMALL)).to_dict()
    finally:
        pool.close()


def test_adaptive_pooling_with_a_huge_output_size_is_answered():
    """It used to loop over 2**31 bins; the core now answers in closed form."""
    import warnings

    from shapetrace.web.app import create_app
    from shapetrace.web.limits import Limits

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
    c = TestClient(create_app(Limits(max_seconds=5.0)))
    huge = {"input": [1, 1, 4], "layers": [{"type": "AdaptiveAvgPool1d", "output_size": 2**31 - 1}]}
    r = post(c, huge)
    assert r.status_code == 200 and r.json()["rows"][0]["output_shapes"] == [[1, 1, 2**31 - 1]]


def test_worker_memory_is_capped(monkeypatch):
    from shapetrace.web.worker import Pool

    monkeypatch.setenv("SHAPETRACE_WEB_TEST_TASKS", "1")  # the children get the "allocate" task
    pool = Pool(size=1, timeout=30, memory_limit=512 << 20)
    try:
        # Inside the worker, a 10 GiB allocation fails cleanly instead of swapping the machine.
        out = pool.run("allocate", 10 << 30)
        assert not out.ok and out.status == 422 and "memory" in out.message
        ok = pool.run("flow", json.dumps(SMALL).encode(), DEFAULT_LIMITS)
        assert ok.ok and json.loads(ok.value) == flow(parse_spec(SMALL)).to_dict()
    finally:
        pool.close()


def test_no_page_loads_from_a_cdn(client):
    """FastAPI's /docs and /redoc pull scripts from a CDN: they are off; the schema stays."""
    assert client.get("/docs").status_code == 404
    assert client.get("/redoc").status_code == 404
    assert client.get("/openapi.json").json()["openapi"].startswith("3.")


def test_every_note_has_both_languages():
    """The page shows notes in English or Korean from /api/view: both must exist."""
    for key, langs in NOTES.items():
        assert set(langs) >= {"en", "ko"}, key


def test_view_carries_the_graph_in_every_layout_and_language(client):
    from shapetrace.core.spec import flow
    from shapetrace.render import svg

    spec = {"input": [1, 1, 28, 28], "layers": [
        {"type": "Conv2d", "out_channels": 4, "kernel_size": 3},
        {"type": "Residual", "body": [{"type": "ReLU"}]}]}
    graph = post(client, spec, "/api/view").json()["display"]["graph"]
    assert set(graph) == {"nchw.en", "nchw.ko", "hwc.en", "hwc.ko"}
    assert graph["hwc.ko"] == svg(flow(spec), layout="hwc", lang="ko")


def test_view_leaves_out_a_graph_too_big_to_send(client):
    from shapetrace.web.tasks import MAX_GRAPH_NODES

    spec = {"input": [1, 8], "layers": [{"type": "ReLU"}] * (MAX_GRAPH_NODES + 1)}
    view = post(client, spec, "/api/view").json()
    assert view["display"]["graph"] == {} and len(view["flow"]["rows"]) == MAX_GRAPH_NODES + 1


def test_every_task_answers_the_bytes_to_send():
    """Encoded once, in the worker: the size check measures the bytes the server then sends
    as they are (a text answer was encoded twice, once only to be measured)."""
    from dataclasses import replace

    from shapetrace.web.limits import DEFAULT_LIMITS
    from shapetrace.web.tasks import TASKS, run

    body = json.dumps(spec_dict("seed")).encode()
    parse = json.dumps({"text": json.dumps(spec_dict("seed"))}).encode()
    calls = {"flow": (body,), "view": (body,), "view_symbolic": (body,), "parse": (parse,),
             "export": (body, "yaml"), "table": (body, "markdown", "nchw", "ko")}
    assert set(calls) <= set(TASKS)
    for name, args in calls.items():
        status, value = run(name, (*args, DEFAULT_LIMITS))
        assert status == "ok" and isinstance(value, bytes), (name, status, type(value))
    # the Korean table: its bytes, not its characters, are held to the cap
    table = run("table", (*calls["table"], DEFAULT_LIMITS))[1]
    assert len(table.decode()) < len(table)
    capped = replace(DEFAULT_LIMITS, max_answer_bytes=len(table.decode()))
    status, code, message = run("table", (*calls["table"], capped))
    assert (status, code) == ("error", 422) and f"would be {len(table):,} bytes" in message

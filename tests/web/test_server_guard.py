"""What the real server refuses before any work (issue 12, items 4, 7 and 8): lone
surrogates, a Host that is not this server's (DNS rebinding), a cross-site Origin, a POST
that is not application/json, YAML nested too deep. One server for the module
(tests/web/server_proc.py), on loopback.
"""

from __future__ import annotations

import json

import pytest

from .server_proc import SMALL, STOPPED, Server

POSTS = ["/api/flow", "/api/view", "/api/table", "/api/table?format=csv", "/api/spec/export",
         "/api/spec/export?format=json"]


@pytest.fixture(scope="module")
def server():
    with Server(workers=1) as s:
        yield s
        code, err = s.stop()
    assert code == STOPPED and "Traceback" not in err, err


def _lone_surrogate_body() -> bytes:
    # json.dumps writes the lone surrogate as the escape \ud800, as a hostile client would.
    spec = {**SMALL, "layers": [{**SMALL["layers"][0], "name": "x\ud800"}]}
    return json.dumps(spec).encode()


@pytest.mark.parametrize("path", POSTS)
def test_a_lone_surrogate_is_a_400_on_every_endpoint(server, path):
    a = server.post(path, _lone_surrogate_body())
    assert a.status == 400, a.body
    assert "lone surrogate (\\ud800)" in a.json()["detail"]


@pytest.mark.parametrize("text", ['{"input": [1, 1, 28, 28], "name": "x\\ud800", "layers": []}',
                                  'input: [1, 1, 28, 28]\nname: "x\\ud800"\nlayers: []\n'])
def test_a_lone_surrogate_in_a_spec_file_is_a_400(server, text):
    """In the spec file's own text (YAML's and JSON's escapes), not only the request's JSON."""
    fmt = "json" if text.startswith("{") else "yaml"
    for body in (json.dumps({"text": text, "format": fmt}).encode(),
                 json.dumps({"text": "x\ud800", "format": fmt}).encode()):
        a = server.post("/api/spec/parse", body)
        assert a.status == 400, a.body
        assert "lone surrogate" in a.json()["detail"]


@pytest.mark.parametrize("host", ["evil.example", "evil.example:{port}", "127.0.0.1:1",
                                  "localhost.evil.example:{port}", "", "10.0.0.1:{port}"])
def test_a_host_that_is_not_this_server_is_refused(server, host):
    """A page on a name re-pointed at 127.0.0.1 (DNS rebinding) sends its own name as Host."""
    headers = {"Host": host.format(port=server.port)}
    for a in (server.get("/", headers=headers), server.get("/api/presets", headers=headers),
              server.post("/api/flow", SMALL, headers=headers)):
        assert a.status == 403, (host, a.status, a.body)
        assert "is not served here" in a.json()["detail"]


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "LOCALHOST",
                                  "127.0.0.1"])
def test_the_loopback_names_are_served(server, host):
    headers = {"Host": host.format(port=server.port)}
    assert server.get("/", headers=headers).status == 200
    assert server.post("/api/flow", SMALL, headers=headers).status == 200


def test_a_cross_site_origin_is_refused(server):
    own = f"http://127.0.0.1:{server.port}"
    a = server.post("/api/flow", SMALL, headers={"Origin": "http://evil.example"})
    assert a.status == 403 and "cross-site request" in a.json()["detail"]
    assert server.post("/api/flow", SMALL, headers={"Origin": own}).status == 200


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x", "application/jsonx"])
def test_a_post_that_is_not_json_is_a_415(server, content_type):
    """What a cross-site form or a no-preflight fetch can send is refused before any work."""
    for path in POSTS + ["/api/spec/parse"]:
        a = server.post(path, SMALL, content_type=content_type)
        assert a.status == 415, (path, content_type, a.status, a.body)
        assert "Content-Type: application/json" in a.json()["detail"]


def test_json_with_a_charset_is_accepted(server):
    a = server.post("/api/flow", SMALL, content_type="application/json; charset=utf-8")
    assert a.status == 200 and a.json()["error"] is None


@pytest.mark.parametrize("text", ["[" * 1000 + "]" * 1000,
                                  "".join(f"{' ' * i}k{i}:\n" for i in range(1000)) + " " * 1000 + "x\n",
                                  "- " * 500 + "1\n",
                                  "input: " + "{a: " * 300 + "1" + "}" * 300])
def test_yaml_nested_too_deep_is_refused_before_parsing(server, text):
    a = server.post("/api/spec/parse", {"text": text, "format": "yaml"})
    assert a.status == 422, a.body
    assert "nested more than 64 levels deep (refused before parsing)" in a.json()["detail"]


def test_head_of_the_page(server):
    a = server.request("HEAD", "/")
    assert a.status == 200 and a.headers["content-type"].startswith("text/html") and a.body == b""

"""Speed of the web calculator: server time per request for a 50-layer spec, and the time
from an edit in the browser to the updated table.

    python benchmarks/bench_web.py [--requests 300] [--edits 60] [--json out.json]

Measured:
  handler    the work one POST /api/flow does, in-process, without HTTP: JSON decode, the
             limits walk, parse_spec, flow, to_dict, JSON encode (median of N)
  http       a real request to uvicorn on localhost (httpx, keep-alive), round trip (median, p95)
  view       the same for POST /api/view (the flow plus its shapes and notes as text), the
             request the page makes on every edit
  edit       in headless Chromium: an argument field's `input` event -> the table redrawn
             (the page's debounce + fetch + server + DOM update), measured inside the page
             with performance.now() (median, p95)
  worst      the largest spec the API accepts (Limits.max_layers layers): one request, to show
             that no request keeps the server busy for long

Needs the [web] and [test] extras and /usr/bin/chromium (or $SHAPETRACE_CHROMIUM).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

CHROMIUM = os.environ.get("SHAPETRACE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def spec_50() -> dict:
    """50 layers, ResNet-style: a stem, three stages of residual blocks (conv-BN-ReLU-conv-BN,
    a 1x1/2 projection where a stage downsamples, ReLU after the add), global pooling and a
    classifier; 64x64 RGB input. 50 leaf layers (plus 7 Residual blocks)."""
    layers: list[dict] = [
        {"type": "Conv2d", "name": "stem", "out_channels": 32, "kernel_size": 3, "padding": 1},
        {"type": "BatchNorm2d", "name": "stem_bn"}, {"type": "ReLU", "name": "stem_relu"}]
    channels = 32
    for stage, blocks in enumerate((2, 2, 3), start=1):
        out = channels * 2 if stage > 1 else channels
        for b in range(blocks):
            down = stage > 1 and b == 0
            block = {"type": "Residual", "name": f"s{stage}b{b}", "body": [
                {"type": "Conv2d", "out_channels": out, "kernel_size": 3, "padding": 1,
                 "stride": 2 if down else 1},
                {"type": "BatchNorm2d"}, {"type": "ReLU"},
                {"type": "Conv2d", "out_channels": out, "kernel_size": 3, "padding": 1},
                {"type": "BatchNorm2d"}],
                "post": [{"type": "ReLU"}]}
            if down:
                block["shortcut"] = [{"type": "Conv2d", "out_channels": out, "kernel_size": 1, "stride": 2}]
            layers.append(block)
        channels = out
    layers += [{"type": "AdaptiveAvgPool2d", "name": "pool", "output_size": 1},
               {"type": "Flatten", "name": "flatten"},
               {"type": "Linear", "name": "fc", "out_features": 10}]
    spec = {"name": "bench50", "input": [1, 3, 64, 64], "layers": layers}
    assert count_leaves(spec["layers"]) == 50, count_leaves(spec["layers"])
    return spec


def count_leaves(nodes) -> int:
    n = 0
    for node in nodes:
        if node["type"] in ("Residual", "Concat", "Sequential"):
            for key in ("body", "shortcut", "post", "layers"):
                n += count_leaves(node.get(key, []))
            for br in node.get("branches", []):
                n += count_leaves(br)
        else:
            n += 1
    return n


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def bench_handler(spec: dict, n: int, task: str = "flow") -> dict:
    from shapetrace.web.limits import DEFAULT_LIMITS
    from shapetrace.web.tasks import TASKS

    body = json.dumps(spec).encode()
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        out = TASKS[task](body, DEFAULT_LIMITS)
        times.append(time.perf_counter() - t0)
    if task == "view":
        out = json.dumps(json.loads(out)["flow"])
    return {"median_ms": statistics.median(times) * 1e3, "p95_ms": pct(times, 0.95) * 1e3,
            "response_bytes": len(out), "rows": len(json.loads(out)["rows"])}


class Server:
    def __init__(self):
        import uvicorn

        from shapetrace.cli.serve_cmd import bind_socket
        from shapetrace.web.app import create_app

        self.sock = bind_socket("127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/"
        self.server = uvicorn.Server(uvicorn.Config(create_app(), log_level="warning", access_log=False))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self):
        self.thread.start()
        while not self.server.started:
            time.sleep(0.01)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(10)


def bench_http(url: str, spec: dict, n: int, path: str = "api/flow") -> dict:
    import httpx

    times = []
    with httpx.Client(base_url=url) as c:
        for _ in range(10):  # warm-up: connection, imports, first flow
            c.post(path, json=spec).raise_for_status()
        for _ in range(n):
            t0 = time.perf_counter()
            r = c.post(path, json=spec)
            times.append(time.perf_counter() - t0)
            r.raise_for_status()
    return {"median_ms": statistics.median(times) * 1e3, "p95_ms": pct(times, 0.95) * 1e3}


def bench_worst(url: str) -> dict:
    import httpx

    from shapetrace.web.limits import DEFAULT_LIMITS

    spec = {"input": [1, 64, 32, 32], "layers": [
        {"type": "Conv2d", "out_channels": 64, "kernel_size": 3, "padding": 1}] * DEFAULT_LIMITS.max_layers}
    with httpx.Client(base_url=url, timeout=60) as c:
        t0 = time.perf_counter()
        r = c.post("api/flow", json=spec)
        dt = time.perf_counter() - t0
        r.raise_for_status()
        t1 = time.perf_counter()
        r2 = c.post("api/flow", json={"input": [1, 8], "layers": [{"type": "ReLU"}] * 10_000})
        refused = time.perf_counter() - t1
    return {"layers": DEFAULT_LIMITS.max_layers, "seconds": dt, "response_mb": len(r.content) / 2**20,
            "ten_thousand_status": r2.status_code, "ten_thousand_refused_ms": refused * 1e3}


# Runs inside the page: type a new value into conv out_channels, wait for the table to be
# redrawn (body[data-rev] changes), return the elapsed milliseconds.
# An edit (the field's `input` event) -> the page drawn again; [selector, value] -> ms.
CONV_OUT = '#stack-root li.card[data-type="Conv2d"] input[aria-label="out_channels"]'
EDIT_JS = """async ([selector, value]) => {
  const input = document.querySelector(selector);
  const body = document.body;
  const before = body.dataset.rev;
  const done = new Promise((resolve) => {
    const obs = new MutationObserver(() => {
      if (body.dataset.rev !== before && body.dataset.state !== "computing") { obs.disconnect(); resolve(); }
    });
    obs.observe(body, { attributes: true });
  });
  const t0 = performance.now();
  input.value = String(value);
  input.dispatchEvent(new Event("input", { bubbles: true }));
  await done;
  return performance.now() - t0;
}"""


def bench_browser(url: str, spec: dict, n: int) -> dict:
    import base64

    from playwright.sync_api import sync_playwright

    frag = base64.urlsafe_b64encode(json.dumps({"v": 1, "spec": spec, "layout": "nchw", "lang": "en"})
                                    .encode()).decode().rstrip("=")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 960})
        page.goto(url + "#j=" + frag)
        page.wait_for_selector("body[data-rev][data-state=ok]", timeout=30_000)
        rows = page.locator("#flow-body > tr.row").count()
        times = []
        for i in range(n + 5):
            ms = page.evaluate(EDIT_JS, [CONV_OUT, 32 + (i % 2) * 16])
            if i >= 5:  # warm-up
                times.append(ms)
        version = browser.version
        browser.close()
    return {"median_ms": statistics.median(times), "p95_ms": pct(times, 0.95), "rows_shown": rows,
            "chromium": version}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--edits", type=int, default=60)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()

    spec = spec_50()
    result = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
              "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
              "handler": bench_handler(spec, args.requests),
              "view_handler": bench_handler(spec, args.requests, "view")}
    with Server() as srv:
        result["http"] = bench_http(srv.url, spec, args.requests)
        result["view_http"] = bench_http(srv.url, spec, args.requests, "api/view")
        result["edit"] = bench_browser(srv.url, spec, args.edits)
        result["worst"] = bench_worst(srv.url)

    h, w, e, x = result["handler"], result["http"], result["edit"], result["worst"]
    vh, vw = result["view_handler"], result["view_http"]
    print(f"shapetrace web benchmark, {result['date']}, {result['machine']}")
    print(f"50-layer spec ({h['rows']} rows, {h['response_bytes'] / 1024:.0f} KiB of JSON):")
    print(f"  server work per request (in-process)   median {h['median_ms']:.2f} ms   p95 {h['p95_ms']:.2f} ms")
    print(f"  POST /api/flow over HTTP (uvicorn)     median {w['median_ms']:.2f} ms   p95 {w['p95_ms']:.2f} ms")
    print(f"  /api/view work (flow + display text)   median {vh['median_ms']:.2f} ms   p95 {vh['p95_ms']:.2f} ms")
    print(f"  POST /api/view over HTTP (the page's)  median {vw['median_ms']:.2f} ms   p95 {vw['p95_ms']:.2f} ms")
    print(f"  edit -> table redrawn (Chromium {e['chromium']}, {e['rows_shown']} rows)"
          f"  median {e['median_ms']:.1f} ms   p95 {e['p95_ms']:.1f} ms")
    print(f"largest accepted spec ({x['layers']:,} conv layers): {x['seconds'] * 1e3:.0f} ms, "
          f"{x['response_mb']:.1f} MiB; 10,000 layers: HTTP {x['ten_thousand_status']} "
          f"in {x['ten_thousand_refused_ms']:.0f} ms")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()

"""The web calculator under hostile load (issue 12's targets), on the real server
(``shapetrace serve``'s ``run_server`` in a subprocess, default limits, loopback):

    python benchmarks/bench_web_load.py [--json out.json] [--skip-browser]

Measured:
  idle       100 TCP connections opened and left silent; then 20 normal requests
             (POST /api/view, the 50-layer spec of bench_web.py), one at a time, each on a
             new connection: latency max and median. Target: each within 1 s.
  flood      200 clients post that spec at once (threads released by one barrier): how
             many got 200 / 429 / other, and the latency of the admitted (200) ones.
             Targets: no 5xx, admitted p99 under 1 s.
  killed     6 requests that keep a worker busy 1 s each (the tests' "test-sleep" spec
             name, SHAPETRACE_WEB_TEST_TASKS=1) on 2 workers; both workers killed with -9
             0.5 s after they start: every answer's status and time. Target: every request
             answered within the deadline (max_wait_seconds + max_seconds = 15 s).
  page       headless Chromium: navigation to the first table drawn (the default preset,
             the seed), and choosing the ResNet-18 preset until its table is drawn
             (median and max of N). Targets: under 0.5 s and under 0.3 s.

Needs the [web] and [test] extras and /usr/bin/chromium (or $SHAPETRACE_CHROMIUM).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import statistics
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_web import CHROMIUM, CHROMIUM_ARGS, pct, spec_50  # noqa: E402

from tests.web.server_proc import Background, Server, slow  # noqa: E402  (the tests' launcher)


def ms(xs: list[float]) -> dict:
    return {"median_ms": statistics.median(xs) * 1e3, "p99_ms": pct(xs, 0.99) * 1e3,
            "max_ms": max(xs) * 1e3}


def bench_idle(s: Server, spec: dict, n: int = 20) -> dict:
    idle = [s.raw() for _ in range(100)]
    try:
        times, statuses = [], []
        for _ in range(n):
            a = s.post("/api/view", spec, timeout=30)
            statuses.append(a.status)
            times.append(a.seconds)
    finally:
        for c in idle:
            c.close()
    return {"statuses": sorted(set(statuses)), **ms(times)}


def bench_flood(s: Server, spec: dict, n: int = 200) -> dict:
    barrier = threading.Barrier(n)
    body = json.dumps(spec).encode()

    def one():
        barrier.wait()
        return s.post("/api/view", body, timeout=60)

    answers = Background([one for _ in range(n)]).wait(120)
    errors = [a for a in answers if isinstance(a, Exception)]
    ok = [a for a in answers if not isinstance(a, Exception)]
    counts: dict[str, int] = {}
    for a in ok:
        counts[str(a.status)] = counts.get(str(a.status), 0) + 1
    json_bodies = all(a.headers.get("content-type") == "application/json" for a in ok)
    admitted = [a.seconds for a in ok if a.status == 200]
    return {"requests": n, "statuses": counts, "client_errors": len(errors), "all_json": json_bodies,
            "admitted": ms(admitted) if admitted else None,
            "refused": ms([a.seconds for a in ok if a.status == 429]) if counts.get("429") else None}


def bench_killed(s: Server) -> dict:
    work = Background([lambda: s.post("/api/flow", slow(1)) for _ in range(6)])
    deadline = time.monotonic() + 30
    while len(pids := s.worker_pids()) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.5)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    answers = work.wait(60)
    return {"killed": len(pids), "statuses": [getattr(a, "status", repr(a)) for a in answers],
            "seconds": [round(a.seconds, 2) for a in answers if not isinstance(a, Exception)]}


# In the page: the time from navigation start to the first table row, recorded by an
# observer installed before the page's own scripts run.
FIRST_TABLE_INIT = """
new MutationObserver((_, obs) => {
  if (document.querySelector('#flow-body > tr.row') && document.body.dataset.state === 'ok') {
    window.__firstTable = performance.now(); obs.disconnect();
  }
}).observe(document, { subtree: true, childList: true, attributes: true });
"""

# Choose a preset in the menu; resolve when its table is drawn (body[data-rev] changes and
# the state is no longer "computing"): milliseconds.
PRESET_JS = """async (id) => {
  const body = document.body;
  const before = body.dataset.rev;
  const done = new Promise((resolve) => {
    const obs = new MutationObserver(() => {
      if (body.dataset.rev !== before && body.dataset.state !== "computing" && body.dataset.state !== "loading") { obs.disconnect(); resolve(); }
    });
    obs.observe(body, { attributes: true });
  });
  const sel = document.querySelector('#preset');
  const t0 = performance.now();
  sel.value = id;
  sel.dispatchEvent(new Event('change', { bubbles: true }));
  await done;
  return performance.now() - t0;
}"""


def bench_page(url: str, n: int) -> dict:
    from playwright.sync_api import sync_playwright

    loads, presets, rows, options = [], [], 0, 0
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1440, "height": 960})
        context.add_init_script(FIRST_TABLE_INIT)
        page = context.new_page()
        page.goto(url)  # warm-up: the browser's first start, caches
        page.wait_for_selector("body[data-state=ok] #flow-body > tr.row", timeout=30_000)
        for i in range(n + 1):
            page.goto(url + f"?run={i}")  # a new navigation each time (no fragment)
            page.wait_for_selector("body[data-state=ok] #flow-body > tr.row", timeout=30_000)
            if i:
                loads.append(page.evaluate("window.__firstTable") / 1e3)
            for pid in ("resnet18", "seed"):
                t = page.evaluate(PRESET_JS, pid) / 1e3
                if pid == "resnet18" and i:
                    presets.append(t)
                    rows = page.locator("#flow-body > tr.row").count()
                    options = page.evaluate("document.querySelectorAll('option').length")
        version = browser.version
        browser.close()
    return {"chromium": version, "load_first_table": ms(loads), "resnet18_preset": ms(presets),
            "resnet18_rows": rows, "options_in_page": options}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--page-runs", type=int, default=10)
    ap.add_argument("--skip-browser", action="store_true")
    args = ap.parse_args()
    spec = spec_50()
    result = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
              "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
              "load_average": os.getloadavg()[0]}
    with Server(workers=0) as s:  # 0: the default pool size, as `shapetrace serve` has it
        s.post("/api/view", spec)  # warm-up
        result["workers"] = len(s.worker_pids())
        result["idle"] = bench_idle(s, spec)
        result["flood"] = bench_flood(s, spec)
        if not args.skip_browser:
            result["page"] = bench_page(f"http://127.0.0.1:{s.port}/", args.page_runs)
    with Server(workers=2) as s:
        result["killed"] = bench_killed(s)

    i, f, k = result["idle"], result["flood"], result["killed"]
    print(f"shapetrace web load benchmark, {result['date']}, {result['machine']}, "
          f"load average {result['load_average']:.1f}, {result['workers']} worker(s) started")
    print(f"100 idle connections held: 20 requests, status {i['statuses']}, median "
          f"{i['median_ms']:.0f} ms, max {i['max_ms']:.0f} ms")
    adm = f["admitted"]
    print(f"200 concurrent /api/view: {f['statuses']} (client errors {f['client_errors']}, all JSON: "
          f"{f['all_json']}); admitted median {adm['median_ms']:.0f} ms, p99 {adm['p99_ms']:.0f} ms, "
          f"max {adm['max_ms']:.0f} ms")
    print(f"{k['killed']} busy workers killed: statuses {k['statuses']}, seconds {k['seconds']}")
    if "page" in result:
        pg = result["page"]
        print(f"page (Chromium {pg['chromium']}): load to first table median "
              f"{pg['load_first_table']['median_ms']:.0f} ms, max {pg['load_first_table']['max_ms']:.0f} ms; "
              f"ResNet-18 preset ({pg['resnet18_rows']} rows, {pg['options_in_page']} <option>s) median "
              f"{pg['resnet18_preset']['median_ms']:.0f} ms, max {pg['resnet18_preset']['max_ms']:.0f} ms")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()

"""The page's pictures: time from an edit to the table, the model's graph and the conv
picture all redrawn, for the seed (the page's default preset), in headless Chromium.
Target (issue 10): within 50 ms of an edit.

    python benchmarks/bench_pictures.py [--edits 40]

Two edits, each measured inside the page with performance.now() from the `input` event to
the moment the page says it is drawn (body[data-rev] changes; showReport draws the table,
then the graph, then the conv picture, before that): typing conv1's out_channels, and
dragging the first pool's kernel_size slider. Both include the page's debounce, the
request to the local server and the server's work.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_web import CHROMIUM, CHROMIUM_ARGS, CONV_OUT, EDIT_JS, Server, pct  # noqa: E402

DRAWN = "() => !!document.querySelector('#graph svg') && !!document.querySelector('#conv .convpic')"

EDITS = {
    "type conv1's out_channels": (CONV_OUT, (32, 48)),
    "drag pool's kernel_size slider": ('#stack-root li.card[data-type="MaxPool2d"] input.arg-slider', (2, 3)),
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--edits", type=int, default=40)
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    with Server() as srv, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 960})
        page.goto(srv.url)
        page.wait_for_selector("body[data-rev][data-state=ok] #graph svg", timeout=30_000)
        print(f"Chromium {browser.version}, the seed preset, {args.edits} edits each (after 5 warm-up)\n")
        print("| edit | median | p95 |")
        print("|---|---|---|")
        for name, (selector, values) in EDITS.items():
            times = []
            for i in range(args.edits + 5):
                ms = page.evaluate(EDIT_JS, [selector, values[i % 2]])
                if not page.evaluate(DRAWN):
                    raise SystemExit("the pictures were not drawn after an edit")
                if i >= 5:
                    times.append(ms)
            print(f"| {name} | {statistics.median(times):.1f} ms | {pct(times, 0.95):.1f} ms |")
        browser.close()


if __name__ == "__main__":
    main()

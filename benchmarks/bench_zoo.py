"""Zoo benchmark (issue 11): every real model of tests/trace/real_zoo.py (transformers 5
from tiny configs, torchvision's definitions; no weights), shapetrace.summary against
torchinfo.summary in one run, plus ResNet-50 (CPU-built, 224x224) and the render time of
the largest table, torchvision's DenseNet-121 at 224x224 (498 rows), against its trace.

Each model is built once (not timed); each tool is called once to warm up (torch's lazy
imports, the first meta kernels) and then ``--repeat`` times, the two tools in turns (so
a noisy spell of a shared machine slows both): the best of each is reported.
shapetrace runs with its default device, as a user calls it: meta, or the CPU where meta
cannot run the model (the report says which; the table shows it); torchinfo runs its
default, a real forward on the model's device (the CPU), with the same input
(``input_data=``; ``input_size=`` for ResNet-50, its own documented default). One intra-op
thread for both (the models are tiny: more threads only add their own overhead). A model
the default cannot trace is left out of the table, with its error on stderr.

    python benchmarks/bench_zoo.py                 # Markdown on stdout
    python benchmarks/bench_zoo.py --repeat 5 --only bert gpt2

The numbers depend on the machine and on its load; compare rows of one run.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests/trace/real_zoo.py (the zoo) and benchmarks/trace_models.py
sys.path.insert(0, str(ROOT / "benchmarks"))


def best(fn, repeat: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def best_pair(fn, other, repeat: int) -> tuple[float, float]:
    """The best time of each of two calls, timed in turns: a noisy spell of a shared
    machine then slows both, not whichever happened to run during it."""
    fn()
    other()  # warm-up
    a, b = [], []
    for _ in range(repeat):
        for f, times in ((fn, a), (other, b)):
            t = time.perf_counter()
            f()
            times.append(time.perf_counter() - t)
    return min(a), min(b)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", nargs="*", help="zoo model names (default: all)")
    args = ap.parse_args()

    import torch
    import torchinfo

    from tests.trace.real_zoo import CASES, built, import_torchvision

    import shapetrace
    from shapetrace import render

    torch.set_num_threads(1)
    names = args.only or list(CASES)
    unknown = [n for n in names if n not in CASES]
    if unknown:
        ap.error(f"--only: no zoo model named {', '.join(unknown)} (the zoo: {', '.join(CASES)})")
    rows = []
    for name in names:
        model, data = built(name), CASES[name].input_data()
        try:  # where the default traces it: meta, or the CPU (the report's ran_on_cpu warning)
            report = shapetrace.summary(model, input_data=data)
            problem = None if report.ok else "the trace reports a failure"
        except Exception as e:  # noqa: BLE001 - a model the default cannot trace: not timed
            problem = f"{type(e).__name__}: {e}"
        if problem:
            print(f"{name}: left out: {problem}", file=sys.stderr)
            continue
        st, ti = best_pair(lambda: shapetrace.summary(model, input_data=data),
                           lambda: torchinfo.summary(model, input_data=data, verbose=0), args.repeat)
        rows.append((name, report.device, st, ti))
        print(f"{name}: {st * 1e3:.1f} ms vs {ti * 1e3:.1f} ms", file=sys.stderr)

    from trace_models import resnet50

    torch.manual_seed(0)
    r50 = resnet50().eval()
    st, ti = best_pair(lambda: shapetrace.summary(r50, input_size=(1, 3, 224, 224)),
                       lambda: torchinfo.summary(r50, input_size=(1, 3, 224, 224), verbose=0), args.repeat)
    rows.append(("resnet50 (224x224, input_size=)", "meta", st, ti))

    tv = import_torchvision()
    torch.manual_seed(0)
    dn = tv.models.densenet121(weights=None).eval()
    report = shapetrace.summary(dn, input_size=(1, 3, 224, 224))
    t_trace = best(lambda: shapetrace.summary(dn, input_size=(1, 3, 224, 224)), args.repeat)
    t_160 = best(lambda: render.table(report, width=160), args.repeat)
    t_nat = best(lambda: render.table(report, width=None), args.repeat)
    t_fit = best(lambda: render.rich_table(report, width=120), args.repeat)

    load = os.getloadavg()[0]
    print(f"Run {_dt.datetime.now(_dt.timezone.utc):%Y-%m-%d %H:%M} UTC with "
          f"`python benchmarks/bench_zoo.py --repeat {args.repeat}` (torch {torch.__version__}, "
          f"torchinfo {getattr(torchinfo, '__version__', '?')}, Python {platform.python_version()}, "
          f"one thread, load average {load:.1f} at the end).\n")
    print("| model | shapetrace device | shapetrace | torchinfo | shapetrace / torchinfo |")
    print("|---|---|---:|---:|---:|")
    for name, device, st, ti in rows:
        print(f"| {name} | {device} | {st * 1e3:.1f} ms | {ti * 1e3:.1f} ms | {st / ti:.2f}x |")
    ratios = sorted(st / ti for _, _, st, ti in rows)
    print(f"\nMedian shapetrace / torchinfo: {ratios[len(ratios) // 2]:.2f}x; "
          f"slowest: {ratios[-1]:.2f}x.\n")
    print(f"DenseNet-121 (224x224, {len(report.rows)} rows): trace {t_trace * 1e3:.0f} ms; "
          f"`render.table` at width 160 {t_160 * 1e3:.0f} ms, at its natural width "
          f"{t_nat * 1e3:.0f} ms; `render.rich_table(width=120)` (the terminal's: columns dropped "
          f"to fit) {t_fit * 1e3:.0f} ms.")


if __name__ == "__main__":
    main()

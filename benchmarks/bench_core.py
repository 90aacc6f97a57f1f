"""Core benchmark (issue 2, requirement 8), in one run:

1. Evaluations per second of ``shapetrace.output_shape("Conv2d", ...)`` (pure Python,
   no torch) against the torch way of getting the same answer: build
   ``torch.nn.Conv2d`` on the meta device and run it on a meta tensor. Both answer the
   seed's first layer, Conv2d(1, 32, 3, padding=1) on (1, 1, 28, 28); each side runs
   in the same process for the same wall time, best of ``--rounds`` rounds.
2. Cold start: the wall time of the command
   ``shapetrace layer Conv2d --input 1,1,28,28 out_channels=32 kernel_size=3 padding=1``
   against ``python -c "import torch"`` (and ``python -c "import shapetrace"``), each a
   fresh process, median of ``--reps`` runs.

    python benchmarks/bench_core.py                       # Markdown report on stdout
    python benchmarks/bench_core.py --out /tmp/core.md     # then paste into docs/benchmarks.md

The numbers depend on the machine and its load; compare rows of one run.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

INPUT = (1, 1, 28, 28)
KWARGS = dict(in_channels=1, out_channels=32, kernel_size=3, padding=1)
LAYER_CMD = ["layer", "Conv2d", "--input", "1,1,28,28", "out_channels=32", "kernel_size=3", "padding=1"]


def _rate(fn, seconds: float, rounds: int) -> float:
    """Calls per second: the best of ``rounds`` rounds of about ``seconds`` each."""
    fn()  # warm up (first-call imports, caches)
    best = 0.0
    for _ in range(rounds):
        n, start = 0, time.perf_counter()
        deadline = start + seconds
        while True:
            for _ in range(50):
                fn()
            n += 50
            now = time.perf_counter()
            if now >= deadline:
                break
        best = max(best, n / (now - start))
    return best


def throughput(seconds: float, rounds: int) -> dict[str, float]:
    import torch

    import shapetrace

    torch.set_num_threads(1)

    def ours():
        return shapetrace.output_shape("Conv2d", INPUT, **KWARGS)

    x = torch.empty(INPUT, device="meta")

    def meta():
        layer = torch.nn.Conv2d(**KWARGS, device="meta")
        return tuple(layer(x).shape)

    assert ours() == meta() == (1, 32, 28, 28)
    return {"shapetrace.output_shape": _rate(ours, seconds, rounds),
            "torch.nn.Conv2d on meta (build + forward)": _rate(meta, seconds, rounds)}


def _wall(cmd: list[str], reps: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed: {proc.stderr.strip()}")
    return statistics.median(times), times


def cold_start(reps: int) -> dict[str, tuple[str, float, list[float]]]:
    from bytecode import compile_package

    compile_package()  # as a pip install leaves it (see bytecode.py)
    exe = shutil.which("shapetrace") or ""
    cli = [exe] + LAYER_CMD if exe else [sys.executable, "-m", "shapetrace"] + LAYER_CMD
    shown = "shapetrace " + " ".join(LAYER_CMD)
    rows = {}
    for label, cmd, text in [
        ("shapetrace layer", cli, shown),
        ("import shapetrace", [sys.executable, "-c", "import shapetrace"], 'python -c "import shapetrace"'),
        ("import torch", [sys.executable, "-c", "import torch"], 'python -c "import torch"'),
    ]:
        median, times = _wall(cmd, reps)
        rows[label] = (text, median, times)
    return rows


def report(rates, starts, args) -> str:
    import torch

    import shapetrace

    ours = rates["shapetrace.output_shape"]
    meta = rates["torch.nn.Conv2d on meta (build + forward)"]
    lines = [
        "# Core benchmark: output_shape and cold start",
        "",
        f"Run {_dt.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')} with "
        f"`python benchmarks/bench_core.py{' ' + ' '.join(args) if args else ''}`",
        f"(shapetrace {shapetrace.__version__}, torch {torch.__version__}, Python {platform.python_version()}, "
        f"{platform.machine()}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end).",
        "",
        "## Evaluations per second (Conv2d(1, 32, 3, padding=1) on (1, 1, 28, 28))",
        "",
        "| method | evaluations/s | time per evaluation |",
        "|---|---:|---:|",
    ]
    for name, rate in rates.items():
        lines.append(f"| {name} | {rate:,.0f} | {1e6 / rate:,.1f} µs |")
    lines += ["", f"`output_shape` is **{ours / meta:.1f}x** faster than building the layer and running it on "
                  f"the meta device (best of {args_ns.rounds} rounds of {args_ns.seconds:g} s each, one thread).", "",
              "## Cold start (a fresh process, wall time)", "",
              "| command | median | all runs |", "|---|---:|---|"]
    for text, median, times in starts.values():
        lines.append(f"| `{text}` | {median * 1000:,.0f} ms | {', '.join(f'{t * 1000:.0f}' for t in times)} ms |")
    cli, imp = starts["shapetrace layer"][1], starts["import torch"][1]
    lines += ["", f"`shapetrace layer ...` starts in **{cli / imp:.0%}** of the time `import torch` alone takes "
                  f"(median of {args_ns.reps} runs each); it never imports torch.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    global args_ns
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="length of one throughput round")
    parser.add_argument("--rounds", type=int, default=3, help="throughput rounds (best is reported)")
    parser.add_argument("--reps", type=int, default=7, help="cold-start runs per command (median)")
    parser.add_argument("--out", type=Path, help="also write the Markdown report here (atomically)")
    args_ns = parser.parse_args(argv)
    argv_shown = [a for a in (argv if argv is not None else sys.argv[1:])]
    rates = throughput(args_ns.seconds, args_ns.rounds)
    starts = cold_start(args_ns.reps)
    text = report(rates, starts, argv_shown)
    print(text)
    if args_ns.out:
        args_ns.out.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=args_ns.out.parent, prefix=".core-", suffix=".md")
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, args_ns.out)


args_ns: argparse.Namespace

if __name__ == "__main__":
    main()

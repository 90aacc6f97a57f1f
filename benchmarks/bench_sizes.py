"""Benchmark `shapetrace sizes` (issue 16) against the issue's targets.

Targets (issue 16, requirement 6):
  - the seed's accepted set at --max 4096, CLI cold, within 1.3x `python -c "import torch"`;
  - a spec file's (examples/resnet18.yaml) in under 0.5 s (torch-free);
  - ResNet-50 built on CPU, H, W up to 1024, via shapetrace.accepted_sizes, in under 5 s;
  - side by side: the brute-force probe's time (one shapetrace.summary call x the sizes).

Run: python benchmarks/bench_sizes.py   (each timing is the best of 3, in fresh subprocesses)
"""
from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPEAT = 3

# Child that builds ResNet-50 (untimed), then times accepted_sizes (H, W in 1..1024) and
# one shapetrace.summary call at 224x224 (the brute-force probe's cost per size).
RESNET_CHILD = r"""
import sys, time
sys.path.insert(0, 'benchmarks')
import torch
import shapetrace
from trace_models import resnet50
m = resnet50().eval()
t = time.perf_counter()
r = shapetrace.accepted_sizes(m, input_size=(1, 3, 224, 224), max_size=1024)
t_sizes = time.perf_counter() - t
shapetrace.summary(m, input_size=(1, 3, 224, 224))  # warm-up
best = min((lambda t0: (shapetrace.summary(m, input_size=(1, 3, 224, 224)), time.perf_counter() - t0)[1])(time.perf_counter()) for _ in range(3))
print(t_sizes, best, len(r.boxes), r.exact)
"""


def _best(cmd: list[str]) -> float:
    times = []
    for _ in range(REPEAT):
        t = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    exe = shutil.which("shapetrace") or "shapetrace"
    py = sys.executable
    import torch  # only for the version line

    print(f"shapetrace sizes, {time.strftime('%Y-%m-%d')}, Python {platform.python_version()}, "
          f"torch {torch.__version__}, {platform.machine()}, {os.cpu_count()} CPUs")
    t_torch = _best([py, "-c", "import torch"])
    t_seed = _best([exe, "sizes", "seed-verbatim"])
    t_spec = _best([exe, "sizes", "examples/resnet18.yaml"])
    runs = []
    for _ in range(REPEAT):
        out = subprocess.run([py, "-c", RESNET_CHILD], cwd=ROOT, capture_output=True, text=True, check=True)
        runs.append(out.stdout.split())
    t_r50 = min(float(r[0]) for r in runs)
    t_probe1 = min(float(r[1]) for r in runs)
    boxes, exact = runs[0][2], runs[0][3]
    n = 1024 * 1024
    ratio = t_seed / t_torch

    def ok(b: bool) -> str:
        return "met" if b else "NOT met"

    print()
    print("| what | time (best of 3) | target | |")
    print("|---|---|---|---|")
    print(f"| `python -c \"import torch\"` | {t_torch:.2f} s | (reference) | |")
    print(f"| `shapetrace sizes seed-verbatim` (cold CLI, --max 4096) | {t_seed:.2f} s "
          f"({ratio:.2f}x import torch) | <= 1.3x | {ok(ratio <= 1.3)} |")
    print(f"| `shapetrace sizes examples/resnet18.yaml` (spec, cold CLI) | {t_spec:.2f} s | < 0.5 s | "
          f"{ok(t_spec < 0.5)} |")
    print(f"| ResNet-50, `accepted_sizes`, H, W in 1..1024 (in process, model built) | {t_r50:.2f} s "
          f"({boxes} box(es), exact={exact}) | < 5 s | {ok(t_r50 < 5)} |")
    print(f"| brute force: one `shapetrace.summary` at 224x224 x {n:,} sizes | "
          f"{t_probe1 * 1000:.0f} ms x {n:,} = {t_probe1 * n / 3600:.0f} h (estimate) | | |")


if __name__ == "__main__":
    main()

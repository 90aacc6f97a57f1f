"""Graph benchmark: ``render.svg`` (the model's graph as SVG) on the seed, ResNet-50 (built
on the CPU, traced at 224x224, folded to depth 2 and in full) and a 12-layer GPT-style
decoder (folded), with the picture's size and its geometry checked (no node overlap, no
edge through a node). Target (issue 10): ResNet-50 folded in under 0.5 s.

    python benchmarks/bench_svg.py           # a Markdown table on stdout
"""

from __future__ import annotations

import datetime as _dt
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402

import shapetrace  # noqa: E402
from shapetrace import render  # noqa: E402
from shapetrace.models.seed import CNNWithResidual  # noqa: E402
from tests.render.svg_geometry import parse, problems  # noqa: E402
from trace_models import GPTConfig, gpt, resnet50  # noqa: E402


def best(fn, n: int = 5) -> float:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    torch.manual_seed(0)
    cases = [
        ("seed", shapetrace.summary(CNNWithResidual(), (1, 1, 28, 28)), None),
        ("ResNet-50, depth 2", shapetrace.summary(resnet50(), (1, 3, 224, 224)), 2),
        ("ResNet-50, full", shapetrace.summary(resnet50(), (1, 3, 224, 224)), None),
        ("GPT 12 layers, depth 2", shapetrace.summary(
            gpt(GPTConfig(vocab_size=256, block_size=64, n_layer=12, n_head=4, n_embd=64)),
            input_data=torch.zeros(1, 64, dtype=torch.long)), 2),
    ]
    print(f"render.svg, {_dt.date.today()}, Python {platform.python_version()}, torch {torch.__version__}, "
          f"{platform.machine()}\n")
    print("| model | rows | nodes drawn | SVG size | time (best of 5) | geometry |")
    print("|---|---|---|---|---|---|")
    for name, report, depth in cases:
        text = render.svg(report, depth=depth)
        t = best(lambda: render.svg(report, depth=depth))
        pic = parse(text)
        bad = problems(pic)
        print(f"| {name} | {len(report.rows)} | {len(pic.nodes)} | {len(text) / 1024:.0f} KiB, "
              f"{pic.width:.0f}x{pic.height:.0f} px | {t * 1000:.1f} ms | {'ok' if not bad else bad[0]} |")


if __name__ == "__main__":
    main()

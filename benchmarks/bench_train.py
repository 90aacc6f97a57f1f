"""Training benchmark: `shapetrace train` on full MNIST against the issue's targets.

    python benchmarks/bench_train.py all            # everything below, one after the other
    python benchmarks/bench_train.py matmul         # this machine's fp32 matmul FLOP/s (2 threads)
    python benchmarks/bench_train.py steps          # bare training-step images/s: layout x precision x batch
    python benchmarks/bench_train.py default        # `shapetrace train` as shipped: wall time, accuracy, img/s
    python benchmarks/bench_train.py race           # time to 99.0% test accuracy: ours vs a tutorial loop
    python benchmarks/bench_train.py long --seeds 0 1 2   # the long recipe, median of the seeds

Results go to benchmarks/results/train-<part>.json (one file per part, appended per run), and
docs/benchmarks.md, section 3 quotes them. Everything runs on 2 threads (torch.set_num_threads(2)).

Definitions
* FLOP per training image: counted by torch.utils.flop_counter.FlopCounterMode over one
  training step (forward + backward, batch 256) of the seed model, divided by the batch.
* achieved FLOP/s = training images/s x FLOP per image; compared with the fp32 matmul FLOP/s
  measured here in the same script (a 2048 x 2048 x 2048 torch.mm, best of several).
* time to 99.0%: training time (the clock stops during evaluations) until the first
  evaluation on the full 10,000-digit test set that reaches 99.0%. The baseline is evaluated
  every 200 steps (12,800 images); ours at the end of its (one-cycle) run, the shortest
  such run that reaches 99.0%.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "mnist"
RESULTS = REPO / "benchmarks" / "results"
THREADS = 2


def _torch():
    import torch

    torch.set_num_threads(THREADS)
    return torch


def load_avg() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def record(part: str, result: dict) -> dict:
    RESULTS.mkdir(parents=True, exist_ok=True)
    result = {"part": part, "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform(),
                          "python": platform.python_version()},
              **result}
    path = RESULTS / f"train-{part}.json"
    runs = json.loads(path.read_text()) if path.exists() else []
    runs.append(result)
    path.write_text(json.dumps(runs, indent=2) + "\n")
    print(json.dumps(result, indent=2), flush=True)
    return result


# ----------------------------------------------------------------------------- machine and model

def matmul_flops(n: int = 2048, repeats: int = 10) -> float:
    """fp32 matmul FLOP/s on THREADS threads: best of ``repeats`` (2 n^3 FLOP each)."""
    torch = _torch()
    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(3):
        torch.mm(a, b)
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - t)
    return 2 * n ** 3 / best


def flops_per_train_image(batch: int = 256) -> dict:
    torch = _torch()
    import torch.nn.functional as F
    from torch.utils.flop_counter import FlopCounterMode

    from shapetrace.models.seed import CNNWithResidual

    model = CNNWithResidual()
    x, y = torch.randn(batch, 1, 28, 28), torch.randint(0, 10, (batch,))
    with FlopCounterMode(display=False) as fwd:
        out = model(x)
    with FlopCounterMode(display=False) as both:
        F.cross_entropy(model(x), y).backward()
    del out
    return {"forward": fwd.get_total_flops() / batch, "train_step": both.get_total_flops() / batch}


def run_matmul(_args) -> dict:
    values = [matmul_flops() for _ in range(3)]
    return record("matmul", {"threads": THREADS, "fp32_matmul_flops": max(values),
                             "all": values, "load_avg": load_avg(), "model_flops": flops_per_train_image()})


def run_steps(_args) -> dict:
    """Images/s of bare training steps (forward, backward, AdamW; no data handling) for memory
    layout x precision x batch, measured round-robin (3 rounds of ~2,000 images each) so that
    a change in the machine's load hits every variant alike."""
    torch = _torch()
    import torch.nn.functional as F

    from shapetrace.models.seed import CNNWithResidual

    variants = [(layout, bf16, batch) for batch in (64, 256) for layout in ("nchw", "channels_last")
                for bf16 in (False, True)]

    def make(layout: str, bf16: bool, batch: int):
        torch.manual_seed(0)
        fmt = torch.channels_last if layout == "channels_last" else torch.contiguous_format
        model = CNNWithResidual().to(memory_format=fmt)
        opt = torch.optim.AdamW(model.parameters(), 1e-3)
        x = torch.randn(batch, 1, 28, 28).contiguous(memory_format=fmt)
        y = torch.randint(0, 10, (batch,))

        def step():
            with torch.autocast("cpu", torch.bfloat16, enabled=bf16):
                out = model(x)
            loss = F.cross_entropy(out.float(), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        for _ in range(3):
            step()
        return step

    steps = {v: make(*v) for v in variants}
    rates: dict = {v: [] for v in variants}
    for _ in range(3):
        for v, step in steps.items():
            n = max(2, 2048 // v[2])
            t = time.perf_counter()
            for _ in range(n):
                step()
            rates[v].append(n * v[2] / (time.perf_counter() - t))
    rows = [{"layout": v[0], "bf16": v[1], "batch": v[2], "images_per_s": round(statistics.median(r), 1),
             "all": [round(x, 1) for x in r]} for v, r in rates.items()]
    return record("steps", {"threads": THREADS, "rows": rows, "load_avg": load_avg()})


# ----------------------------------------------------------------------------- our CLI, in a subprocess

def shapetrace_train(out: Path, *args: str) -> dict:
    cmd = [sys.executable, "-m", "shapetrace", "train", "--out", str(out), "--overwrite", "--quiet",
           "--threads", str(THREADS), *args]
    print("$", " ".join(cmd[1:]), flush=True)
    before = load_avg()
    cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    wall = time.perf_counter() - t
    cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_s = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    if done.returncode != 0:
        raise SystemExit(f"shapetrace train failed ({done.returncode}): {done.stderr.strip()}")
    print(done.stdout, flush=True)
    m = json.loads((out / "metrics.json").read_text())
    return {"command": "shapetrace train " + " ".join(args), "wall_s": round(wall, 1), "cpu_s": round(cpu_s, 1),
            "test_acc": m["test"]["accuracy"], "history": m["history"], "train_s": m["train_s"],
            "train_images_per_s": m["train_images_per_s"], "load_avg_before": before, "load_avg_after": load_avg()}


def _flops_fields(images_per_s: float) -> dict:
    runs = json.loads((RESULTS / "train-matmul.json").read_text()) if (RESULTS / "train-matmul.json").exists() else []
    if not runs:
        runs = [run_matmul(None)]
    peak = runs[-1]["fp32_matmul_flops"]
    per_image = runs[-1]["model_flops"]["train_step"]
    achieved = images_per_s * per_image
    return {"flop_per_train_image": per_image, "achieved_flops": achieved, "fp32_matmul_flops": peak,
            "fraction_of_matmul": round(achieved / peak, 3)}


def run_default(args) -> dict:
    res = shapetrace_train(Path(args.work) / "default", "--data", str(args.data))
    return record("default", {**res, **_flops_fields(res["train_images_per_s"])})


def run_long(args) -> dict:
    runs = []
    for seed in args.seeds:
        extra = ["--bf16"] if args.bf16 else []
        runs.append(shapetrace_train(Path(args.work) / f"long-{seed}", "--data", str(args.data), "--preset", "long",
                                     "--seed", str(seed), *extra))
        print(f"seed {seed}: {runs[-1]['test_acc']:.2%}", flush=True)
    accs = [r["test_acc"] for r in runs]
    return record("long", {"seeds": args.seeds, "test_acc": accs, "median_test_acc": statistics.median(accs),
                           "bf16": args.bf16, "runs": runs})


# ----------------------------------------------------------------------------- the race to 99.0%

def baseline_time_to(target: float, data: Path, max_epochs: int, eval_every: int = 200, seed: int = 0) -> dict:
    """The tutorial loop: DataLoader over a TensorDataset of normalised floats, batch 64, shuffled,
    Adam(lr=1e-3), no schedule, no augmentation, the same model. Evaluated every ``eval_every`` steps."""
    torch = _torch()
    import torch.nn.functional as F
    from torch.utils.data import DataLoader, TensorDataset

    from shapetrace.data.mnist import PIXEL_MEAN, PIXEL_STD, load_mnist
    from shapetrace.models.seed import CNNWithResidual

    mnist = load_mnist(data, download=False)

    def prep(images):
        return ((torch.from_numpy(images).float() / 255 - PIXEL_MEAN) / PIXEL_STD).unsqueeze(1)

    x_train, y_train = prep(mnist.train_images), torch.from_numpy(mnist.train_labels)
    x_test, y_test = prep(mnist.test_images), torch.from_numpy(mnist.test_labels)
    torch.manual_seed(seed)
    model = CNNWithResidual()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loader = DataLoader(TensorDataset(x_train, y_train), batch_size=64, shuffle=True)

    def test_acc() -> float:
        model.eval()
        correct = 0
        with torch.no_grad():
            for i in range(0, len(y_test), 1000):
                correct += int((model(x_test[i:i + 1000]).argmax(1) == y_test[i:i + 1000]).sum())
        model.train()
        return correct / len(y_test)

    clock, step, seen, evals = 0.0, 0, 0, []
    cpu_start = time.process_time()
    for epoch in range(1, max_epochs + 1):
        t = time.perf_counter()
        for xb, yb in loader:
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            seen += len(yb)
            if step % eval_every == 0:
                clock += time.perf_counter() - t
                acc = test_acc()
                evals.append({"step": step, "epoch": round(seen / len(y_train), 3), "train_s": round(clock, 1),
                              "test_acc": acc})
                print(f"baseline step {step} ({seen / len(y_train):.2f} epochs) {clock:.0f} s: {acc:.2%}", flush=True)
                if acc >= target:
                    return {"reached": True, "time_s": clock, "evals": evals, "images_per_s": seen / clock,
                            "cpu_s_incl_evals": time.process_time() - cpu_start}
                t = time.perf_counter()
        clock += time.perf_counter() - t
    return {"reached": False, "time_s": None, "evals": evals, "images_per_s": seen / clock,
            "cpu_s_incl_evals": time.process_time() - cpu_start}


RACE_VARIANTS = {
    "fp32": [],  # the default recipe, as shipped
    "bf16": ["--bf16"],  # the same with bfloat16 autocast (this CPU has AVX512-BF16)
    "sprint": ["--preset", "sprint"],  # fp32: one pass over 40,000 digits at batch 64
}


def run_race(args) -> dict:
    """Ours (each variant: the shortest one-cycle run, in whole epochs, that ends >= 99.0%), then the
    baseline loop, in the same invocation."""
    target = 0.99
    ours: dict[str, list] = {}
    for name in args.race_variants:
        ours[name] = []
        for epochs in args.race_epochs:
            res = shapetrace_train(Path(args.work) / f"race-{name}-{epochs}", "--data", str(args.data),
                                   "--epochs", str(epochs), *RACE_VARIANTS[name])
            first = next((h for h in res["history"] if h["test_acc"] >= target), None)
            entry = {"epochs": epochs, "test_acc": res["test_acc"], "wall_s": res["wall_s"],
                     "train_images_per_s": res["train_images_per_s"],
                     "time_s": (sum(h["train_s"] for h in res["history"] if h["epoch"] <= first["epoch"])
                                if first else None)}
            ours[name].append(entry)
            print(f"ours {name} --epochs {epochs}: {res['test_acc']:.2%}, time to 99.0%: {entry['time_s']}", flush=True)
            if first:
                break
    base = baseline_time_to(target, Path(args.data), max_epochs=args.baseline_epochs)
    summary = {}
    for name, entries in ours.items():
        best = min((o["time_s"] for o in entries if o["time_s"]), default=None)
        summary[name] = {"time_s": best, "ratio": round(best / base["time_s"], 3) if best and base["time_s"] else None}
    return record("race", {"target": target, "ours": ours, "baseline": base, "summary": summary,
                           "baseline_time_s": base["time_s"], "load_avg": load_avg()})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("part", choices=["all", "matmul", "steps", "default", "race", "long"])
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--work", default="/tmp/shapetrace-bench-train", help="run folders go here")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--bf16", action="store_true", help="the long recipe with --bf16")
    parser.add_argument("--race-epochs", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--race-variants", nargs="+", default=list(RACE_VARIANTS), choices=list(RACE_VARIANTS))
    parser.add_argument("--baseline-epochs", type=int, default=5)
    args = parser.parse_args()
    parts = ["matmul", "steps", "default", "race", "long"] if args.part == "all" else [args.part]
    for part in parts:
        {"matmul": run_matmul, "steps": run_steps, "default": run_default, "race": run_race,
         "long": run_long}[part](args)


if __name__ == "__main__":
    main()

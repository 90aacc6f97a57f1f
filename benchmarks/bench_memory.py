"""Benchmark ``shapetrace.train_memory`` (issue 15) side by side with PyTorch's MemTracker.

For each model: shapetrace's peak and time (a simulated step on fake tensors), MemTracker's
peak of a real CPU step (``torch.distributed._tools.mem_tracker.MemTracker``, one warm-up step
first so the optimizer's state exists, as its docs do) where the step fits this machine, and
MemTracker run under ``FakeTensorMode`` (its docs' way to estimate without memory: the model
built as fake tensors, a warm-up step, then the tracked one) for every model.

  seed       the seed's CNNWithResidual, batch 32, AdamW, float32
  resnet50   benchmarks/trace_models.resnet50 (torchvision's layout), batch 4 at 224x224, SGD momentum
  llama13b   a Llama-2-13B-shaped LlamaForCausalLM (transformers; 40 layers, d 5120, 40 heads,
             MLP 13824, vocab 32000) built under torch.device("meta"), batch 1 x 2048 tokens,
             AdamW, bfloat16 (no real step: 26 GB of weights alone)

Run: python benchmarks/bench_memory.py [--only seed,resnet50,llama13b]
(times are one call each, in this process, after torch and the model are loaded; the machine's
load is printed first, as timings on a shared machine depend on it)
"""

from __future__ import annotations

import argparse
import copy
import os
import platform
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
sys.path.insert(0, ROOT)

import torch  # noqa: E402
from torch.distributed._tools.mem_tracker import MemTracker  # noqa: E402
from torch._subclasses.fake_tensor import FakeTensorMode  # noqa: E402

import shapetrace  # noqa: E402
from shapetrace.trace.placement import threads  # noqa: E402


def _loss(out):
    leaves = [t for t in torch.utils._pytree.tree_leaves(out) if isinstance(t, torch.Tensor) and t.requires_grad]
    return sum(t.sum() for t in leaves)


def _optimizer(kind, params):
    if kind == "momentum":
        return torch.optim.SGD(params, lr=0.01, momentum=0.9, foreach=False)
    return torch.optim.AdamW(params, lr=1e-3, foreach=False)


def _step(model, opt, x):
    _loss(model(x)).backward()
    opt.step()
    opt.zero_grad(set_to_none=True)


def memtracker_real(model, x, optimizer):
    model = copy.deepcopy(model).train()
    opt = _optimizer(optimizer, list(model.parameters()))
    t = time.perf_counter()
    _step(model, opt, x)  # warm-up: the optimizer's state exists
    mt = MemTracker()
    mt.track_external(model, opt, x)
    with mt:
        _step(model, opt, x)
    return time.perf_counter() - t, mt.get_tracker_snapshot("peak")[torch.device("cpu")]["Total"]


def memtracker_fake(build, shape, optimizer, dtype, int_input=None):
    """MemTracker under FakeTensorMode, as its docs estimate a model too big to run."""
    t = time.perf_counter()
    before = torch.get_default_dtype()
    with FakeTensorMode():
        torch.set_default_dtype(dtype)  # built in the dtype: .to() cannot swap fake parameters
        try:
            model = build().train()
        finally:
            torch.set_default_dtype(before)
        opt = _optimizer(optimizer, list(model.parameters()))
        x = torch.randint(0, int_input, shape) if int_input else torch.randn(shape, dtype=dtype)
        _step(model, opt, x)  # warm-up: the optimizer's state exists
        mt = MemTracker()
        mt.track_external(model, opt, x)
        with mt:
            _step(model, opt, x)
        peak = mt.get_tracker_snapshot("peak")[torch.device("cpu")]["Total"]
    return time.perf_counter() - t, peak


def ours(model, shape, **kw):
    t = time.perf_counter()
    r = shapetrace.train_memory(model, shape, **kw)
    return time.perf_counter() - t, r


def seed():
    from shapetrace.models.seed import CNNWithResidual

    torch.manual_seed(0)
    return dict(build=CNNWithResidual, shape=(32, 1, 28, 28), optimizer="adamw", dtype=torch.float32,
                real=True)


def resnet50():
    from trace_models import resnet50 as build

    return dict(build=build, shape=(4, 3, 224, 224), optimizer="momentum", dtype=torch.float32, real=True)


def llama13b():
    from tests.trace.real_zoo import import_torchvision  # transformers imports torchvision: see there

    import_torchvision()
    from transformers import LlamaConfig, LlamaForCausalLM

    cfg = LlamaConfig(hidden_size=5120, intermediate_size=13824, num_hidden_layers=40,
                      num_attention_heads=40, num_key_value_heads=40, vocab_size=32000,
                      max_position_embeddings=4096)
    return dict(build=lambda: LlamaForCausalLM(cfg), shape=(1, 2048), optimizer="adamw",
                dtype=torch.bfloat16, real=False, int_input=32000, meta=True)


MODELS = {"seed": seed, "resnet50": resnet50, "llama13b": llama13b}


def run(name):
    spec = MODELS[name]()
    dtype_name = str(spec["dtype"]).removeprefix("torch.")
    kw = dict(optimizer=spec["optimizer"], dtype=dtype_name)
    if spec.get("int_input"):
        kw["dtypes"] = ["int64"]
    if spec.get("meta"):
        with torch.device("meta"):
            model = spec["build"]().to(spec["dtype"])
    else:
        model = spec["build"]().to(spec["dtype"])
    rows = []
    t, r = ours(model, spec["shape"], device="cpu", **kw)
    rows.append(("shapetrace, --device cpu", t, r.peak, r))
    if spec.get("meta"):
        t2, r2 = ours(model, spec["shape"], device="cuda", **kw)
        rows.append((f"shapetrace, --device cuda (computed on {r2.computed_on})", t2, r2.peak, r2))
    if spec["real"]:
        g = torch.Generator().manual_seed(0)
        x = torch.randn(spec["shape"], generator=g).to(spec["dtype"])
        with threads(1):  # the tracer's: restores the count after
            t, peak = memtracker_real(model, x, spec["optimizer"])
        rows.append(("MemTracker, real CPU step (1 thread)", t, peak, None))
    t, peak = memtracker_fake(spec["build"], spec["shape"], spec["optimizer"], spec["dtype"],
                              spec.get("int_input"))
    rows.append(("MemTracker under FakeTensorMode (CPU)", t, peak, None))
    ref = next(p for label, _, p, _ in rows if label.startswith("MemTracker"))  # real, else fake
    print(f"\n#### {name}: input {spec['shape']}, {spec['optimizer']}, {dtype_name}\n")
    print("| tool | time | peak | vs the reference |")
    print("|---|---:|---:|---:|")
    for label, t, peak, _ in rows:
        print(f"| {label} | {t:.2f} s | {peak:,} B ({peak / 2**30:.3f} GiB) | {peak / ref - 1:+.2%} |")
    r = rows[0][3]
    print(f"\nshapetrace, cpu: params {r.params:,}, grads {r.grads:,}, optimizer state "
          f"{r.optimizer_state:,}, saved activations {r.saved_activations:,}, peak in the {r.peak_phase}; "
          f"FLOPs forward {r.flops_forward:,}, backward {r.flops_backward:,}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default=",".join(MODELS))
    names = [n for n in ap.parse_args().only.split(",") if n]
    print(f"shapetrace memory, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, Python "
          f"{platform.python_version()}, torch {torch.__version__}, {platform.machine()}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    for n in names:
        run(n)


if __name__ == "__main__":
    main()

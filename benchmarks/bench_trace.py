"""Tracer benchmark: shapetrace.summary against torchinfo, torchscan, ptflops and fvcore,
and against the floor of the approach (a bare meta-device forward with no-op module hooks),
on the seed model, ResNet-50 (built normally on the CPU, 224x224) and a GPT-3-13B-shaped
decoder (built on the meta device: 12.85 B parameters, 51 GB in fp32).

Every (tool, model) pair runs in its own subprocess, so each peak RSS is honest: the
process imports torch and the tool and builds the model (setup, not timed), then calls
the tool once (first call: it pays torch's lazy imports, e.g. 1.5-3.5 s for the first
meta-device op that runs a Python reference kernel) and three more times (warm: the best
of three is reported).

Also: the wall time of the command ``shapetrace summary`` (the seed) against
``python -c "import torch"``, best of 5 each.

    python benchmarks/bench_trace.py                # everything, a Markdown report on stdout
    python benchmarks/bench_trace.py --models seed resnet50 --tools shapetrace torchinfo
    python benchmarks/bench_trace.py --json out.json

The numbers depend on the machine and on its load; compare rows of one run.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import io
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TOOLS = ["shapetrace", "shapetrace-auto", "floor", "torchinfo", "torchscan", "ptflops", "fvcore"]
MODELS = ["seed", "resnet50", "gpt13b"]
MEMORY_LIMIT = 12 << 30  # bytes of address space per worker: nothing may materialise 51 GB


# --------------------------------------------------------------------------- worker


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _build(model: str):
    """(model, shapetrace/torchinfo style input, a note)."""
    import torch

    sys.path.insert(0, str(HERE))
    from trace_models import gpt13b_on_meta, resnet50

    if model == "seed":
        from shapetrace.models.seed import CNNWithResidual

        return CNNWithResidual(), (1, 1, 28, 28)
    if model == "resnet50":
        return resnet50(), (1, 3, 224, 224)
    if model == "gpt13b":
        return gpt13b_on_meta(), torch.zeros(1, 2048, dtype=torch.long, device="meta")
    raise SystemExit(f"unknown model {model}")


def _meta_twin(model: str):
    """The same architecture built directly on the meta device (for the floor)."""
    import torch

    with torch.device("meta"):
        m, inp = _build(model)
    if not isinstance(inp, torch.Tensor):
        inp = torch.empty(inp, device="meta")
    return m, inp


def _call(tool: str, model, inp, name: str):
    """One summary by ``tool``; returns (params, MACs or None)."""
    import torch

    if tool in ("shapetrace", "shapetrace-auto"):
        import shapetrace

        kw = {"input_data": inp} if isinstance(inp, torch.Tensor) else {"input_size": inp}
        r = shapetrace.summary(model, device="auto" if tool == "shapetrace-auto" else "meta", **kw)
        if r.error:
            raise RuntimeError(r.error.message)
        return r.totals.params, r.totals.macs
    if tool == "floor":
        handles = []
        for m in model.modules():
            handles.append(m.register_forward_pre_hook(lambda *a: None))
            handles.append(m.register_forward_hook(lambda *a: None))
        try:
            with torch.no_grad():
                model(inp)
        finally:
            for h in handles:
                h.remove()
        return None, None
    if tool == "torchinfo":
        import torchinfo

        if isinstance(inp, torch.Tensor):  # the 13B model: meta weights, meta tokens
            s = torchinfo.summary(model, input_data=inp, device="meta", verbose=0)
        else:  # torchinfo's default: a real forward on the model's device
            s = torchinfo.summary(model, input_size=inp, verbose=0)
        return s.total_params, s.total_mult_adds
    if tool == "torchscan":
        import torchscan

        if isinstance(inp, torch.Tensor):
            raise RuntimeError("torchscan makes float inputs from a shape; it cannot feed token ids")
        with contextlib.redirect_stdout(io.StringIO()):
            torchscan.summary(model, inp[1:])
        return None, None
    if tool == "ptflops":
        from ptflops import get_model_complexity_info

        if isinstance(inp, torch.Tensor):
            macs, params = get_model_complexity_info(
                model, tuple(inp.shape), input_constructor=lambda _: {"idx": inp}, as_strings=False,
                print_per_layer_stat=False, verbose=False)
        else:
            macs, params = get_model_complexity_info(model, inp[1:], as_strings=False,
                                                     print_per_layer_stat=False, verbose=False)
        return params, macs
    if tool == "fvcore":
        from fvcore.nn import FlopCountAnalysis, parameter_count

        x = inp if isinstance(inp, torch.Tensor) else torch.zeros(inp)
        with contextlib.redirect_stderr(io.StringIO()):
            flops = FlopCountAnalysis(model, x)
            flops.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
            total = flops.total()  # fvcore counts one "flop" per multiply-accumulate
        return parameter_count(model)[""], total
    raise SystemExit(f"unknown tool {tool}")


_IMPORTS = {
    "shapetrace": ["shapetrace", "shapetrace.trace.tracer"], "shapetrace-auto": ["shapetrace", "shapetrace.trace.tracer"],
    "floor": [], "torchinfo": ["torchinfo"], "torchscan": ["torchscan"], "ptflops": ["ptflops"],
    "fvcore": ["fvcore.nn"],
}


def worker(tool: str, model_name: str) -> dict:
    import warnings

    warnings.filterwarnings("ignore")
    try:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    except (ValueError, OSError):
        pass
    t0 = time.perf_counter()
    import torch

    torch.set_num_threads(max(1, os.cpu_count() or 1))
    out: dict = {"tool": tool, "model": model_name}
    import importlib

    for name in _IMPORTS[tool]:  # the tool's import is setup, not the first call
        importlib.import_module(name)
    if tool == "floor":
        model, inp = _meta_twin(model_name)
    else:
        model, inp = _build(model_name)
    out["setup_s"] = time.perf_counter() - t0
    out["rss_before_mb"] = _rss_mb()
    try:
        t = time.perf_counter()
        params, macs = _call(tool, model, inp, model_name)
        out["first_s"] = time.perf_counter() - t
        warm = []
        for _ in range(3):
            t = time.perf_counter()
            _call(tool, model, inp, model_name)
            warm.append(time.perf_counter() - t)
        out["warm_s"] = min(warm)
        out["params"], out["macs"] = params, macs
        out["ok"] = True
    except BaseException as e:  # noqa: BLE001 - a tool failing is a result
        out["ok"] = False
        out["error"] = f"{type(e).__name__}: {' '.join(str(e).split())[:160]}"
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


# --------------------------------------------------------------------------- parent


def run_worker(tool: str, model: str, timeout: int) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", tool, model]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return {"tool": tool, "model": model, "ok": False, "error": f"timed out after {timeout} s"}
    for line in reversed(p.stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    tail = " ".join((p.stderr or p.stdout).split())[-200:]
    return {"tool": tool, "model": model, "ok": False, "error": f"exit {p.returncode}: {tail}"}


def cli_vs_import(repeats: int = 5) -> dict:
    """Best-of-N wall and CPU time of `shapetrace summary` and `python -c "import torch"`."""
    exe = shutil.which("shapetrace") or ""
    cmds = {"import_torch": [sys.executable, "-c", "import torch"],
            "shapetrace_summary": [exe, "summary"] if exe else [sys.executable, "-m", "shapetrace", "summary"]}
    out: dict = {}
    for _ in range(repeats):
        for name, cmd in cmds.items():
            r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            t = time.perf_counter()
            subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT, check=True)
            wall = time.perf_counter() - t
            r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
            best = out.setdefault(name, {"wall_s": wall, "cpu_s": cpu})
            best["wall_s"], best["cpu_s"] = min(best["wall_s"], wall), min(best["cpu_s"], cpu)
    out["ratio_wall"] = out["shapetrace_summary"]["wall_s"] / out["import_torch"]["wall_s"]
    out["ratio_cpu"] = out["shapetrace_summary"]["cpu_s"] / out["import_torch"]["cpu_s"]
    return out


def _fmt(v, unit: str = "") -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.3f}{unit}" if unit == " s" else f"{v:,.0f}{unit}"
    return f"{v:,}{unit}"


def report(results: list[dict], cli: dict | None, command: str) -> str:
    lines = [f"Date: {_dt.datetime.now().strftime('%Y-%m-%d %H:%M')}; machine: {platform.machine()}, "
             f"{os.cpu_count()} CPUs, Python {platform.python_version()}; command: `{command}`", ""]
    for model in dict.fromkeys(r["model"] for r in results):
        lines += [f"### {model}", "",
                  "| tool | first call | warm call (best of 3) | peak RSS | RSS before the call | params | MACs |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
        for r in (x for x in results if x["model"] == model):
            if not r.get("ok"):
                lines.append(f"| {r['tool']} | fails: {r.get('error', '?')} | | "
                             f"{_fmt(r.get('peak_rss_mb'), ' MB')} | | | |")
                continue
            lines.append(f"| {r['tool']} | {_fmt(r['first_s'], ' s')} | {_fmt(r['warm_s'], ' s')} | "
                         f"{_fmt(r['peak_rss_mb'], ' MB')} | {_fmt(r['rss_before_mb'], ' MB')} | "
                         f"{_fmt(r.get('params'))} | {_fmt(r.get('macs'))} |")
        lines.append("")
    if cli:
        lines += ["### `shapetrace summary` (the seed) vs `python -c \"import torch\"`, best of 5", "",
                  "| command | wall | CPU (user+sys) |", "|---|---:|---:|",
                  f"| python -c \"import torch\" | {cli['import_torch']['wall_s']:.2f} s | "
                  f"{cli['import_torch']['cpu_s']:.2f} s |",
                  f"| shapetrace summary | {cli['shapetrace_summary']['wall_s']:.2f} s | "
                  f"{cli['shapetrace_summary']['cpu_s']:.2f} s |",
                  f"| ratio | {cli['ratio_wall']:.2f}x | {cli['ratio_cpu']:.2f}x |", ""]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--worker", nargs=2, metavar=("TOOL", "MODEL"), help=argparse.SUPPRESS)
    ap.add_argument("--tools", nargs="+", default=TOOLS, choices=TOOLS)
    ap.add_argument("--models", nargs="+", default=MODELS, choices=MODELS)
    ap.add_argument("--no-cli", action="store_true", help="skip the `shapetrace summary` timing")
    ap.add_argument("--timeout", type=int, default=600)
    ap.add_argument("--json", type=Path, help="also write the raw results here")
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(*args.worker)))
        return
    from bytecode import compile_package

    compile_package()  # the lazy import of the tracer is part of a first call; time it as installed
    results = []
    for model in args.models:
        for tool in args.tools:
            r = run_worker(tool, model, args.timeout)
            results.append(r)
            print(f"{model:9s} {tool:16s} " + (f"first {r['first_s']:.3f} s  warm {r['warm_s']:.3f} s  "
                                               f"peak {r['peak_rss_mb']:.0f} MB" if r.get("ok")
                                               else f"fails: {r.get('error')}"), file=sys.stderr)
    cli = None if args.no_cli else cli_vs_import()
    command = "python benchmarks/bench_trace.py " + " ".join(sys.argv[1:])
    if args.json:
        args.json.write_text(json.dumps({"results": results, "cli": cli}, indent=2))
    print(report(results, cli, command.strip()))


if __name__ == "__main__":
    main()

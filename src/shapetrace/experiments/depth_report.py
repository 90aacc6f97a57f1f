"""The depth experiment's Markdown report, from its results (plain numbers; no torch)."""

from __future__ import annotations

import math
from typing import Any, Mapping

from .depth import findings, grad_ratio

INIT_NOTES = {
    "default": (
        "PyTorch's default initialisation (as the seed's layers): conv weights ~ "
        "U(-1/sqrt(fan_in), 1/sqrt(fan_in)), so Var(w) = 1/(3 fan_in) and each conv + ReLU "
        "multiplies the signal's second moment by fan_in * Var(w) / 2 = 1/6, forward and "
        "backward. Without BatchNorm or a shortcut the gradient reaching layer k from the "
        "top shrinks about sqrt(6) = 2.4x per layer. Compare with `--init kaiming`."),
    "kaiming": (
        "He (Kaiming) initialisation: conv weights ~ N(0, 2/fan_out), zero conv biases. Each "
        "conv + ReLU keeps the signal's second moment (factor 1), so plain nets no longer "
        "start with vanished gradients. In a residual net without BatchNorm each block adds "
        "a branch as large as its input, so the signal roughly doubles in variance per block: "
        "deep residual nets without BatchNorm start with huge logits and losses."),
}


def fmt_loss(v: float | None) -> str:
    return "n/a (diverged)" if v is None or not math.isfinite(v) else f"{v:.3f}"


def fmt_pct(v: float | None) -> str:
    return "n/a" if v is None else f"{100 * v:.1f}%"


def fmt_sci(v: float | None) -> str:
    if v is None:
        return "n/a"
    if v == 0:
        return "0"
    return f"{v:.1e}"


def results_table(results: Mapping[str, Any]) -> str:
    """The table of final numbers, one row per net, in training order."""
    lines = [
        "| net | BatchNorm | depth | params | train loss | train acc | test acc "
        "| grad first/last conv at init | wall (s) |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in results["runs"]:
        f = r["final"]
        diverged = "" if r.get("diverged_at") is None else f" (diverged at step {r['diverged_at']})"
        lines.append(
            f"| {r['name']} | {'yes' if r['batchnorm'] else 'no'} | {r['depth']} | {r['params']:,} "
            f"| {fmt_loss(f['train_loss'])}{diverged} | {fmt_pct(f['train_accuracy'])} "
            f"| {fmt_pct(f['test_accuracy'])} | {fmt_sci(grad_ratio(r['grad_norm_init']))} "
            f"| {r['wall_time_s']:.1f} |")
    return "\n".join(lines)


def findings_text(results: Mapping[str, Any]) -> list[str]:
    out = []
    for f in findings(results):
        bn = "with BatchNorm" if f["batchnorm"] else "without BatchNorm"
        verdict = "shown" if f["holds"] else "not shown"
        if f["claim"] == "degradation":
            out.append(
                f"- Degradation, {bn} ({verdict}; the claim: the deeper plain net ends with the higher "
                f"training loss, the deeper residual net does not): final training loss "
                f"plain-{f['shallow']} {fmt_loss(f['plain_shallow'])} -> "
                f"plain-{f['deep']} {fmt_loss(f['plain_deep'])}, "
                f"residual-{f['shallow']} {fmt_loss(f['residual_shallow'])} -> "
                f"residual-{f['deep']} {fmt_loss(f['residual_deep'])}.")
        else:
            ratio = f["plain_ratio"]
            orders = f" ({-math.log10(ratio):.0f} orders of magnitude)" if ratio and ratio < 1 else ""
            bound = "below" if f["holds"] else "not below"
            out.append(
                f"- Vanishing gradients, {bn} ({verdict}: ratio {bound} 1e-3): at "
                f"initialisation the first conv of plain-{f['deep']} gets {fmt_sci(ratio)} times the "
                f"gradient norm of its last conv{orders}; in residual-{f['deep']} the ratio is "
                f"{fmt_sci(f['residual_ratio'])}.")
    return out


def render(results: Mapping[str, Any], images: Mapping[str, str] | None = None) -> str:
    """The whole report. ``images``: name -> path relative to the report."""
    c, env = results["config"], results["environment"]
    parts = [
        "# Plain vs residual networks of growing depth",
        "",
        f"Depths {', '.join(map(str, c['depths']))}: plain and residual nets (the same layers, the "
        f"same parameter count, the same initial weights), each trained for {c['steps']} steps of "
        f"{c['batch_size']} digits from the same {c['train_subset']:,}-digit MNIST training subset, "
        f"in the same order; test accuracy on the first {c['test_subset']:,} test digits.",
        "",
        "## Setup",
        "",
        f"- nets: width {c['width']} (stages of {c['width']}, {2 * c['width']}, {4 * c['width']} "
        f"channels), stem stride {c['stem_stride']}, init `{c['init']}`; depth = weighted layers "
        f"(conv + linear) = 6n+2",
        f"- training: {c['optimizer']} lr {c['lr']:g} (linear warm-up over {c['warmup']:.0%} of the "
        f"steps, then constant), seed {c['seed']}",
        f"- machine: {env['device']}, {env['threads']} thread(s), torch {env['torch']}, "
        f"started {env['started']}; data: {env['data']}",
        f"- total wall time: {results['wall_time_s']:.1f} s",
        "",
        "## Final numbers",
        "",
        "Train loss and accuracy: mean over the last 10% of the steps' batches. Test accuracy: "
        "the trained net in eval mode. Gradient ratio: the first conv's gradient norm over the "
        "last conv's, at initialisation (one batch, float64).",
        "",
        results_table(results),
        "",
        "## What it shows",
        "",
        *findings_text(results),
        "",
        INIT_NOTES.get(c["init"], ""),
        "",
    ]
    if images:
        captions = {
            "loss_curves": "Training loss vs step",
            "grad_norms_init": "Per-layer gradient norm at initialisation (log scale, input side left)",
            "grad_norms_train": "Per-layer gradient norm during training (median over recorded steps)",
        }
        parts += ["## Plots", ""]
        for name, rel in images.items():
            parts += [f"![{captions.get(name, name)}]({rel})", ""]
    return "\n".join(parts)

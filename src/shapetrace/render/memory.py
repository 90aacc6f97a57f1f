"""MemoryReport -> text: the terminal table, Markdown, JSON (``shapetrace memory``).

Every word is here, in English and Korean (``WORDS``, ``NOTES``); the records hold only numbers
and note codes.
"""

from __future__ import annotations

import json as _json

from rich.cells import cell_len

from ..core.explain import Lang, as_lang
from .fmt import bytes_text, si
from .md import esc

WORDS: dict[str, dict[str, str]] = {
    "title": {"en": "Training step of {name}: batch {batch}, {optimizer}, {dtype}{amp}, {device} backend",
              "ko": "{name}의 학습 단계: 배치 {batch}, {optimizer}, {dtype}{amp}, {device} 백엔드"},
    "amp": {"en": " (AMP)", "ko": " (AMP)"},
    "params": {"en": "parameters", "ko": "파라미터"},
    "buffers": {"en": "buffers", "ko": "버퍼"},
    "grads": {"en": "gradients", "ko": "그래디언트"},
    "optimizer_state": {"en": "optimizer state", "ko": "옵티마이저 상태"},
    "saved_activations": {"en": "saved activations", "ko": "역전파용 저장 텐서"},
    "peak": {"en": "peak", "ko": "최대 메모리"},
    "peak_when": {"en": "during the {phase}", "ko": "{phase} 중"},
    "forward": {"en": "forward", "ko": "순전파"},
    "backward": {"en": "backward", "ko": "역전파"},
    "optimizer": {"en": "optimizer step", "ko": "옵티마이저 스텝"},
    "max_batch": {"en": "max batch size", "ko": "최대 배치 크기"},
    "budget": {"en": "budget {budget}; {how}, {n} steps simulated",
               "ko": "예산 {budget}; {how}, 시뮬레이션 {n}회"},
    "none_fits": {"en": "0 (not even one sample fits)", "ko": "0 (샘플 하나도 들어가지 않음)"},
    "flops": {"en": "FLOPs", "ko": "FLOPs"},
    "flops_line": {"en": "forward {f}, backward {b}, total {t}", "ko": "순전파 {f}, 역전파 {b}, 합계 {t}"},
    "layer": {"en": "Layer", "ko": "층"},
    "kind": {"en": "Kind", "ko": "종류"},
    "saved": {"en": "Saved", "ko": "저장"},
    "flops_fwd": {"en": "FLOPs fwd", "ko": "FLOPs 순전파"},
    "flops_bwd": {"en": "FLOPs bwd", "ko": "FLOPs 역전파"},
}

NOTES: dict[str, dict[str, str]] = {
    "lower_bound": {"en": ">= marks a lower bound: the backend saves more there than was sized",
                    "ko": ">= 는 하한: 그 백엔드는 크기를 잴 수 없었던 것을 더 저장한다"},
    "upper_bound": {"en": "<= marks an upper bound: the math path was computed; a fused kernel saves less",
                    "ko": "<= 는 상한: math 경로로 계산했으며 fused 커널은 덜 저장한다"},
    "cuda_on_meta": {"en": "this torch has no CUDA build: computed on meta, so CUDA's kernel choices "
                           "(cuDNN, fused attention) are not modeled",
                     "ko": "이 torch에는 CUDA 빌드가 없어 meta에서 계산했다: CUDA 커널 선택(cuDNN, "
                           "fused attention)은 반영되지 않는다"},
    "rnn_workspace_unsized": {"en": "oneDNN's RNN workspace is not counted (too large to size)",
                              "ko": "oneDNN RNN 작업 공간은 포함되지 않음 (크기를 재기에 너무 큼)"},
    "attention_math_path": {"en": "attention by the math path; a fused CUDA kernel saves less",
                            "ko": "math 경로의 어텐션; fused CUDA 커널은 덜 저장한다"},
    "cudnn_reserve_unsized": {"en": "computed on meta: cuDNN's reserve space is not counted",
                              "ko": "meta에서 계산: cuDNN 예약 공간은 포함되지 않음"},
}

_MARK = {"exact": "", "lower": ">= ", "upper": "<= "}
_HOW = {"affine, checked": {"en": "linear in the batch, checked", "ko": "배치에 선형, 확인됨"},
        "bisection": {"en": "bisection", "ko": "이분 탐색"},
        "not limited": {"en": "the peak does not grow with the batch", "ko": "배치에 따라 늘지 않음"}}


def _w(key: str, lang: Lang, **kw) -> str:
    return WORDS[key][lang.value].format(**kw)


def _flops(n: int) -> str:
    return si(n) if n else "--"


def summary_lines(report, lang: Lang) -> list[tuple[str, str, str]]:
    """(label, value, detail) for the totals."""
    s = report.step
    out = [(_w(k, lang), bytes_text(getattr(s, k), zero="0 B"), f"{getattr(s, k):,} B")
           for k in ("params", "buffers", "grads", "optimizer_state", "saved_activations")]
    out.append((_w("peak", lang), bytes_text(s.peak, zero="0 B"),
                f"{s.peak:,} B, " + _w("peak_when", lang, phase=_w(s.peak_phase, lang))))
    if report.budget is not None:
        how = _HOW.get(report.batch_search, {}).get(lang.value, report.batch_search)
        value = f"{report.max_batch_size:,}" if report.max_batch_size else _w("none_fits", lang)
        out.append((_w("max_batch", lang), value, _w("budget", lang, budget=bytes_text(report.budget),
                                                     how=how, n=report.batch_evaluations)))
    t = s.flops_forward + s.flops_backward
    out.append((_w("flops", lang), _flops(t), _w("flops_line", lang, f=_flops(s.flops_forward),
                                                    b=_flops(s.flops_backward), t=_flops(t))))
    return out


def _rows(report, name: str) -> list[tuple[str, str, str, str, str]]:
    out = []
    for r in report.step.rows:
        label = ("  " * r.depth) + (r.name.rsplit(".", 1)[-1] if r.name else name)
        saved = _MARK[r.bound.value] + bytes_text(r.saved)
        out.append((label, r.kind, saved, _flops(r.flops_forward), _flops(r.flops_backward)))
    return out


def _notes(report, lang: Lang) -> list[str]:
    codes = list(report.notes)
    for r in report.step.rows:
        if r.note and r.note not in codes:
            codes.append(r.note)
    return [NOTES[c][lang.value] for c in codes if c in NOTES]


def _pad(text: str, width: int, right: bool = False) -> str:
    """Padded to ``width`` terminal cells (a Korean syllable takes two)."""
    gap = " " * max(0, width - cell_len(text))
    return gap + text if right else text + gap


def _title(report, name: str, lang: Lang) -> str:
    return _w("title", lang, name=name, batch=report.step.batch_size, optimizer=report.optimizer,
              dtype=report.dtype, amp=_w("amp", lang) if report.amp else "", device=report.device)


def _header(lang: Lang) -> tuple[str, ...]:
    return tuple(_w(k, lang) for k in ("layer", "kind", "saved", "flops_fwd", "flops_bwd"))


def text(report, name: str, lang: str | Lang = "en") -> str:
    lang = as_lang(lang)
    lines = [_title(report, name, lang), ""]
    tops = summary_lines(report, lang)
    lw = max(cell_len(a) for a, _, _ in tops)
    vw = max(cell_len(b) for _, b, _ in tops)
    lines += [f"  {_pad(a, lw)}  {_pad(b, vw, True)}  ({c})" for a, b, c in tops]
    rows = [_header(lang)] + _rows(report, name)
    widths = [max(cell_len(r[i]) for r in rows) for i in range(5)]
    lines.append("")
    for j, r in enumerate(rows):
        cells = [_pad(r[0], widths[0]), _pad(r[1], widths[1])] + [_pad(r[i], widths[i], True) for i in (2, 3, 4)]
        lines.append("  ".join(cells).rstrip())
        if j == 0:
            lines.append("  ".join("-" * w for w in widths))
    notes = _notes(report, lang)
    if notes:
        lines.append("")
        lines += [f"note: {n}" for n in notes]
    return "\n".join(lines) + "\n"


def markdown(report, name: str, lang: str | Lang = "en") -> str:
    lang = as_lang(lang)
    lines = [f"### {esc(_title(report, name, lang))}", "", "| | | |", "|---|---:|---|"]
    lines += [f"| {esc(a)} | {esc(b)} | {esc(c)} |" for a, b, c in summary_lines(report, lang)]
    lines += ["", "| " + " | ".join(_header(lang)) + " |", "|---|---|---:|---:|---:|"]
    for r in _rows(report, name):
        label = r[0].lstrip(" ")
        indent = "&nbsp;" * (len(r[0]) - len(label))
        lines.append(f"| {indent}`{esc(label)}` | {esc(r[1])} | {esc(r[2])} | {r[3]} | {r[4]} |")
    notes = _notes(report, lang)
    if notes:
        lines.append("")
        lines += [f"- {esc(n)}" for n in notes]
    return "\n".join(lines) + "\n"


def json(report) -> str:
    return _json.dumps(report.to_dict(), indent=2) + "\n"

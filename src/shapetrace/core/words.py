"""Every word shapetrace says to a person, in English and Korean: one table, one lookup.

``TEXT`` maps a dotted key to its text per ``Lang``; ``text(key, lang, **numbers)``
fills the placeholders. Records carry keys and numbers only (a note's key, a row's
``Category``, a ``Column``); the text for them is found here, whoever draws it (the
layer explanation in core/explain.py, the tables in render/, the page's server-side
text in web/tasks.py). Sections:

- ``note.<key>``: the notes layer rules and the tracer attach (``records.Note``);
- ``explain.<word>``: the words of ``shapetrace layer``'s explanation;
- ``category.<value>``: what a row does (``records.Category``), the Description column;
- ``column.<value>``: the table headers (``render.options.Column``); ``seed_column.<value>``
  the seed table's;
- ``view.<word>``: the table's title, totals, error lines and graph labels;
- ``page.<word>``, ``preset.<id>``: the calculator page's own words (buttons, hints) and the
  presets' titles, kept in core/words_ui.py and merged in here.

Both languages use the same placeholders (tests/core/test_messages.py checks it).
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from .errors import ShapetraceError
from .words_ui import TABLE as _UI_TABLE


class Lang(str, Enum):
    EN = "en"
    KO = "ko"


def as_lang(lang: str | Lang) -> Lang:
    """A user's ``lang`` string as the enum (bad input: one error line)."""
    try:
        return Lang(lang)
    except ValueError:
        raise ShapetraceError(f"lang must be 'en' or 'ko', got {lang!r}") from None


EN, KO = Lang.EN, Lang.KO

TEXT: dict[str, dict[Lang, str]] = {
    # Notes a layer rule attaches (core/layers: register(notes=...)), filled with the note's numbers.
    "note.floor_drops": {
        EN: "{axis}: stride {stride} does not divide evenly; the floor drops the last {rows} "
            "input position(s), which no window covers",
        KO: "{axis}: stride {stride}로 나누어떨어지지 않아 마지막 {rows}개 입력 위치는 어떤 창에도 포함되지 않는다 (floor로 버려짐)",
    },
    "note.same_padding": {
        EN: "padding='same' pads {lo} before and {hi} after, so the output keeps the input size",
        KO: "padding='same'은 앞에 {lo}, 뒤에 {hi}만큼 패딩하여 출력 크기를 입력과 같게 유지한다",
    },
    "note.ceil_extra_window": {
        EN: "{axis}: ceil_mode adds a last, partial window starting at input position {start} "
            "(input size {size}); it covers fewer positions than the kernel",
        KO: "{axis}: ceil_mode가 입력 위치 {start}에서 시작하는 마지막 부분 창을 추가한다 (입력 크기 {size}); 이 창은 커널보다 적은 "
            "위치를 덮는다",
    },
    "note.ceil_window_dropped": {
        EN: "{axis}: ceil_mode's last window would start in the right padding or past the "
            "input's end, so torch drops it",
        KO: "{axis}: ceil_mode의 마지막 창이 오른쪽 패딩 안이나 입력 끝 너머에서 시작하므로 torch가 그 창을 버린다",
    },
    "note.adaptive_uneven": {
        EN: "{axis}: {size} does not divide evenly into {out} bins, so each bin covers {span} "
            "input positions and some neighbouring bins overlap",
        KO: "{axis}: {size}은(는) {out}개 구간으로 나누어떨어지지 않아 구간마다 {span}개의 입력 위치를 덮고 일부 이웃 구간이 겹친다",
    },
    "note.pad_crops": {
        EN: "{axis}: negative padding ({left}, {right}) crops the input instead of padding it",
        KO: "{axis}: 음수 패딩 ({left}, {right})은 패딩 대신 입력을 잘라낸다",
    },
    "note.embedding_indices": {
        EN: "every input value is an index and must lie in [0, {num}) at run time",
        KO: "입력의 모든 값은 인덱스이며 실행 시 [0, {num}) 범위에 있어야 한다",
    },
    "note.num_features_ignored": {
        EN: "num_features={given} does not match the input's {channels} channels; torch ignores "
            "it here because the layer has no weights or running statistics",
        KO: "num_features={given}이(가) 입력 채널 수 {channels}와 다르지만, 이 층은 가중치나 running 통계가 없어서 torch가 "
            "무시한다",
    },
    "note.num_channels_ignored": {
        EN: "num_channels={given} does not match the input's {channels} channels; torch ignores "
            "it because affine=False",
        KO: "num_channels={given}이(가) 입력 채널 수 {channels}와 다르지만, affine=False라서 torch가 무시한다",
    },
    "note.dropout_rank": {
        EN: "{layer} expects a {expected} input, got {ndim}D; torch warns that this is "
            "deprecated and drops whole channels (dim 1)",
        KO: "{layer}은(는) {expected} 입력을 기대하지만 {ndim}D를 받았다; torch는 더 이상 권장하지 않는다고 경고하며 채널(dim 1) "
            "단위로 드롭한다",
    },
    "note.dropout2d_3d": {
        EN: "Dropout2d reads a 3D input as (N, C, L) and drops whole channels, as Dropout1d does "
            "(torch warns)",
        KO: "Dropout2d는 3D 입력을 (N, C, L)로 읽고 Dropout1d처럼 채널 단위로 드롭한다 (torch 경고)",
    },
    "note.softmax_implicit_dim": {
        EN: "{layer} without dim is deprecated; torch picks dim={dim} for this input",
        KO: "dim 없이 쓰는 {layer}은(는) 더 이상 권장되지 않는다; torch는 이 입력에 dim={dim}을 고른다",
    },
    "note.bn_train_single_value": {
        EN: "input {shape} has 1 value per channel: fine in eval mode, but in training mode "
            "torch raises (\"Expected more than 1 value per channel when training\"); use a batch "
            "of 2 or more to train",
        KO: "입력 {shape}은(는) 채널당 값이 1개다: eval 모드에서는 괜찮지만 학습 모드에서는 torch가 오류를 낸다; 학습하려면 배치를 2 이상으로",
    },
    "note.bn_train_eps": {
        EN: "eps={eps} is not positive: fine in eval mode, but torch raises in training mode",
        KO: "eps={eps}이(가) 양수가 아니다: eval 모드에서는 괜찮지만 학습 모드에서는 torch가 오류를 낸다",
    },
    "note.conv_transpose_empty": {
        EN: "the output is empty (a size of 0): torch's oneDNN CPU kernel returns it, but its "
            "native kernel (e.g. batch 1, groups=1, a small kernel) and other devices may raise; "
            "almost surely padding is too large",
        KO: "출력이 비어 있다 (크기 0): torch의 oneDNN CPU 커널은 이를 돌려주지만 기본 커널(예: 배치 1, groups=1, 작은 커널)이나 "
            "다른 장치에서는 오류가 날 수 있다; padding이 너무 클 가능성이 크다",
    },
    "note.pixel_unshuffle_empty": {
        EN: "the input is empty, and torch returns it unchanged instead of the shape {shape}",
        KO: "입력이 비어 있어 torch는 {shape} 모양 대신 입력을 그대로 돌려준다",
    },
    "note.conv_zero_channels": {
        EN: "with 0 input channels torch returns an output with 0 channels, not "
            "out_channels={out_channels}",
        KO: "입력 채널이 0개이면 torch는 out_channels={out_channels}이 아니라 채널 0개인 출력을 돌려준다",
    },

    # Notes the tracer attaches (trace/recorder.py).
    "note.reused_module": {
        EN: "call {call} of this module: its parameters are counted at its first call",
        KO: "이 모듈의 {call}번째 호출: 파라미터는 첫 호출에서 센다",
    },
    "note.tied_params": {
        EN: "{param} is {owner} (tied weights, {count:,} parameters counted there)",
        KO: "{param}은 {owner}와 같은 텐서 (가중치 공유, {count:,}개는 그쪽에서 센다)",
    },
    "note.replaced_weights": {
        EN: "its weights were replaced: they are those of {now}, not of its {given}; the shapes, "
            "formulas and MACs follow the weights, as torch computes with them",
        KO: "가중치가 바뀌었다: {given}이 아니라 {now}의 가중치이며, torch가 가중치로 계산하므로 "
            "모양·공식·MAC도 가중치를 따른다",
    },
    "note.unused_params": {
        EN: "includes the {count:,} parameters of {module}, never called as a module (used "
            "through its weights, or not at all)",
        KO: "모듈로 호출되지 않는 {module}의 파라미터 {count:,}개 포함 (가중치만 직접 쓰이거나 쓰이지 않음)",
    },

    # The worked explanation of one layer (core/explain.py).
    "explain.input": {EN: "input", KO: "입력"},
    "explain.output": {EN: "output", KO: "출력"},
    "explain.params": {EN: "params", KO: "파라미터"},
    "explain.macs": {
        EN: "MACs",
        KO: "MACs (곱셈-누산)",
    },
    "explain.formula": {EN: "formula", KO: "공식"},
    "explain.note": {EN: "note", KO: "참고"},
    "explain.no_formula": {
        EN: "shape unchanged (elementwise)",
        KO: "모양 변화 없음 (원소별 연산)",
    },

    # What a row does (records.Category; render/describe.py).
    "category.conv": {
        EN: "feature extraction",
        KO: "특징 추출",
    },
    "category.conv_transpose": {
        EN: "upsampling (transposed conv)",
        KO: "업샘플링 (전치 합성곱)",
    },
    "category.pool": {
        EN: "dimension reduction",
        KO: "차원 축소",
    },
    "category.activation": {EN: "non-linearity", KO: "비선형성 추가"},
    "category.norm": {EN: "normalization", KO: "정규화"},
    "category.dropout": {
        EN: "dropout (training only)",
        KO: "드롭아웃 (학습 시에만)",
    },
    "category.flatten": {
        EN: "flatten ({n}D -> 1D)",
        KO: "펼치기 ({n}D -> 1D)",
    },
    "category.reshape": {EN: "reshape", KO: "모양 변경"},
    "category.linear": {
        EN: "combine features",
        KO: "특징 결합",
    },
    "category.classify": {
        EN: "classify labels (0-{last})",
        KO: "라벨 분류 (0~{last} 라벨)",
    },
    "category.add": {EN: "add", KO: "더하기"},
    "category.shortcut": {
        EN: "shortcut add",
        KO: "단축 경로 더하기",
    },
    "category.arithmetic": {
        EN: "elementwise arithmetic",
        KO: "원소별 연산",
    },
    "category.reduce": {
        EN: "reduction (mean, sum, max)",
        KO: "축약 (평균, 합, 최대)",
    },
    "category.residual": {
        EN: "Residual Block (shortcut path)",
        KO: "Residual Block (단축 경로)",
    },
    "category.concat": {
        EN: "concatenate features",
        KO: "특징 연결",
    },
    "category.embedding": {
        EN: "embedding lookup",
        KO: "임베딩 조회",
    },
    "category.recurrent": {
        EN: "recurrent (sequence)",
        KO: "순환 (시퀀스 처리)",
    },
    "category.attention": {EN: "attention", KO: "어텐션"},
    "category.upsample": {EN: "upsampling", KO: "업샘플링"},
    "category.matmul": {
        EN: "matrix product",
        KO: "행렬 곱",
    },
    "category.softmax": {
        EN: "probabilities (softmax)",
        KO: "확률 (softmax)",
    },
    "category.pad": {EN: "padding", KO: "패딩"},
    "category.identity": {
        EN: "passes the input through",
        KO: "입력을 그대로 전달",
    },
    "category.block": {EN: "", KO: ""},
    "category.other": {EN: "", KO: ""},

    # Table headers (render.options.Column).
    "column.layer": {EN: "Layer", KO: "레이어"},
    "column.kind": {EN: "Kind", KO: "종류"},
    "column.input": {EN: "Input", KO: "입력 크기"},
    "column.output": {EN: "Output", KO: "출력 크기"},
    "column.params": {EN: "Params", KO: "파라미터"},
    "column.trainable": {
        EN: "Trainable",
        KO: "학습 파라미터",
    },
    "column.macs": {EN: "MACs", KO: "MACs"},
    "column.output_bytes": {
        EN: "Output mem",
        KO: "출력 메모리",
    },
    "column.param_bytes": {
        EN: "Param mem",
        KO: "파라미터 메모리",
    },
    "column.rf": {EN: "RF", KO: "수용 영역"},
    "column.description": {EN: "Description", KO: "설명"},
    "column.formula": {EN: "Formula", KO: "계산식"},
    "column.symbolic": {EN: "Output (any size)", KO: "출력 (임의 크기)"},

    # The seed's own table headers (it writes them in English, whatever the language).
    "seed_column.layer": {EN: "Layer", KO: "Layer"},
    "seed_column.input": {EN: "Input size", KO: "Input size"},
    "seed_column.output": {EN: "Output size", KO: "Output size"},
    "seed_column.description": {EN: "Description", KO: "Description"},

    # The table's title, totals, error lines and graph labels (render/view.py, render/graph_svg.py).
    "view.total_params": {
        EN: "Total params",
        KO: "총 파라미터",
    },
    "view.trainable": {
        EN: "Trainable params",
        KO: "학습 파라미터",
    },
    "view.frozen": {
        EN: "Non-trainable params",
        KO: "학습하지 않는 파라미터",
    },
    "view.macs": {
        EN: "Total MACs",
        KO: "총 MACs (곱셈-누산)",
    },
    "view.flops": {
        EN: "Total FLOPs (2 x MACs)",
        KO: "총 FLOPs (2 x MACs)",
    },
    "view.partial": {
        EN: "partial: {n} row(s) of unknown cost (?) not counted",
        KO: "일부: 비용을 모르는 {n}개 행(?)은 빠짐",
    },
    "view.input": {
        EN: "Input size",
        KO: "입력 메모리",
    },
    "view.activations": {
        EN: "Forward activations",
        KO: "순전파 활성값 메모리",
    },
    "view.param_mem": {
        EN: "Params size",
        KO: "파라미터 메모리",
    },
    "view.total_mem": {
        EN: "Estimated total",
        KO: "예상 합계",
    },
    "view.error": {EN: "error", KO: "오류"},
    "view.layer": {EN: "layer", KO: "레이어"},
    "view.warning": {EN: "warning", KO: "경고"},
    "view.expected": {EN: "expected", KO: "기대"},
    "view.actual": {EN: "actual", KO: "실제"},
    "view.fix": {EN: "fix", KO: "해결"},
    "view.input_word": {EN: "input", KO: "입력"},
    "view.device": {EN: "device", KO: "장치"},
    "view.failed": {
        EN: "✗ fails",
        KO: "✗ 실패",
    },
    "view.graph_input": {EN: "input", KO: "입력"},
    "view.graph_output": {EN: "output", KO: "출력"},
    "view.graph_unreached": {
        EN: "never ran",
        KO: "실행되지 않음",
    },
    # shapetrace memory (render/memory.py): its report's words, bound notes and batch search
    "memory.title": {
        EN: "Training step of {name}: batch {batch}, {optimizer}, {dtype}{amp}, {device} backend",
        KO: "{name}의 학습 단계: 배치 {batch}, {optimizer}, {dtype}{amp}, {device} 백엔드",
    },
    "memory.amp": {EN: " (AMP)", KO: " (AMP)"},
    "memory.params": {EN: "parameters", KO: "파라미터"},
    "memory.buffers": {EN: "buffers", KO: "버퍼"},
    "memory.grads": {EN: "gradients", KO: "그래디언트"},
    "memory.optimizer_state": {EN: "optimizer state", KO: "옵티마이저 상태"},
    "memory.saved_activations": {EN: "saved activations", KO: "역전파용 저장 텐서"},
    "memory.peak": {EN: "peak", KO: "최대 메모리"},
    "memory.peak_when": {EN: "during the {phase}", KO: "{phase} 중"},
    "memory.forward": {EN: "forward", KO: "순전파"},
    "memory.backward": {EN: "backward", KO: "역전파"},
    "memory.optimizer": {EN: "optimizer step", KO: "옵티마이저 스텝"},
    "memory.max_batch": {EN: "max batch size", KO: "최대 배치 크기"},
    "memory.budget": {
        EN: "budget {budget}; {how}, {n} steps simulated",
        KO: "예산 {budget}; {how}, 시뮬레이션 {n}회",
    },
    "memory.none_fits": {EN: "0 (not even one sample fits)", KO: "0 (샘플 하나도 들어가지 않음)"},
    "memory.flops": {EN: "FLOPs", KO: "FLOPs"},
    "memory.flops_line": {EN: "forward {f}, backward {b}, total {t}", KO: "순전파 {f}, 역전파 {b}, 합계 {t}"},
    "memory.layer": {EN: "Layer", KO: "층"},
    "memory.kind": {EN: "Kind", KO: "종류"},
    "memory.saved": {EN: "Saved", KO: "저장"},
    "memory.flops_fwd": {EN: "FLOPs fwd", KO: "FLOPs 순전파"},
    "memory.flops_bwd": {EN: "FLOPs bwd", KO: "FLOPs 역전파"},
    "memory.bound.lower_bound": {
        EN: ">= marks a lower bound: the backend saves more there than was sized",
        KO: ">= 는 하한: 그 백엔드는 크기를 잴 수 없었던 것을 더 저장한다",
    },
    "memory.bound.upper_bound": {
        EN: "<= marks an upper bound: the math path was computed; a fused kernel saves less",
        KO: "<= 는 상한: math 경로로 계산했으며 fused 커널은 덜 저장한다",
    },
    "memory.bound.cuda_on_meta": {
        EN: "this torch has no CUDA build: computed on meta, so CUDA's kernel choices (cuDNN, fused attention) are not modeled",
        KO: "이 torch에는 CUDA 빌드가 없어 meta에서 계산했다: CUDA 커널 선택(cuDNN, fused attention)은 반영되지 않는다",
    },
    "memory.bound.rnn_workspace_unsized": {
        EN: "oneDNN's RNN workspace is not counted (too large to size)",
        KO: "oneDNN RNN 작업 공간은 포함되지 않음 (크기를 재기에 너무 큼)",
    },
    "memory.bound.attention_math_path": {
        EN: "attention by the math path; a fused CUDA kernel saves less",
        KO: "math 경로의 어텐션; fused CUDA 커널은 덜 저장한다",
    },
    "memory.bound.cudnn_reserve_unsized": {
        EN: "computed on meta: cuDNN's reserve space is not counted",
        KO: "meta에서 계산: cuDNN 예약 공간은 포함되지 않음",
    },
    "memory.search.affine, checked": {EN: "linear in the batch, checked", KO: "배치에 선형, 확인됨"},
    "memory.search.bisection": {EN: "bisection", KO: "이분 탐색"},
    "memory.search.not limited": {EN: "the peak does not grow with the batch", KO: "배치에 따라 늘지 않음"},
}
# The page's words and the presets' titles: their own module (the page's table is long), keyed
# by Lang here like the rest.
TEXT.update({key: {Lang(lang): s for lang, s in texts.items()} for key, texts in _UI_TABLE.items()})


def text(key: str, lang: str | Lang, /, **numbers: Any) -> str:
    """The text of ``key`` in ``lang``, its placeholders filled with ``numbers``."""
    s = TEXT[key][Lang(lang)]
    return s.format(**numbers) if numbers else s


def has(key: str) -> bool:
    return key in TEXT


def note_text(key: str, params: dict[str, Any], lang: str | Lang) -> str:
    """A note's text; a key without words shows as the key and its numbers (never a blank)."""
    full = f"note.{key}"
    if full not in TEXT:
        return key + (" " + ", ".join(f"{k}={v}" for k, v in params.items()) if params else "")
    return TEXT[full][Lang(lang)].format(**params)


def notes_table() -> dict[str, dict[Lang, str]]:
    """Note key (without ``note.``) -> its text per language."""
    return {k[5:]: v for k, v in TEXT.items() if k.startswith("note.")}


NOTES: dict[str, dict[Lang, str]] = notes_table()

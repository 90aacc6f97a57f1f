"""English and Korean text for the notes layer rules attach (``records.Note``).

Each key maps to a format string per language; the note's params fill it.
A test checks that every key a rule can emit has both languages.
"""

from __future__ import annotations

NOTES: dict[str, dict[str, str]] = {
    "floor_drops": {
        "en": "{axis}: stride {stride} does not divide evenly; the floor drops the last {rows} "
              "input position(s), which no window covers",
        "ko": "{axis}: stride {stride}로 나누어떨어지지 않아 마지막 {rows}개 입력 위치는 "
              "어떤 창에도 포함되지 않는다 (floor로 버려짐)",
    },
    "same_padding": {
        "en": "padding='same' pads {lo} before and {hi} after, so the output keeps the input size",
        "ko": "padding='same'은 앞에 {lo}, 뒤에 {hi}만큼 패딩하여 출력 크기를 입력과 같게 유지한다",
    },
    "ceil_extra_window": {
        "en": "{axis}: ceil_mode adds a last, partial window starting at input position {start} "
              "(input size {size}); it covers fewer positions than the kernel",
        "ko": "{axis}: ceil_mode가 입력 위치 {start}에서 시작하는 마지막 부분 창을 추가한다 "
              "(입력 크기 {size}); 이 창은 커널보다 적은 위치를 덮는다",
    },
    "ceil_window_dropped": {
        "en": "{axis}: ceil_mode's last window would start in the right padding or past the input's "
              "end, so torch drops it",
        "ko": "{axis}: ceil_mode의 마지막 창이 오른쪽 패딩 안이나 입력 끝 너머에서 시작하므로 torch가 "
              "그 창을 버린다",
    },
    "adaptive_uneven": {
        "en": "{axis}: {size} does not divide evenly into {out} bins, so each bin covers {span} input "
              "positions and some neighbouring bins overlap",
        "ko": "{axis}: {size}은(는) {out}개 구간으로 나누어떨어지지 않아 구간마다 {span}개의 입력 위치를 "
              "덮고 일부 이웃 구간이 겹친다",
    },
    "pad_crops": {
        "en": "{axis}: negative padding ({left}, {right}) crops the input instead of padding it",
        "ko": "{axis}: 음수 패딩 ({left}, {right})은 패딩 대신 입력을 잘라낸다",
    },
    "embedding_indices": {
        "en": "every input value is an index and must lie in [0, {num}) at run time",
        "ko": "입력의 모든 값은 인덱스이며 실행 시 [0, {num}) 범위에 있어야 한다",
    },
    "num_features_ignored": {
        "en": "num_features={given} does not match the input's {channels} channels; torch ignores it "
              "here because the layer has no weights or running statistics",
        "ko": "num_features={given}이(가) 입력 채널 수 {channels}와 다르지만, 이 층은 가중치나 "
              "running 통계가 없어서 torch가 무시한다",
    },
    "num_channels_ignored": {
        "en": "num_channels={given} does not match the input's {channels} channels; torch ignores it "
              "because affine=False",
        "ko": "num_channels={given}이(가) 입력 채널 수 {channels}와 다르지만, affine=False라서 torch가 "
              "무시한다",
    },
    "dropout_rank": {
        "en": "{layer} expects a {expected} input, got {ndim}D; torch warns that this is deprecated "
              "and drops whole channels (dim 1)",
        "ko": "{layer}은(는) {expected} 입력을 기대하지만 {ndim}D를 받았다; torch는 더 이상 권장하지 "
              "않는다고 경고하며 채널(dim 1) 단위로 드롭한다",
    },
    "dropout2d_3d": {
        "en": "Dropout2d reads a 3D input as (N, C, L) and drops whole channels, as Dropout1d does "
              "(torch warns)",
        "ko": "Dropout2d는 3D 입력을 (N, C, L)로 읽고 Dropout1d처럼 채널 단위로 드롭한다 (torch 경고)",
    },
    "softmax_implicit_dim": {
        "en": "{layer} without dim is deprecated; torch picks dim={dim} for this input",
        "ko": "dim 없이 쓰는 {layer}은(는) 더 이상 권장되지 않는다; torch는 이 입력에 dim={dim}을 고른다",
    },
    "bn_train_single_value": {
        "en": "input {shape} has 1 value per channel: fine in eval mode, but in training mode torch raises "
              "(\"Expected more than 1 value per channel when training\"); use a batch of 2 or more to train",
        "ko": "입력 {shape}은(는) 채널당 값이 1개다: eval 모드에서는 괜찮지만 학습 모드에서는 torch가 오류를 낸다; "
              "학습하려면 배치를 2 이상으로",
    },
    "bn_train_eps": {
        "en": "eps={eps} is not positive: fine in eval mode, but torch raises in training mode",
        "ko": "eps={eps}이(가) 양수가 아니다: eval 모드에서는 괜찮지만 학습 모드에서는 torch가 오류를 낸다",
    },
    "conv_transpose_empty": {
        "en": "the output is empty (a size of 0): torch's oneDNN CPU kernel returns it, but its native "
              "kernel (e.g. batch 1, groups=1, a small kernel) and other devices may raise; almost surely "
              "padding is too large",
        "ko": "출력이 비어 있다 (크기 0): torch의 oneDNN CPU 커널은 이를 돌려주지만 기본 커널(예: 배치 1, "
              "groups=1, 작은 커널)이나 다른 장치에서는 오류가 날 수 있다; padding이 너무 클 가능성이 크다",
    },
    "pixel_unshuffle_empty": {
        "en": "the input is empty, and torch returns it unchanged instead of the shape {shape}",
        "ko": "입력이 비어 있어 torch는 {shape} 모양 대신 입력을 그대로 돌려준다",
    },
    "conv_zero_channels": {
        "en": "with 0 input channels torch returns an output with 0 channels, not out_channels={out_channels}",
        "ko": "입력 채널이 0개이면 torch는 out_channels={out_channels}이 아니라 채널 0개인 출력을 돌려준다",
    },
}

# Words of the explanation itself.
WORDS: dict[str, dict[str, str]] = {
    "input": {"en": "input", "ko": "입력"},
    "output": {"en": "output", "ko": "출력"},
    "params": {"en": "params", "ko": "파라미터"},
    "macs": {"en": "MACs", "ko": "MACs (곱셈-누산)"},
    "formula": {"en": "formula", "ko": "공식"},
    "note": {"en": "note", "ko": "참고"},
    "no_formula": {"en": "shape unchanged (elementwise)", "ko": "모양 변화 없음 (원소별 연산)"},
}


def note_text(key: str, params: dict, lang: str) -> str:
    table = NOTES.get(key)
    if table is None:
        return key + (" " + ", ".join(f"{k}={v}" for k, v in params.items()) if params else "")
    return table.get(lang, table["en"]).format(**params)


def word(key: str, lang: str) -> str:
    return WORDS[key].get(lang, WORDS[key]["en"])

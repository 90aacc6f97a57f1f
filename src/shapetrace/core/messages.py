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

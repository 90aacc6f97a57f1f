"""The calculator page's words and the presets' titles, in English and Korean.

Plain data that imports nothing (torch-free, web-free): core/words.py merges ``TABLE``
into the one text table (``TEXT``, keys ``page.<word>`` and ``preset.<id>``), web/app.py
serves ``page_words()`` to the page as /words.js, and web/presets.py titles the presets
from it. The page's scripts ask for a word by its name in ``PAGE`` (``t("subtitle")``,
``data-i18n="subtitle"``); the page's static/words.js turns the entries into what those
scripts call:

- ``{name}`` placeholders make a word a function; its arguments fill the placeholders in
  the order they first appear in the English text (``rfTitle(size, jump, start)``);
- ``<word>.one`` and ``<word>.other`` are one word with a plural: ``moreArgs(n)`` takes
  ``.one`` when ``n`` is 1;
- any other ``<group>.<word>`` is a nested object: ``conv.input`` is ``UI.conv.input``.

Both languages use the same placeholders (tests/core/test_messages.py checks the one table).
"""

from __future__ import annotations

PAGE: dict[str, dict[str, str]] = {
    # Top bar, import and export.
    "subtitle": {"en": "layer calculator", "ko": "레이어 계산기"},
    "preset": {"en": "Preset", "ko": "예제"},
    "spec": {"en": "Spec", "ko": "스펙"},
    "table": {"en": "Table", "ko": "표"},
    "importFile": {"en": "Open file…", "ko": "파일 열기…"},
    "importPaste": {"en": "Paste…", "ko": "붙여넣기…"},
    "exportYaml": {"en": "Save YAML", "ko": "YAML 저장"},
    "exportJson": {"en": "Save JSON", "ko": "JSON 저장"},
    "exportMd": {"en": "Markdown", "ko": "Markdown"},
    "exportCsv": {"en": "CSV", "ko": "CSV"},
    "share": {"en": "Copy share link", "ko": "공유 링크 복사"},
    # The model and its table.
    "model": {"en": "Model", "ko": "모델"},
    "modelName": {"en": "Name", "ko": "이름"},
    "inputShape": {"en": "Input shape", "ko": "입력 크기"},
    "inputHint": {"en": "The full input, batch included, as torch takes it: (N, C, H, W).",
                  "ko": "배치를 포함한 전체 입력 크기, torch 순서: (N, C, H, W)."},
    "flow": {"en": "Flow", "ko": "흐름"},
    "colLayer": {"en": "Layer", "ko": "레이어"},
    "colInput": {"en": "Input", "ko": "입력"},
    "colOutput": {"en": "Output", "ko": "출력"},
    "colParams": {"en": "Params", "ko": "파라미터"},
    "colMacs": {"en": "MACs", "ko": "MACs"},
    "colRf": {"en": "Receptive field", "ko": "수용 영역"},
    "colFormula": {"en": "Formula", "ko": "공식"},
    # The formula toggle (static/symbolic.js still holds its own copy of these two).
    "formulas": {"en": "Formulas", "ko": "공식"},
    "formulasTitle": {"en": "Show each output as a formula of the input's varying sizes (H, W …)",
                      "ko": "각 출력을 입력의 가변 크기(H, W …)에 대한 공식으로 보기"},
    "pasteTitle": {"en": "Paste a spec (YAML or JSON)", "ko": "스펙 붙여넣기 (YAML 또는 JSON)"},
    "cancel": {"en": "Cancel", "ko": "취소"},
    "load": {"en": "Load", "ko": "불러오기"},
    "footer": {
        "en": "Every number on this page comes from shapetrace's Python core (POST /api/flow), "
              "the same code as the command line.",
        "ko": "이 페이지의 모든 숫자는 shapetrace의 Python 코어(POST /api/flow)가 계산합니다. "
              "명령줄과 같은 코드입니다.",
    },
    "presetCustom": {"en": "(your model)", "ko": "(내 모델)"},
    "presetEmpty": {"en": "Empty model", "ko": "빈 모델"},
    # The editor's cards.
    "addLayer": {"en": "Add", "ko": "추가"},
    "addBranch": {"en": "+ branch", "ko": "+ 분기"},
    "removeBranch": {"en": "remove branch", "ko": "분기 삭제"},
    "body": {"en": "body", "ko": "본체"},
    "shortcut": {"en": "shortcut", "ko": "단축 경로"},
    "post": {"en": "after the add", "ko": "덧셈 뒤"},
    "branch": {"en": "branch", "ko": "분기"},
    "layers": {"en": "layers", "ko": "레이어"},
    "identity": {"en": "identity (empty: the input is added as is)",
                 "ko": "항등 (비어 있으면 입력을 그대로 더함)"},
    "emptyStack": {"en": "No layers yet: pick a layer type below and press Add.",
                   "ko": "레이어가 없습니다. 아래에서 종류를 고르고 추가를 누르세요."},
    "name": {"en": "name", "ko": "이름"},
    "optional": {"en": "optional", "ko": "선택"},
    "required": {"en": "required", "ko": "필수"},
    "inferred": {"en": "inferred", "ko": "자동"},
    "inferredTitle": {"en": "read off the input when left empty (given: checked against it)",
                      "ko": "비워 두면 입력에서 읽음 (값을 주면 입력과 맞는지 확인)"},
    "moreArgs.one": {"en": "{n} more argument", "ko": "인자 {n}개 더 보기"},
    "moreArgs.other": {"en": "{n} more arguments", "ko": "인자 {n}개 더 보기"},
    "fewerArgs": {"en": "fewer arguments", "ko": "인자 접기"},
    "moveUp": {"en": "Move up", "ko": "위로"},
    "moveDown": {"en": "Move down", "ko": "아래로"},
    "duplicate": {"en": "Duplicate", "ko": "복제"},
    "remove": {"en": "Remove", "ko": "삭제"},
    "blocks": {"en": "Blocks", "ko": "블록"},
    "dim": {"en": "dim", "ko": "dim"},
    "collapse": {"en": "Collapse", "ko": "접기"},
    "expand": {"en": "Expand", "ko": "펼치기"},
    "collapseAll": {"en": "Collapse blocks", "ko": "블록 접기"},
    "expandAll": {"en": "Expand blocks", "ko": "블록 펼치기"},
    "inside.one": {"en": "{n} layer inside", "ko": "안에 레이어 {n}개"},
    "inside.other": {"en": "{n} layers inside", "ko": "안에 레이어 {n}개"},
    "notALayer": {"en": "not a layer", "ko": "레이어가 아님"},
    "notAList": {"en": "not a list of layers", "ko": "레이어 목록이 아님"},
    "badNodeHint": {"en": "remove it, or fix the spec file", "ko": "삭제하거나 스펙 파일을 고치세요"},
    # The results: status line and totals.
    "ok": {"en": "Every layer fits", "ko": "모든 레이어가 맞습니다"},
    "output": {"en": "Output", "ko": "출력"},
    "params": {"en": "Parameters", "ko": "파라미터"},
    "trainable": {"en": "Trainable", "ko": "학습 파라미터"},
    "macs": {"en": "MACs", "ko": "MACs"},
    "partial": {"en": "at least (some costs unknown)", "ko": "최소값 (일부 비용 미상)"},
    "activations": {"en": "Activations", "ko": "활성값 메모리"},
    "paramMem": {"en": "Parameter memory", "ko": "파라미터 메모리"},
    "layersCount": {"en": "Rows", "ko": "행"},
    "totalsUpTo": {"en": "Totals count the layers before the failing one.",
                   "ko": "합계는 오류가 난 레이어 앞까지만 셉니다."},
    "failsAt": {"en": "Fails at", "ko": "오류 위치"},
    "fix": {"en": "Fix", "ko": "해결"},
    "specError": {"en": "The spec is not valid", "ko": "스펙이 올바르지 않습니다"},
    "notReached": {"en": "not reached", "ko": "도달하지 않음"},
    "working": {"en": "computing…", "ko": "계산 중…"},
    "rfTitle": {"en": "size {size}, jump {jump}, start {start}",
                "ko": "크기 {size}, 간격 {jump}, 시작 {start}"},
    "unknownRf": {"en": "—", "ko": "—"},
    "expected": {"en": "expected", "ko": "기대"},
    "actual": {"en": "actual", "ko": "실제"},
    "show": {"en": "show", "ko": "보기"},
    # Sharing, saving and loading.
    "copied": {"en": "Link copied", "ko": "링크를 복사했습니다"},
    "linkReady": {"en": "Link ready: copy it from the box", "ko": "링크가 준비되었습니다: 상자에서 복사하세요"},
    "saved": {"en": "Saved {file}", "ko": "{file} 저장됨"},
    "loaded": {"en": "Loaded {name}", "ko": "{name} 불러옴"},
    "badLink": {"en": "This share link is damaged ({why}); it was not loaded.",
                "ko": "공유 링크가 손상되었습니다 ({why}). 불러오지 않았습니다."},
    "linkNoInflate": {"en": "its data does not decompress: part of the link is missing or changed",
                      "ko": "압축이 풀리지 않습니다: 링크 일부가 빠졌거나 바뀌었습니다"},
    "linkNotJson": {"en": "its data is not JSON", "ko": "데이터가 JSON이 아닙니다"},
    "linkNoSpec": {"en": "it holds no spec", "ko": "스펙이 없습니다"},
    "linkNotLink": {"en": "it is not a #s= or #j= link", "ko": "#s= 또는 #j= 링크가 아닙니다"},
    # The server's state.
    "serverDown": {"en": "The server does not answer", "ko": "서버가 응답하지 않습니다"},
    "serverDownHint": {
        "en": "Is `shapetrace serve` still running? The page asks again on the next edit.",
        "ko": "`shapetrace serve`가 아직 실행 중인가요? 다음에 편집하면 다시 요청합니다.",
    },
    "serverBusy": {"en": "The server is busy", "ko": "서버가 바쁩니다"},
    "serverFailed": {"en": "The server answered {status}", "ko": "서버 응답: {status}"},
    "notJson": {"en": "its answer is not JSON", "ko": "응답이 JSON이 아닙니다"},
    "pageError": {"en": "The page could not show this answer", "ko": "페이지가 이 응답을 표시하지 못했습니다"},
    # The graph and the conv picture.
    "graph": {"en": "Graph", "ko": "그래프"},
    "graphHint": {"en": "Click a node to select its card and its table row.",
                  "ko": "노드를 누르면 그 카드와 표의 행이 선택됩니다."},
    "graphTooBig": {
        "en": "Too many layers to draw here: `shapetrace summary SPEC --format svg -o graph.svg` draws it.",
        "ko": "레이어가 너무 많아 여기서는 그리지 않습니다: "
              "`shapetrace summary SPEC --format svg -o graph.svg`로 그리세요.",
    },
    "convTitle": {"en": "{name}, drawn", "ko": "{name}의 계산 그림"},
    "convHint": {"en": "Hover an output cell, or step with ◀ ▶.",
                 "ko": "출력 칸 위에 마우스를 올리거나 ◀ ▶로 옮기세요."},
    "convNone": {"en": "Select a conv, transposed conv or pool layer to see its arithmetic drawn.",
                 "ko": "합성곱, 전치 합성곱, 풀링 레이어를 고르면 그 계산을 그림으로 봅니다."},
    "conv.input": {"en": "input", "ko": "입력"},
    "conv.output": {"en": "output", "ko": "출력"},
    "conv.padding": {"en": "padding", "ko": "패딩"},
    "conv.window": {"en": "window", "ko": "커널 창"},
    "conv.dropped": {"en": "dropped by the floor", "ko": "내림으로 버려짐"},
    "conv.field": {"en": "receptive field in the model's input", "ko": "모델 입력에서의 수용 영역"},
    "conv.cell": {"en": "output cell", "ko": "출력 칸"},
    "conv.scatter": {"en": "written by input cell", "ko": "이 입력 칸이 쓰는 곳"},
    "conv.prev": {"en": "previous cell", "ko": "이전 칸"},
    "conv.next": {"en": "next cell", "ko": "다음 칸"},
}

# The presets' titles (web/presets.py; the page shows ``titles[lang]``), by the example file's
# stem. A shipped example without one here is titled by its spec's name.
PRESETS: dict[str, dict[str, str]] = {
    "seed": {"en": "Seed: CNN with residual blocks (MNIST 28x28)",
             "ko": "시드: 잔차 블록 CNN (MNIST 28x28)"},
    "seed-verbatim": {"en": "Seed as written: fc1 = Linear(128 * 7 * 7, 512) fails",
                      "ko": "시드 원본 코드: fc1 = Linear(128 * 7 * 7, 512) 오류"},
    "resnet18": {"en": "ResNet-18 (224x224)", "ko": "ResNet-18 (224x224)"},
    "vgg16": {"en": "VGG-16, configuration D (224x224)", "ko": "VGG-16, 구성 D (224x224)"},
}

# Both, under the one table's keys (core/words.py merges this into TEXT).
TABLE: dict[str, dict[str, str]] = {
    **{f"page.{word}": texts for word, texts in PAGE.items()},
    **{f"preset.{pid}": texts for pid, texts in PRESETS.items()},
}


def page_words() -> dict[str, dict[str, str]]:
    """What the page gets (/words.js): per language, each word of ``PAGE`` -> its text."""
    return {lang: {word: texts[lang] for word, texts in PAGE.items()} for lang in ("en", "ko")}

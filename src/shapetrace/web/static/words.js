// shapetrace calculator: the page's words and its block types, in one place.
//
// Everything the page says that is not the server's (the core's messages, shapes and notes
// come from POST /api/view) is in UI, per language; everything the page knows about blocks
// (which sections hold layers, what a new one starts with) is in BLOCKS, built from the
// block types the server describes (/blocks.js, from core/spec.py).
"use strict";

(() => {
  const UI = {
    en: {
      subtitle: "layer calculator", preset: "Preset", spec: "Spec", table: "Table",
      importFile: "Open file…", importPaste: "Paste…", exportYaml: "Save YAML",
      exportJson: "Save JSON", exportMd: "Markdown", exportCsv: "CSV", share: "Copy share link",
      model: "Model", modelName: "Name", inputShape: "Input shape",
      inputHint: "The full input, batch included, as torch takes it: (N, C, H, W).",
      flow: "Flow", colLayer: "Layer", colInput: "Input", colOutput: "Output",
      colParams: "Params", colMacs: "MACs", colRf: "Receptive field", colFormula: "Formula",
      pasteTitle: "Paste a spec (YAML or JSON)", cancel: "Cancel", load: "Load",
      footer: "Every number on this page comes from shapetrace's Python core (POST /api/flow), the same code as the command line.",
      presetCustom: "(your model)", presetEmpty: "Empty model",
      addLayer: "Add", addBranch: "+ branch", removeBranch: "remove branch",
      body: "body", shortcut: "shortcut", post: "after the add", branch: "branch",
      layers: "layers", identity: "identity (empty: the input is added as is)",
      emptyStack: "No layers yet: pick a layer type below and press Add.",
      name: "name", optional: "optional", required: "required", inferred: "inferred",
      inferredTitle: "read off the input when left empty (given: checked against it)",
      moreArgs: (n) => `${n} more argument${n === 1 ? "" : "s"}`, fewerArgs: "fewer arguments",
      moveUp: "Move up", moveDown: "Move down", duplicate: "Duplicate", remove: "Remove",
      blocks: "Blocks", dim: "dim",
      ok: "Every layer fits", output: "Output", params: "Parameters", trainable: "Trainable",
      macs: "MACs", partial: "at least (some costs unknown)", activations: "Activations",
      paramMem: "Parameter memory", layersCount: "Rows",
      totalsUpTo: "Totals count the layers before the failing one.",
      failsAt: "Fails at", fix: "Fix", specError: "The spec is not valid",
      notReached: "not reached", working: "computing…", serverDown: "The server does not answer",
      copied: "Link copied", linkReady: "Link ready: copy it from the box",
      saved: (f) => `Saved ${f}`, loaded: (n) => `Loaded ${n}`,
      rfTitle: (s, j, st) => `size ${s}, jump ${j}, start ${st}`, unknownRf: "—",
      expected: "expected", actual: "actual", show: "show",
      serverDown: "The server does not answer",
      serverDownHint: "Is `shapetrace serve` still running? The page asks again on the next edit.",
      serverBusy: "The server is busy", serverFailed: (s) => `The server answered ${s}`,
      notJson: "its answer is not JSON", pageError: "The page could not show this answer",
      badLink: (why) => `This share link is damaged (${why}); it was not loaded.`,
      linkNoInflate: "its data does not decompress: part of the link is missing or changed",
      linkNotJson: "its data is not JSON", linkNoSpec: "it holds no spec",
      linkNotLink: "it is not a #s= or #j= link",
      notALayer: "not a layer", notAList: "not a list of layers", badNodeHint: "remove it, or fix the spec file",
      collapse: "Collapse", expand: "Expand", collapseAll: "Collapse blocks", expandAll: "Expand blocks",
      inside: (n) => `${n} layer${n === 1 ? "" : "s"} inside`,
      graph: "Graph", graphHint: "Click a node to select its card and its table row.",
      graphTooBig: "Too many layers to draw here: `shapetrace summary SPEC --format svg -o graph.svg` draws it.",
      convTitle: (name) => `${name}, drawn`, convHint: "Hover an output cell, or step with ◀ ▶.",
      convNone: "Select a conv, transposed conv or pool layer to see its arithmetic drawn.",
      conv: { input: "input", output: "output", padding: "padding", window: "window", dropped: "dropped by the floor",
        field: "receptive field in the model's input", cell: "output cell", scatter: "written by input cell",
        prev: "previous cell", next: "next cell" },
    },
    ko: {
      subtitle: "레이어 계산기", preset: "예제", spec: "스펙", table: "표",
      importFile: "파일 열기…", importPaste: "붙여넣기…", exportYaml: "YAML 저장",
      exportJson: "JSON 저장", exportMd: "Markdown", exportCsv: "CSV", share: "공유 링크 복사",
      model: "모델", modelName: "이름", inputShape: "입력 크기",
      inputHint: "배치를 포함한 전체 입력 크기, torch 순서: (N, C, H, W).",
      flow: "흐름", colLayer: "레이어", colInput: "입력", colOutput: "출력",
      colParams: "파라미터", colMacs: "MACs", colRf: "수용 영역", colFormula: "공식",
      pasteTitle: "스펙 붙여넣기 (YAML 또는 JSON)", cancel: "취소", load: "불러오기",
      footer: "이 페이지의 모든 숫자는 shapetrace의 Python 코어(POST /api/flow)가 계산합니다. 명령줄과 같은 코드입니다.",
      presetCustom: "(내 모델)", presetEmpty: "빈 모델",
      addLayer: "추가", addBranch: "+ 분기", removeBranch: "분기 삭제",
      body: "본체", shortcut: "단축 경로", post: "덧셈 뒤", branch: "분기",
      layers: "레이어", identity: "항등 (비어 있으면 입력을 그대로 더함)",
      emptyStack: "레이어가 없습니다. 아래에서 종류를 고르고 추가를 누르세요.",
      name: "이름", optional: "선택", required: "필수", inferred: "자동",
      inferredTitle: "비워 두면 입력에서 읽음 (값을 주면 입력과 맞는지 확인)",
      moreArgs: (n) => `인자 ${n}개 더 보기`, fewerArgs: "인자 접기",
      moveUp: "위로", moveDown: "아래로", duplicate: "복제", remove: "삭제",
      blocks: "블록", dim: "dim",
      ok: "모든 레이어가 맞습니다", output: "출력", params: "파라미터", trainable: "학습 파라미터",
      macs: "MACs", partial: "최소값 (일부 비용 미상)", activations: "활성값 메모리",
      paramMem: "파라미터 메모리", layersCount: "행",
      totalsUpTo: "합계는 오류가 난 레이어 앞까지만 셉니다.",
      failsAt: "오류 위치", fix: "해결", specError: "스펙이 올바르지 않습니다",
      notReached: "도달하지 않음", working: "계산 중…", serverDown: "서버가 응답하지 않습니다",
      copied: "링크를 복사했습니다", linkReady: "링크가 준비되었습니다: 상자에서 복사하세요",
      saved: (f) => `${f} 저장됨`, loaded: (n) => `${n} 불러옴`,
      rfTitle: (s, j, st) => `크기 ${s}, 간격 ${j}, 시작 ${st}`, unknownRf: "—",
      expected: "기대", actual: "실제", show: "보기",
      serverDown: "서버가 응답하지 않습니다",
      serverDownHint: "`shapetrace serve`가 아직 실행 중인가요? 다음에 편집하면 다시 요청합니다.",
      serverBusy: "서버가 바쁩니다", serverFailed: (s) => `서버 응답: ${s}`,
      notJson: "응답이 JSON이 아닙니다", pageError: "페이지가 이 응답을 표시하지 못했습니다",
      badLink: (why) => `공유 링크가 손상되었습니다 (${why}). 불러오지 않았습니다.`,
      linkNoInflate: "압축이 풀리지 않습니다: 링크 일부가 빠졌거나 바뀌었습니다",
      linkNotJson: "데이터가 JSON이 아닙니다", linkNoSpec: "스펙이 없습니다",
      linkNotLink: "#s= 또는 #j= 링크가 아닙니다",
      notALayer: "레이어가 아님", notAList: "레이어 목록이 아님", badNodeHint: "삭제하거나 스펙 파일을 고치세요",
      collapse: "접기", expand: "펼치기", collapseAll: "블록 접기", expandAll: "블록 펼치기",
      inside: (n) => `안에 레이어 ${n}개`,
      graph: "그래프", graphHint: "노드를 누르면 그 카드와 표의 행이 선택됩니다.",
      graphTooBig: "레이어가 너무 많아 여기서는 그리지 않습니다: `shapetrace summary SPEC --format svg -o graph.svg`로 그리세요.",
      convTitle: (name) => `${name}의 계산 그림`, convHint: "출력 칸 위에 마우스를 올리거나 ◀ ▶로 옮기세요.",
      convNone: "합성곱, 전치 합성곱, 풀링 레이어를 고르면 그 계산을 그림으로 봅니다.",
      conv: { input: "입력", output: "출력", padding: "패딩", window: "커널 창", dropped: "내림으로 버려짐",
        field: "모델 입력에서의 수용 영역", cell: "출력 칸", scatter: "이 입력 칸이 쓰는 곳",
        prev: "이전 칸", next: "다음 칸" },
    },
  };


  // The spec's block types, described once in Python (core/spec.py BLOCK_TYPES) and served
  // as /blocks.js: the keys of each that hold lists of layers, how a new one starts, and
  // whether its sections are lists of lists (Concat's branches).
  const startValue = (f) => (f.kind === "int" ? f.default
    : f.kind === "branches" ? Array.from({ length: f.start_items }, () => []) : []);
  const BLOCKS = Object.fromEntries((window.shapetraceBlocks || []).map((b) => [b.type, {
    sections: b.fields.filter((f) => f.kind !== "int").map((f) => f.key),
    nested: b.fields.some((f) => f.kind === "branches"),
    make: () => Object.fromEntries([["type", b.type], ...b.fields.map((f) => [f.key, startValue(f)])]),
  }]));

  window.shapetraceWords = Object.freeze({ UI, BLOCKS });
})();

// shapetrace layer calculator: the page is a client of the server's JSON API.
//
// One source of truth: no shape, parameter count, MAC count, receptive field or formula
// is computed here, and no shape or note is formatted here. Every edit posts the spec (the
// same JSON as the CLI's spec files) to POST /api/view, which answers with exactly what
// POST /api/flow returns plus that flow's shapes and notes as text (shapetrace.render and
// the core's messages, in both layouts and both languages). This file only edits the spec,
// lays out the answer, and moves state in and out of the URL.
//
// Text from the spec or the server is always set with textContent, never parsed as HTML.
"use strict";

(() => {
  // ------------------------------------------------------------------ text (UI words only)
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
    },
  };

  const BLOCK_TYPES = ["Residual", "Concat", "Sequential"];
  // Optional arguments shown on a card before "more arguments" (torch lists the ones that
  // matter most for shapes first: stride, padding, dilation ...).
  const SHOWN_OPTIONAL = 4;

  const state = {
    spec: { name: "model", input: [1, 1, 28, 28], layers: [] },
    layout: "nchw",
    lang: "en",
    preset: "",
    catalog: new Map(),
    catalogList: [],
    report: null, // the flow: exactly POST /api/flow's JSON
    display: null, // its text, from POST /api/view
    expanded: new Set(),
    addType: new Map(), // stack key -> last type picked there
    lastAddType: "Conv2d",
  };

  const t = (key, ...args) => {
    const v = (UI[state.lang] || UI.en)[key] ?? UI.en[key] ?? key;
    return typeof v === "function" ? v(...args) : v;
  };

  // ------------------------------------------------------------------ DOM helpers
  const $ = (sel, root = document) => root.querySelector(sel);
  function h(tag, props = {}, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(props)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else if (k === "dataset") Object.assign(node.dataset, v);
      else if (k === "style") for (const [prop, val] of Object.entries(v)) node.style.setProperty(prop, val); // CSSOM: allowed by the CSP
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else if (k in node && typeof v !== "string") node[k] = v;
      else node.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children.flat(Infinity)) {
      if (c === null || c === undefined || c === false) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }

  // "Fix: <code>" under an error, in the table and on the failing card
  const fixLine = (f) => h("div", { class: "err-fix" }, h("b", { text: t("fix") + ": " }), h("code", { text: f }));

  // Small line icons as SVG (no icon font: glyphs such as ✕ are missing from many fonts).
  const ICONS = {
    up: "M8 13V3M4 7l4-4 4 4",
    down: "M8 3v10M4 9l4 4 4-4",
    dup: "M5.5 5.5h7v7h-7zM3.5 10.5v-7h7",
    remove: "M4 4l8 8M12 4l-8 8",
  };
  function icon(name) {
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 16 16");
    svg.setAttribute("aria-hidden", "true");
    const path = document.createElementNS(ns, "path");
    path.setAttribute("d", ICONS[name]);
    svg.append(path);
    return svg;
  }

  // replaceChildren, skipping the null/false that conditional children produce (the DOM
  // would otherwise write them out as the text "null").
  function fill(node, ...kids) {
    node.replaceChildren(...kids.flat(Infinity).filter((k) => k !== null && k !== undefined && k !== false));
  }

  // ------------------------------------------------------------------ values
  // A field's text -> a JSON value, read the way the CLI reads key=value: 3, 2.5, true,
  // none, same, (3, 3), 3,3. Unreadable text is sent as a string and the core says why.
  function parseArg(text) {
    const s = text.trim();
    if (s === "") return undefined;
    const low = s.toLowerCase();
    if (low === "none" || low === "null") return null;
    if (low === "true") return true;
    if (low === "false") return false;
    if (/^[-+]?\d+$/.test(s)) return Number.parseInt(s, 10);
    if (/^[-+]?(\d+\.\d*|\.\d+|\d+)(e[-+]?\d+)?$/i.test(s)) return Number(s);
    if (/^'.*'$|^".*"$/.test(s)) return s.slice(1, -1);
    let inner = null;
    if ((s.startsWith("(") && s.endsWith(")")) || (s.startsWith("[") && s.endsWith("]"))) inner = s.slice(1, -1);
    else if (s.includes(",")) inner = s;
    if (inner !== null) {
      if (inner.trim() === "") return [];
      const parts = inner.split(",").map((p) => p.trim());
      if (parts.length > 1 && parts[parts.length - 1] === "") parts.pop(); // (3,)
      if (parts.every((p) => p !== "" && !/[()[\]]/.test(p))) return parts.map(parseArg);
    }
    return s;
  }

  function formatArg(v) {
    if (v === null) return "None";
    if (v === true) return "True";
    if (v === false) return "False";
    if (Array.isArray(v)) return "(" + v.map(formatArg).join(", ") + (v.length === 1 ? ",)" : ")");
    return String(v);
  }

  // "1, 1, 28, 28", "(1, 1, 28, 28)" or "1x1x28x28" -> [1, 1, 28, 28]; anything else is sent
  // as typed, and the core says what is wrong with it.
  function parseShape(text) {
    const inner = text.trim().replace(/^[([]\s*/, "").replace(/\s*[)\]]$/, "").replace(/[,\s]+$/, "");
    const parts = inner.split(/\s*[,x×]\s*|\s+/);
    if (inner && parts.every((p) => /^\d+$/.test(p))) return parts.map((p) => Number.parseInt(p, 10));
    return text;
  }

  const clone = (v) => JSON.parse(JSON.stringify(v));
  const int = (n) => (n === null || n === undefined ? "" : Number(n).toLocaleString("en-US"));

  function compact(n) {
    if (n === null || n === undefined) return "?";
    const units = [[1e12, "T"], [1e9, "G"], [1e6, "M"], [1e3, "K"]];
    for (const [v, u] of units) if (Math.abs(n) >= v) return (n / v).toFixed(n / v >= 100 ? 0 : 2).replace(/\.?0+$/, "") + " " + u;
    return String(n);
  }

  function bytes(n) {
    const units = [[2 ** 30, "GiB"], [2 ** 20, "MiB"], [2 ** 10, "KiB"]];
    for (const [v, u] of units) if (n >= v) return (n / v).toFixed(n / v >= 100 ? 0 : 1) + " " + u;
    return `${n} B`;
  }

  // Display text from the server (POST /api/view): shapes in the current layout.
  const shown = (texts) => (texts ? texts[state.layout] : []);

  // ------------------------------------------------------------------ the spec tree
  // A node is addressed by its path from the spec: ["layers", 3, "body", 0] or
  // ["layers", 2, "branches", 1, 0].
  const pathKey = (p) => p.join("/");

  function getList(path) { // path to a list (ends with its key)
    let cur = state.spec;
    for (const k of path) cur = cur[k];
    return cur;
  }

  function ensureList(path) {
    let cur = state.spec;
    for (let i = 0; i < path.length; i++) {
      const k = path[i];
      if (cur[k] === undefined) cur[k] = typeof path[i + 1] === "number" ? [] : [];
      cur = cur[k];
    }
    return cur;
  }


  // The spec as sent: empty optional sections dropped (an empty shortcut means identity).
  function specForServer() {
    const s = clone(state.spec);
    const tidy = (list) => {
      for (const n of list) {
        if (n.type === "Residual") {
          tidy(n.body || []);
          if (!n.shortcut || !n.shortcut.length) delete n.shortcut; else tidy(n.shortcut);
          if (!n.post || !n.post.length) delete n.post; else tidy(n.post);
        } else if (n.type === "Concat") (n.branches || []).forEach(tidy);
        else if (n.type === "Sequential") tidy(n.layers || []);
      }
    };
    tidy(s.layers || []);
    return s;
  }

  // ------------------------------------------------------------------ API
  async function api(method, url, body, as = "json") {
    const opts = { method, headers: {} };
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    const res = await fetch(url, opts);
    if (!res.ok) {
      let detail = `${res.status} ${res.statusText}`;
      try { detail = (await res.json()).detail || detail; } catch (e) { /* not JSON */ }
      const err = new Error(detail);
      err.status = res.status;
      throw err;
    }
    return as === "text" ? res.text() : res.json();
  }

  // ------------------------------------------------------------------ computing
  let seq = 0;
  let timer = null;
  let inflight = null;

  // Every edit bumps `seq` at once, so an answer to an older spec (still in flight, or
  // arriving during the debounce) is dropped, and "computing" covers the debounce too: the
  // table on screen is final exactly when the state is no longer "computing".
  function schedule() {
    seq++;
    document.body.dataset.state = "computing";
    clearTimeout(timer);
    timer = setTimeout(compute, 15);
  }

  async function compute() {
    const my = seq;
    if (inflight) inflight.abort();
    const ctl = new AbortController();
    inflight = ctl;
    document.body.dataset.state = "computing";
    const spec = specForServer();
    try {
      const res = await fetch("/api/view", {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify(spec), signal: ctl.signal,
      });
      const data = await res.json().catch(() => ({ detail: `${res.status} ${res.statusText}` }));
      if (my !== seq) return;
      if (res.ok) showReport(data.flow, data.display);
      else showSpecError(data.detail || `${res.status}`);
    } catch (e) {
      if (e.name === "AbortError" || my !== seq) return;
      showSpecError(t("serverDown"), true);
    } finally {
      if (inflight === ctl) inflight = null;
    }
    saveHash();
  }

  // ------------------------------------------------------------------ results
  function setRendered(stateName) {
    document.body.dataset.state = stateName;
    const rev = Number(document.body.dataset.rev || 0) + 1;
    document.body.dataset.rev = String(rev);
  }

  function formulaLines(row) {
    // Dimensions with the same worked formula are shown once: "H, W".
    const groups = [];
    for (const f of row.formulas) {
      const g = groups.find((x) => x.worked === f.worked && x.value === f.value);
      if (g) { g.axes.push(f.axis); g.formulas.push(`${f.axis}_out = ${f.formula}`); }
      else groups.push({ axes: [f.axis], worked: f.worked, value: f.value, formulas: [`${f.axis}_out = ${f.formula}`] });
    }
    return groups;
  }

  function rfCell(rf) {
    if (!rf) return h("td", { class: "c-rf muted", text: t("unknownRf") });
    const size = rf.size.join("×");  // 3x3, 3x3x3 (a 3-D field was shown as 3x3)
    return h("td", { class: "c-rf", title: t("rfTitle", rf.size.join("×"), rf.jump.join("×"), rf.start.join(", ")) },
      h("span", { class: "rf-size", text: size }), h("span", { class: "rf-jump", text: ` /${rf.jump.join("×")}` }));
  }

  function showReport(report, display) {
    state.report = report;
    state.display = display;
    const body = $("#flow-body");
    const rows = [];
    const parents = []; // the block row at each depth, to show nested names relative to it
    report.rows.forEach((r, i) => {
      const isBlock = BLOCK_TYPES.includes(r.kind);
      const parent = r.depth > 0 ? parents[r.depth - 1] : null;
      const shortName = parent && r.name.startsWith(parent + ".") ? r.name.slice(parent.length + 1) : r.name;
      parents[r.depth] = r.name;
      const cls = ["row", isBlock ? "block" : "", r.is_op ? "op" : ""].join(" ").trim();
      rows.push(h("tr", { class: cls, dataset: { qual: r.name, kind: r.kind } },
        h("td", { class: "c-idx", text: String(i + 1) }),
        h("td", { class: "c-layer" },
          h("span", { class: "indent", style: { "--depth": String(r.depth) } }),
          h("span", { class: "r-name", text: shortName, title: r.name }), " ",
          h("span", { class: "r-kind", text: r.kind })),
        h("td", { class: "c-shape in" }, shown(display.rows[i].in).map((text) => h("div", { text }))),
        h("td", { class: "c-shape out", text: shown(display.rows[i].out).join(", ") }),
        h("td", { class: "c-num params", text: r.params ? int(r.params) : "" }),
        h("td", { class: "c-num macs", title: r.macs === null ? "" : int(r.macs), text: r.macs === null ? "?" : r.macs ? compact(r.macs) : "" }),
        rfCell(r.receptive_field)));
      // The worked formula (and the core's notes) on a line of its own under the row.
      const groups = formulaLines(r);
      if (groups.length || r.notes.length) {
        rows.push(h("tr", { class: "detail", dataset: { qual: r.name } },
          h("td", { class: "c-idx" }),
          h("td", { class: "c-formula", colspan: "6" },
            h("span", { class: "indent", style: { "--depth": String(r.depth) } }),
            h("span", { class: "formulas" },
              groups.map((g) => h("span", { class: "f", title: g.formulas.join("\n") },
                h("span", { class: "f-axis", text: g.axes.map((a) => a + "_out").join(", ") + " = " }),
                h("span", { class: "f-worked", text: g.worked }),
                h("span", { class: "f-value", text: " = " + g.value }))),
              display.rows[i].notes[state.lang].map((text) => h("span", { class: "note", text }))))));
      }
    });
    const err = report.error;
    if (err) {
      rows.push(h("tr", { class: "row error-row", dataset: { qual: err.row, kind: err.kind } },
        h("td", { class: "c-idx", text: "✗" }),
        h("td", { class: "c-layer" }, h("span", { class: "r-name", text: err.row }), " ", h("span", { class: "r-kind", text: err.kind })),
        h("td", { class: "c-shape in", text: display.error.actual ? shown(display.error.actual)[0] : "" }),
        h("td", { class: "c-error", colspan: "4" },
          h("div", { class: "err-msg", text: err.message }),
          err.arithmetic.map((a) => h("div", { class: "err-arith", text: a })),
          err.fixes.map(fixLine))));
    }
    body.replaceChildren(...rows);
    $("#results").classList.remove("stale");
    showStatus(report);
    showTotals(report);
    markCards(report);
    setRendered(err ? "error" : "ok");
  }

  function showStatus(report) {
    const box = $("#status");
    const err = report.error;
    if (err) {
      box.className = "status bad";
      fill(box, 
        h("div", { class: "status-head" },
          h("span", { class: "icon", text: "✗" }),
          h("span", { text: `${t("failsAt")} ` }), h("code", { class: "err-row", text: err.row }),
          h("span", { class: "muted", text: ` (${err.kind})` }),
          h("button", { type: "button", class: "link", text: t("show"), onclick: () => focusCard(err.row, err.kind) })),
        h("div", { class: "status-msg", text: err.message }),
        err.fixes.length ? h("div", { class: "status-fix" }, h("b", { text: t("fix") + ": " }),
          err.fixes.map((f, i) => [i ? " · " : "", h("code", { text: f })])) : null);
    } else {
      const out = finalShape();
      box.className = "status good";
      fill(box, h("div", { class: "status-head" },
        h("span", { class: "icon", text: "✓" }), h("span", { text: `${t("ok")}: ` }),
        h("code", { class: "final-shape", text: out })));
    }
  }

  // The model's output as shown: the last row's output, or the input when there is no layer.
  function finalShape() {
    const rows = state.display.rows;
    return shown(rows.length ? rows[rows.length - 1].out : state.display.input)[0];
  }

  function showTotals(report) {
    const tot = report.totals;
    const items = [
      [t("output"), report.error ? t("notReached") : finalShape(), "out"],
      [t("params"), int(tot.params), "params"],
      [t("trainable"), int(tot.trainable_params), "trainable"],
      [t("macs"), (tot.macs_partial ? "≥ " : "") + compact(tot.macs), "macs"],
      [t("activations"), bytes(tot.activation_bytes), "act"],
      [t("paramMem"), bytes(tot.param_bytes), "pmem"],
    ];
    $("#totals").replaceChildren(...items.map(([k, v, id]) => h("div", { class: "tot", dataset: { total: id } },
      h("dt", { text: k }), h("dd", { text: v, title: id === "macs" ? int(tot.macs) + (tot.macs_partial ? " — " + t("partial") : "") : "" }))),
      ...(report.error ? [h("p", { class: "totals-note", text: t("totalsUpTo") })] : []));
  }

  function showSpecError(message, down = false) {
    $("#results").classList.add("stale");
    const box = $("#status");
    box.className = "status bad";
    fill(box, 
      h("div", { class: "status-head" }, h("span", { class: "icon", text: "✗" }),
        h("span", { text: down ? t("serverDown") : t("specError") })),
      down ? null : h("div", { class: "status-msg", text: message }));
    clearCardMarks();
    const m = /layers\[\d+\](?:\.(?:body|shortcut|post|layers)\[\d+\]|\.branches\[\d+\]\[\d+\])*/.exec(message || "");
    if (m) {
      const path = [];
      for (const part of m[0].matchAll(/(\w+)\[(\d+)\](?:\[(\d+)\])?/g)) {
        path.push(part[1], Number(part[2]));
        if (part[3] !== undefined) path.push(Number(part[3]));
      }
      const card = cards.get(pathKey(path));
      if (card) {
        card.classList.add("error");
        const slot = card.querySelector(":scope > .card-error");
        if (slot) { slot.hidden = false; slot.textContent = message; }
      }
    }
    setRendered("spec-error");
  }

  // ------------------------------------------------------------------ cards <-> rows
  let cards = new Map(); // pathKey -> card element

  function clearCardMarks() {
    for (const card of cards.values()) {
      card.classList.remove("error", "after-error");
      for (const arg of card.querySelectorAll(":scope > .args .arg.bad")) arg.classList.remove("bad");
      const slot = card.querySelector(":scope > .card-error");
      if (slot) { slot.hidden = true; slot.textContent = ""; }
      const out = card.querySelector(":scope > .card-out .out-shape");
      if (out) { out.textContent = ""; out.title = ""; }
    }
  }

  // The card of a row: the server says where each row's layer sits in the spec
  // (display.paths, "layers/3/body/0"); an add or cat row belongs to its block.
  function rowKey(name, kind) {
    const paths = state.display.paths;
    if ((kind === "add" || kind === "cat") && /\.(add|cat)$/.test(name) && !(name in paths)) {
      return paths[name.replace(/\.(add|cat)$/, "")];
    }
    return paths[name];
  }

  function markCards(report) {
    clearCardMarks();
    const reached = new Set();
    report.rows.forEach((row, i) => {
      if (row.is_op) return;
      const key = state.display.paths[row.name];
      const card = key !== undefined && cards.get(key);
      if (!card) return;
      reached.add(key);
      const out = card.querySelector(":scope > .card-out .out-shape");
      if (out && row.output_shapes.length) {
        out.textContent = "→ " + shown(state.display.rows[i].out).join(", ");
        out.title = row.formulas.map((f) => `${f.axis}_out = ${f.worked} = ${f.value}`).join("\n");
      }
      // Empty fields show what the core used: the default or the value read off the input.
      for (const input of card.querySelectorAll(":scope > .args .arg input")) {
        const arg = input.dataset.arg;
        if (input.value === "" && row.kwargs && arg in row.kwargs) input.placeholder = formatArg(row.kwargs[arg]);
      }
    });
    const err = report.error;
    if (!err) return;
    const failKey = rowKey(err.row, err.kind);
    for (const [key, card] of cards) {
      if (key === failKey) {
        card.classList.add("error");
        const slot = card.querySelector(":scope > .card-error");
        if (slot) {
          slot.hidden = false;
          slot.replaceChildren(h("div", { class: "err-msg", text: err.message }),
            ...err.fixes.map(fixLine));
        }
        // The argument the core names (in_features, kernel_size ...) is marked too.
        const bad = err.argument && card.querySelector(`:scope > .args .arg input[data-arg="${CSS.escape(err.argument)}"]`);
        if (bad) bad.closest(".arg").classList.add("bad");
      } else if (!reached.has(key)) card.classList.add("after-error");
    }
  }

  // Scroll the editor panel (not the page) so that the card sits in its middle.
  function scrollEditorTo(card) {
    const editor = $("#editor");
    if (editor.scrollHeight <= editor.clientHeight + 1) { card.scrollIntoView({ block: "center", behavior: "smooth" }); return; }
    const top = card.getBoundingClientRect().top - editor.getBoundingClientRect().top + editor.scrollTop;
    editor.scrollTo({ top: Math.max(0, top - editor.clientHeight / 3), behavior: "smooth" });
  }

  function focusCard(name, kind) {
    const card = cards.get(rowKey(name, kind));
    if (!card) return;
    scrollEditorTo(card);
    const f = card.querySelector(".arg.bad input") || card.querySelector("select.type");
    if (f) f.focus({ preventScroll: true });
  }

  // ------------------------------------------------------------------ editor
  function typeSelect(current, includeBlocks, onchange) {
    const sel = h("select", { class: "type", onchange, "aria-label": "layer type" });
    const fams = new Map();
    for (const info of state.catalogList) {
      if (info.inputs !== 1) continue; // a spec is a chain: two-input layers cannot sit in it
      if (!fams.has(info.family)) fams.set(info.family, []);
      fams.get(info.family).push(info.name);
    }
    for (const [fam, names] of fams) {
      sel.append(h("optgroup", { label: fam }, names.map((n) => h("option", { value: n, text: n }))));
    }
    if (includeBlocks) sel.append(h("optgroup", { label: t("blocks") }, BLOCK_TYPES.map((n) => h("option", { value: n, text: n }))));
    if (current && ![...sel.options].some((o) => o.value === current)) sel.append(h("option", { value: current, text: current }));
    sel.value = current;
    return sel;
  }

  function renderEditor() {
    cards = new Map();
    $("#model-name").value = state.spec.name || "";
    $("#input-shape").value = Array.isArray(state.spec.input) ? state.spec.input.join(", ") : String(state.spec.input ?? "");
    $("#stack-root").replaceChildren(renderStack(["layers"], state.spec.layers, "top"));
    if (state.report) markCards(state.report);
  }

  function renderStack(listPath, list, kind) {
    const ol = h("ol", { class: `stack ${kind}`, dataset: { path: pathKey(listPath) } });
    if (!list.length && kind === "top") ol.append(h("li", { class: "empty", text: t("emptyStack") }));
    list.forEach((node, i) => ol.append(renderNode(node, [...listPath, i], list)));
    ol.append(addBar(listPath));
    return ol;
  }

  function addBar(listPath) {
    const key = pathKey(listPath);
    const sel = typeSelect(state.addType.get(key) || state.lastAddType, true, () => {
      state.addType.set(key, sel.value); state.lastAddType = sel.value;
    });
    sel.classList.add("add-type");
    const btn = h("button", { type: "button", class: "add", text: "+ " + t("addLayer"),
      onclick: () => { addNode(listPath, sel.value); } });
    return h("li", { class: "add-bar" }, sel, btn);
  }

  function newNode(type) {
    if (type === "Residual") return { type, body: [], shortcut: [], post: [] };
    if (type === "Concat") return { type, dim: 1, branches: [[], []] };
    if (type === "Sequential") return { type, layers: [] };
    return { type };
  }

  function addNode(listPath, type) {
    const list = ensureList(listPath);
    list.push(newNode(type));
    state.lastAddType = type;
    changed(true);
    // Focus the new card's first empty required field, so typing can start at once.
    const card = cards.get(pathKey([...listPath, list.length - 1]));
    if (card) {
      const f = card.querySelector(".arg.required input") || card.querySelector("input.name");
      if (f) f.focus();
    }
  }

  function renderNode(node, path, siblings) {
    const isBlock = BLOCK_TYPES.includes(node.type);
    const index = path[path.length - 1];
    const card = h("li", { class: `card ${isBlock ? "block " + node.type.toLowerCase() : "layer"}`, dataset: { path: pathKey(path), type: node.type } });
    cards.set(pathKey(path), card);

    const typeSel = typeSelect(node.type, true, () => changeType(path, typeSel.value));
    const name = h("input", { type: "text", class: "name", value: node.name || "", placeholder: t("name"),
      spellcheck: "false", autocomplete: "off", "aria-label": "layer name",
      oninput: () => { const v = name.value.trim(); if (v) node.name = v; else delete node.name; changed(false); } });
    const tools = h("span", { class: "tools" },
      h("button", { type: "button", class: "icon-btn up", title: t("moveUp"), "aria-label": t("moveUp"), disabled: index === 0,
        onclick: () => { move(siblings, index, -1); } }, icon("up")),
      h("button", { type: "button", class: "icon-btn down", title: t("moveDown"), "aria-label": t("moveDown"), disabled: index === siblings.length - 1,
        onclick: () => { move(siblings, index, 1); } }, icon("down")),
      h("button", { type: "button", class: "icon-btn dup", title: t("duplicate"), "aria-label": t("duplicate"),
        onclick: () => { siblings.splice(index + 1, 0, duplicate(node, siblings)); changed(true); } }, icon("dup")),
      h("button", { type: "button", class: "icon-btn remove", title: t("remove"), "aria-label": t("remove"),
        onclick: () => { siblings.splice(index, 1); changed(true); } }, icon("remove")));
    card.append(h("div", { class: "card-head" }, typeSel, name, tools));

    if (node.type === "Residual") {
      for (const sec of ["body", "shortcut", "post"]) {
        if (!Array.isArray(node[sec])) node[sec] = [];
        card.append(h("div", { class: `section sec-${sec}` },
          h("div", { class: "section-label", text: t(sec) + (sec === "shortcut" && !node[sec].length ? " · " + t("identity") : "") }),
          renderStack([...path, sec], node[sec], sec)));
      }
    } else if (node.type === "Concat") {
      const dim = h("input", { type: "text", class: "dim", value: formatArg(node.dim ?? 1), "aria-label": "dim",
        oninput: () => { const v = parseArg(dim.value); if (v === undefined) delete node.dim; else node.dim = v; changed(false); } });
      card.append(h("div", { class: "args" }, h("label", { class: "arg" }, h("span", { class: "arg-name", text: "dim" }), dim)));
      if (!Array.isArray(node.branches)) node.branches = [];
      node.branches.forEach((br, b) => {
        card.append(h("div", { class: "section sec-branch" },
          h("div", { class: "section-label" }, `${t("branch")} ${b}`,
            h("button", { type: "button", class: "link remove-branch", text: t("removeBranch"),
              onclick: () => { node.branches.splice(b, 1); changed(true); } })),
          renderStack([...path, "branches", b], br, "branch")));
      });
      card.append(h("button", { type: "button", class: "link add-branch", text: t("addBranch"),
        onclick: () => { node.branches.push([]); changed(true); } }));
    } else if (node.type === "Sequential") {
      if (!Array.isArray(node.layers)) node.layers = [];
      card.append(h("div", { class: "section sec-layers" }, renderStack([...path, "layers"], node.layers, "seq")));
    } else {
      card.append(renderArgs(node, path));
    }
    card.append(h("div", { class: "card-out" }, h("span", { class: "out-shape" })));
    card.append(h("div", { class: "card-error", hidden: true }));
    return card;
  }

  function renderArgs(node, path) {
    const info = state.catalog.get(node.type);
    const box = h("div", { class: "args" });
    if (!info) return box;
    const key = pathKey(path);
    const expanded = state.expanded.has(key);
    let optionalShown = 0;
    let hiddenCount = 0;
    const known = new Set(info.args.map((a) => a.name));
    for (const a of info.args) {
      const set = Object.prototype.hasOwnProperty.call(node, a.name);
      let show = expanded || set || a.required || a.inferred;
      if (!show && optionalShown < SHOWN_OPTIONAL) { show = true; optionalShown++; }
      if (!show) { hiddenCount++; continue; }
      box.append(argField(node, a, set));
    }
    // Keys the layer does not take stay visible (the core names them as errors).
    for (const k of Object.keys(node)) {
      if (k === "type" || k === "name" || known.has(k)) continue;
      box.append(argField(node, { name: k, required: false, inferred: false, default_text: "" }, true));
    }
    if (hiddenCount || expanded) {
      box.append(h("button", { type: "button", class: "link more-args", text: expanded ? t("fewerArgs") : t("moreArgs", hiddenCount),
        onclick: () => { if (expanded) state.expanded.delete(key); else state.expanded.add(key); renderEditor(); } }));
    }
    return box;
  }

  function argField(node, a, set) {
    const cls = ["arg", a.required && !a.inferred ? "required" : "", a.inferred ? "inferred" : ""].join(" ").trim();
    const placeholder = a.inferred ? t("inferred") : a.required ? t("required") : a.default_text;
    const input = h("input", { type: "text", value: set ? formatArg(node[a.name]) : "", placeholder,
      spellcheck: "false", autocomplete: "off", "aria-label": a.name,
      dataset: { arg: a.name },
      oninput: () => {
        const v = parseArg(input.value);
        if (v === undefined) delete node[a.name]; else node[a.name] = v;
        changed(false);
      } });
    const title = a.inferred ? `${a.name}: ${t("inferredTitle")}` : a.required ? `${a.name}: ${t("required")}` : `${a.name} = ${a.default_text || "…"}`;
    return h("label", { class: cls, title },
      h("span", { class: "arg-name", text: a.name }), input);
  }

  function changeType(path, type) {
    const list = getList(path.slice(0, -1));
    const i = path[path.length - 1];
    const old = list[i];
    let node;
    if (BLOCK_TYPES.includes(type) || BLOCK_TYPES.includes(old.type)) node = newNode(type);
    else {
      // Keep the arguments the new layer also takes (Conv2d -> Conv1d keeps out_channels ...).
      const info = state.catalog.get(type);
      const takes = new Set(info ? info.args.map((a) => a.name) : []);
      node = { type };
      for (const [k, v] of Object.entries(old)) if (takes.has(k)) node[k] = v;
    }
    if (old.name) node.name = old.name;
    list[i] = node;
    changed(true);
    const card = cards.get(pathKey(path));
    if (card) card.querySelector("select.type").focus();
  }

  function move(list, i, d) {
    const j = i + d;
    if (j < 0 || j >= list.length) return;
    [list[i], list[j]] = [list[j], list[i]];
    changed(true);
  }

  function duplicate(node, siblings) {
    const copy = clone(node);
    if (copy.name) {
      const names = new Set(siblings.map((n) => n.name));
      const base = copy.name.replace(/_\d+$/, "");
      let k = 2;
      while (names.has(`${base}_${k}`)) k++;
      copy.name = `${base}_${k}`;
    }
    return copy;
  }

  // structural: the editor is rebuilt; otherwise the fields keep their text as typed.
  function changed(structural) {
    if (structural) renderEditor();
    if (state.preset) { state.preset = ""; $("#preset").value = ""; }
    schedule();
  }

  // ------------------------------------------------------------------ URL state
  // #s=<base64url(deflate-raw(JSON))>: the whole state (spec, layout, language) in the
  // fragment, which never reaches a server. Browsers without CompressionStream use #j=.
  const b64url = (bytes) => {
    let bin = "";
    for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  };
  const unb64url = (s) => {
    const bin = atob(s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4));
    return Uint8Array.from(bin, (c) => c.charCodeAt(0));
  };
  async function pipe(bytes, stream) {
    const out = new Blob([bytes]).stream().pipeThrough(stream);
    return new Uint8Array(await new Response(out).arrayBuffer());
  }

  async function encodeState() {
    const json = JSON.stringify({ v: 1, spec: specForServer(), layout: state.layout, lang: state.lang });
    const raw = new TextEncoder().encode(json);
    if (typeof CompressionStream === "function") return "s=" + b64url(await pipe(raw, new CompressionStream("deflate-raw")));
    return "j=" + b64url(raw);
  }

  async function decodeState(hash) {
    const m = /^#?(s|j)=([A-Za-z0-9_-]+)$/.exec(hash);
    if (!m) return null;
    let raw = unb64url(m[2]);
    if (m[1] === "s") raw = await pipe(raw, new DecompressionStream("deflate-raw"));
    const data = JSON.parse(new TextDecoder().decode(raw));
    if (!data || typeof data !== "object" || !data.spec || typeof data.spec !== "object") return null;
    return data;
  }

  let hashTimer = null;
  function saveHash() {
    clearTimeout(hashTimer);
    hashTimer = setTimeout(async () => {
      const frag = await encodeState();
      history.replaceState(null, "", "#" + frag);
    }, 150);
  }

  async function share() {
    const url = location.origin + location.pathname + "#" + (await encodeState());
    history.replaceState(null, "", url);
    const box = $("#share-url");
    box.value = url;
    box.hidden = false;
    try {
      await navigator.clipboard.writeText(url);
      toast(t("copied"));
    } catch (e) {
      box.select();
      toast(t("linkReady"));
    }
  }

  // ------------------------------------------------------------------ import / export
  function download(text, filename, type) {
    const url = URL.createObjectURL(new Blob([text], { type }));
    const a = h("a", { href: url, download: filename });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
    toast(t("saved", filename));
  }

  const fileStem = () => (state.spec.name || "model").replace(/[^\w.-]+/g, "_");

  async function exportSpec(fmt) {
    try {
      const text = await api("POST", `/api/spec/export?format=${fmt}`, specForServer(), "text");
      download(text, `${fileStem()}.${fmt}`, fmt === "json" ? "application/json" : "application/yaml");
    } catch (e) { toast(e.message, true); }
  }

  async function exportTable(fmt) {
    try {
      const q = new URLSearchParams({ format: fmt, layout: state.layout, lang: state.lang });
      const text = await api("POST", `/api/table?${q}`, specForServer(), "text");
      download(text, `${fileStem()}.${fmt === "markdown" ? "md" : "csv"}`, fmt === "csv" ? "text/csv" : "text/markdown");
    } catch (e) { toast(e.message, true); }
  }

  async function importText(text, filename) {
    const fmt = /\.json$/i.test(filename || "") ? "json" : "yaml";
    const spec = await api("POST", "/api/spec/parse", { text, format: fmt });
    loadSpec(spec, "");
    toast(t("loaded", spec.name || filename || "spec"));
  }

  // ------------------------------------------------------------------ state changes
  function loadSpec(spec, presetId) {
    state.spec = spec;
    if (!Array.isArray(state.spec.layers)) state.spec.layers = [];
    state.expanded.clear();
    state.preset = presetId;
    $("#preset").value = presetId;
    renderEditor();
    schedule();
  }

  function setLayout(layout) {
    state.layout = layout === "hwc" ? "hwc" : "nchw";
    for (const b of document.querySelectorAll("#layout-toggle button")) b.setAttribute("aria-pressed", String(b.dataset.layout === state.layout));
    document.body.dataset.layout = state.layout;
    if (state.report) showReport(state.report, state.display);
    saveHash();
  }

  function setLang(lang) {
    state.lang = lang === "ko" ? "ko" : "en";
    document.documentElement.lang = state.lang;
    for (const b of document.querySelectorAll("#lang-toggle button")) b.setAttribute("aria-pressed", String(b.dataset.lang === state.lang));
    for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
    fillPresets();
    renderEditor();
    if (state.report) showReport(state.report, state.display);
    saveHash();
  }

  let presets = [];
  function fillPresets() {
    const sel = $("#preset");
    sel.replaceChildren(
      h("option", { value: "", text: t("presetCustom") }),
      ...presets.map((p) => h("option", { value: p.id, text: p.title, title: p.description || "" })),
      h("option", { value: "__empty", text: t("presetEmpty") }));
    sel.value = state.preset;
  }

  async function choosePreset(id) {
    if (id === "") return;
    if (id === "__empty") { loadSpec({ name: "model", input: [1, 1, 28, 28], layers: [] }, "__empty"); return; }
    try { loadSpec(await api("GET", `/api/presets/${encodeURIComponent(id)}`), id); } catch (e) { toast(e.message, true); }
  }

  let toastTimer = null;
  function toast(text, bad = false) {
    const el = $("#toast");
    el.textContent = text;
    el.classList.toggle("bad", bad);
    el.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { el.hidden = true; }, bad ? 6000 : 2500);
  }

  // ------------------------------------------------------------------ start
  async function start() {
    const [catalog, presetList] = await Promise.all([api("GET", "/api/layers"), api("GET", "/api/presets")]);
    state.catalogList = catalog;
    state.catalog = new Map(catalog.map((c) => [c.name, c]));
    presets = presetList;

    $("#preset").addEventListener("change", (e) => choosePreset(e.target.value));
    for (const b of document.querySelectorAll("#layout-toggle button")) b.addEventListener("click", () => setLayout(b.dataset.layout));
    for (const b of document.querySelectorAll("#lang-toggle button")) b.addEventListener("click", () => setLang(b.dataset.lang));
    $("#model-name").addEventListener("input", (e) => { const v = e.target.value.trim(); if (v) state.spec.name = v; else delete state.spec.name; changed(false); });
    $("#input-shape").addEventListener("input", (e) => { state.spec.input = parseShape(e.target.value); changed(false); });
    $("#export-yaml").addEventListener("click", () => exportSpec("yaml"));
    $("#export-json").addEventListener("click", () => exportSpec("json"));
    $("#export-md").addEventListener("click", () => exportTable("markdown"));
    $("#export-csv").addEventListener("click", () => exportTable("csv"));
    $("#share").addEventListener("click", share);
    $("#import-file").addEventListener("click", () => $("#file-input").click());
    $("#file-input").addEventListener("change", async (e) => {
      const f = e.target.files[0];
      e.target.value = "";
      if (!f) return;
      try { await importText(await f.text(), f.name); } catch (err) { toast(err.message, true); }
    });
    $("#import-paste").addEventListener("click", () => { $("#paste-error").hidden = true; $("#paste-dialog").showModal(); $("#paste-text").focus(); });
    $("#paste-load").addEventListener("click", async () => {
      try {
        await importText($("#paste-text").value, "");
        $("#paste-dialog").close();
      } catch (err) { const p = $("#paste-error"); p.textContent = err.message; p.hidden = false; }
    });
    window.addEventListener("hashchange", async () => {
      const data = await decodeState(location.hash).catch(() => null);
      if (data) restore(data);
    });

    let restored = null;
    try { restored = await decodeState(location.hash); } catch (e) { toast("share link: " + e.message, true); }
    if (restored) restore(restored);
    else {
      setLang(state.lang);
      setLayout(state.layout);
      await choosePreset(presets.length ? presets[0].id : "__empty");
    }
  }

  function restore(data) {
    state.lang = data.lang === "ko" ? "ko" : "en";
    state.layout = data.layout === "hwc" ? "hwc" : "nchw";
    state.spec = data.spec;
    if (!Array.isArray(state.spec.layers)) state.spec.layers = [];
    state.preset = "";
    setLang(state.lang);  // renders the editor
    setLayout(state.layout);
    schedule();
  }

  document.addEventListener("DOMContentLoaded", () => {
    start().catch((e) => { document.body.dataset.state = "spec-error"; showSpecError(e.message, true); });
  });
})();

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
  // ------------------------------------------------------------------ words (words.js)
  const { UI, BLOCKS } = window.shapetraceWords;
  const BLOCK_TYPES = Object.keys(BLOCKS);
  const N = window.shapetraceNumbers; // exact integers in and out of JSON (num.js)

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
    collapsed: new Set(), // path keys of blocks shown collapsed
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
    open: "M4 6l4 4 4-4",
    right: "M6 4l4 4-4 4",
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
    if (/^[-+]?\d+$/.test(s)) return N.integer(s); // exact beyond 2^53 (a BigInt)
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
    if (inner && parts.every((p) => /^\d+$/.test(p))) return parts.map(N.integer);
    return text;
  }

  const clone = (v) => structuredClone(v); // keeps BigInts
  const { int, compact, bytes } = N;

  // Display text from the server (POST /api/view): shapes in the current layout.
  const shown = (texts) => (texts ? texts[state.layout] : []);

  // The core writes its message with torch's shapes; in the (H, W, C) layout the failing
  // layer's actual and expected shapes in it are swapped for the server's text of the same
  // shapes in that layout (display.error), so the banner quotes what the table shows.
  function inLayout(message) {
    const e = state.display && state.display.error;
    if (!e || state.layout === "nchw") return message;
    let text = message;
    for (const k of ["actual", "expected"]) {
      if (e[k] && e[k].nchw[0] && e[k].nchw[0] !== e[k][state.layout][0]) text = text.split(e[k].nchw[0]).join(e[k][state.layout][0]);
    }
    return text;
  }

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


  const isNode = (n) => n !== null && typeof n === "object" && !Array.isArray(n) && typeof n.type === "string";

  // The spec as sent: empty optional sections dropped (an empty shortcut means identity).
  // Anything that is not a layer (a share link's `layers: [null]`) is sent as it is: the
  // server's message names it.
  function specForServer() {
    const s = clone(state.spec);
    const tidy = (list) => {
      if (!Array.isArray(list)) return;
      for (const n of list) {
        if (!isNode(n)) continue;
        if (n.type === "Residual") {
          tidy(n.body);
          for (const sec of ["shortcut", "post"]) if (Array.isArray(n[sec]) && !n[sec].length) delete n[sec]; else tidy(n[sec]);
        } else if (n.type === "Concat") { if (Array.isArray(n.branches)) n.branches.forEach(tidy); }
        else if (n.type === "Sequential") tidy(n.layers);
      }
    };
    tidy(s.layers);
    return s;
  }

  // ------------------------------------------------------------------ API
  // What went wrong, in three kinds the page says differently: "down" (no answer at all:
  // the server is not running or the network is gone), "http" (the server answered with an
  // error: for a 4xx its one-line detail names what is wrong with the spec), anything else
  // (a defect of this page, shown as such, never as "the server does not answer").
  function problem(kind, message, status = 0) {
    const e = new Error(message);
    e.kind = kind;
    e.status = status;
    return e;
  }

  async function api(method, url, body, as = "json", signal = undefined) {
    const opts = { method, headers: {}, signal };
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = N.stringify(body);
    }
    let res, text;
    try {
      res = await fetch(url, opts);
      text = await res.text();
    } catch (e) {
      if (e.name === "AbortError") throw e;
      throw problem("down", t("serverDown"));
    }
    if (!res.ok) {
      let detail = `${res.status} ${res.statusText}`.trim();
      try { const d = N.parse(text).detail; if (typeof d === "string" && d) detail = d; } catch (e) { /* not JSON */ }
      throw problem("http", detail, res.status);
    }
    if (as === "text") return text;
    try { return N.parse(text); } catch (e) { throw problem("http", `${res.status}: ${t("notJson")}`, res.status); }
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
    try {
      const data = await api("POST", "/api/view", specForServer(), "json", ctl.signal);
      if (my !== seq) return;
      showReport(data.flow, data.display);
    } catch (e) {
      if (e.name === "AbortError" || my !== seq) return;
      showFailure(e);
    } finally {
      if (inflight === ctl) inflight = null;
    }
    saveHash();
  }

  function showFailure(e) {
    if (e.kind === "down") showProblem(t("serverDown"), t("serverDownHint"), "server-down");
    else if (e.kind === "http" && [400, 413, 422].includes(e.status)) showSpecError(e.message);
    else if (e.kind === "http" && [429, 503].includes(e.status)) showProblem(t("serverBusy"), e.message, "server-busy");
    else if (e.kind === "http") showProblem(t("serverFailed", e.status), e.message, "server-error");
    else showProblem(t("pageError"), `${e.name}: ${e.message}`, "page-error");
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
      const g = groups.find((x) => x.worked === f.worked && String(x.value) === String(f.value));
      if (g) { g.axes.push(f.axis); g.formulas.push(`${f.axis}_out = ${f.formula}`); }
      else groups.push({ axes: [f.axis], worked: f.worked, value: f.value, formulas: [`${f.axis}_out = ${f.formula}`] });
    }
    return groups;
  }

  // "H_out, W_out = floor((28 + 2*1 - 3)/1) + 1 = 28"; a formula that is its value already
  // is written once ("features_out = 512", not "= 512 = 512").
  const sameAsValue = (g) => g.worked.trim() === String(g.value);
  const groupText = (g) => `${g.axes.map((a) => a + "_out").join(", ")} = ${g.worked}${sameAsValue(g) ? "" : " = " + g.value}`;

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
      const key = rowKey(r.name, r.kind);
      rows.push(h("tr", { class: cls, dataset: { qual: r.name, kind: r.kind, path: key } },
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
        rows.push(h("tr", { class: "detail", dataset: { qual: r.name, path: key } },
          h("td", { class: "c-idx" }),
          h("td", { class: "c-formula", colspan: "6" },
            h("span", { class: "indent", style: { "--depth": String(r.depth) } }),
            h("span", { class: "formulas" },
              groups.map((g) => h("span", { class: "f" },
                h("span", { class: "f-axis", text: g.axes.map((a) => a + "_out").join(", ") + " = " }),
                h("span", { class: "f-worked", text: g.worked }),
                sameAsValue(g) ? null : h("span", { class: "f-value", text: " = " + g.value }),
                // the symbolic formula, shown (a tooltip is invisible on touch screens)
                h("span", { class: "f-symbolic", text: g.formulas.join("   ") }))),
              display.rows[i].notes[state.lang].map((text) => h("span", { class: "note", text }))))));
      }
    });
    const err = report.error;
    if (err) {
      rows.push(h("tr", { class: "row error-row", dataset: { qual: err.row, kind: err.kind, path: rowKey(err.row, err.kind) } },
        h("td", { class: "c-idx", text: "✗" }),
        h("td", { class: "c-layer" }, h("span", { class: "r-name", text: err.row }), " ", h("span", { class: "r-kind", text: err.kind })),
        h("td", { class: "c-shape in", text: display.error.actual ? shown(display.error.actual)[0] : "" }),
        h("td", { class: "c-error", colspan: "4" },
          h("div", { class: "err-msg", text: inLayout(err.message) }),
          err.arithmetic.map((a) => h("div", { class: "err-arith", text: a })),
          err.fixes.map(fixLine))));
    }
    body.replaceChildren(...rows);
    showGraph(report, display);
    showConv(state.selectedKey);
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
        h("div", { class: "status-msg", text: inLayout(err.message) }),
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

  // A banner in place of the flow: what went wrong (head) and the detail, one line each.
  function showProblem(head, message, stateName) {
    $("#results").classList.add("stale");
    const box = $("#status");
    box.className = "status bad";
    box.dataset.problem = stateName;
    fill(box,
      h("div", { class: "status-head" }, h("span", { class: "icon", text: "✗" }), h("span", { class: "problem-head", text: head })),
      message ? h("div", { class: "status-msg", text: message }) : null);
    clearCardMarks();
    setRendered(stateName);
  }

  // The server refused the spec: its message names the item ("spec: layers[3].body[0]: ..."),
  // whose card is marked (its block opened if it was collapsed).
  function showSpecError(message) {
    showProblem(t("specError"), message, "spec-error");
    const m = /layers\[\d+\](?:\.(?:body|shortcut|post|layers)\[\d+\]|\.branches\[\d+\](?:\[\d+\])?)*/.exec(message || "");
    if (!m) return;
    const path = [];
    for (const part of m[0].matchAll(/(\w+)\[(\d+)\](?:\[(\d+)\])?/g)) {
      path.push(part[1], Number(part[2]));
      if (part[3] !== undefined) path.push(Number(part[3]));
    }
    if (openTo(pathKey(path))) renderEditor();
    const card = cards.get(pathKey(path));
    if (card) {
      card.classList.add("error");
      const slot = card.querySelector(":scope > .card-error");
      if (slot) { slot.hidden = false; slot.textContent = message; }
    }
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
      const formula = card.querySelector(":scope > .card-out .out-formula");
      if (formula) formula.textContent = "";
      // An empty field shows what the last good flow used; after an error (or before any
      // answer) it shows the catalog's default again, never a stale value.
      for (const input of card.querySelectorAll(":scope > .args .arg input")) input.placeholder = input.dataset.hint || "";
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
        // the worked formula on the card itself, not only in a tooltip (touch screens)
        const formula = card.querySelector(":scope > .card-out .out-formula");
        if (formula) formula.textContent = formulaLines(row).map(groupText).join("   ");
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
          slot.replaceChildren(h("div", { class: "err-msg", text: inLayout(err.message) }),
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
    const key = rowKey(name, kind);
    if (key !== undefined && openTo(key)) renderEditor();
    const card = cards.get(key);
    if (!card) return;
    scrollEditorTo(card);
    const f = card.querySelector(".arg.bad input") || card.querySelector("select.type");
    if (f) f.focus({ preventScroll: true });
  }

  // ------------------------------------------------------------------ editor
  // One <select> per card and add bar, but its hundred-odd options are made only when it is
  // used (focus or a press): ResNet-18's editor held 10,374 <option> elements, rebuilt on
  // every render. The options are cloned from one template per language.
  let typeTemplate = null;
  function typeOptions() {
    if (!typeTemplate || typeTemplate.lang !== state.lang) {
      const frag = document.createDocumentFragment();
      const fams = new Map();
      for (const info of state.catalogList) {
        if (info.inputs !== 1) continue; // a spec is a chain: two-input layers cannot sit in it
        if (!fams.has(info.family)) fams.set(info.family, []);
        fams.get(info.family).push(info.name);
      }
      for (const [fam, names] of fams) frag.append(h("optgroup", { label: fam }, names.map((n) => h("option", { value: n, text: n }))));
      frag.append(h("optgroup", { label: t("blocks") }, BLOCK_TYPES.map((n) => h("option", { value: n, text: n }))));
      typeTemplate = { lang: state.lang, frag, names: new Set([...state.catalogList.map((c) => c.name), ...BLOCK_TYPES]) };
    }
    return typeTemplate;
  }

  function typeSelect(current, onchange) {
    const sel = h("select", { class: "type", onchange, "aria-label": "layer type" }, h("option", { value: current, text: current }));
    const full = () => {
      if (sel.dataset.full) return;
      sel.dataset.full = "1";
      const tpl = typeOptions();
      const value = sel.value;
      sel.replaceChildren(tpl.frag.cloneNode(true));
      if (!tpl.names.has(value)) sel.append(h("option", { value, text: value }));
      sel.value = value;
    };
    sel.addEventListener("focus", full);
    sel.addEventListener("pointerdown", full);
    return sel;
  }

  // ------------------------------------------------------------------ collapsed blocks
  // Blocks are collapsed by path key; a big spec (ResNet-18: 12,670 px of cards) opens with
  // its blocks collapsed. Collapsed blocks render no cards inside (faster, too).
  const COLLAPSE_OVER = 40; // layers in the spec above which blocks start collapsed

  function countNodes(list) {
    let n = 0;
    for (const node of Array.isArray(list) ? list : []) {
      n++;
      if (!isNode(node) || !BLOCKS[node.type]) continue;
      for (const sec of BLOCKS[node.type].sections) {
        const v = node[sec];
        if (BLOCKS[node.type].nested) for (const br of Array.isArray(v) ? v : []) n += countNodes(br);
        else n += countNodes(v);
      }
    }
    return n;
  }

  function setAllCollapsed(collapse) {
    state.collapsed.clear();
    if (!collapse) return;
    const walk = (list, path) => (Array.isArray(list) ? list : []).forEach((node, i) => {
      if (isNode(node) && BLOCKS[node.type]) state.collapsed.add(pathKey([...path, i]));
    });
    walk(state.spec.layers, ["layers"]);
  }

  // Open every collapsed block that holds the node at `key`; true when one was opened.
  function openTo(key) {
    let opened = false;
    for (const k of [...state.collapsed]) if (key.startsWith(k + "/")) { state.collapsed.delete(k); opened = true; }
    return opened;
  }

  // ------------------------------------------------------------------ the pictures
  // The model's graph is the server's SVG (shapetrace.render.svg, in each layout and
  // language); it is parsed as SVG, never as HTML. A click on a node selects its row and card.
  function showGraph(report, display) {
    const holder = $("#graph");
    const text = display.graph && display.graph[`${state.layout}.${state.lang}`];
    if (!text) {
      holder.replaceChildren(display.graph && report.rows.length ? h("p", { class: "hint", text: t("graphTooBig") }) : "");
      return;
    }
    // its <style> is in convpic.css: the CSP refuses inline styles, even in a parsed document
    const doc = new DOMParser().parseFromString(text.replace(/<style>[\s\S]*?<\/style>/, ""), "image/svg+xml");
    const svg = doc.documentElement;
    if (svg.nodeName !== "svg") { holder.replaceChildren(); return; }
    holder.replaceChildren(document.importNode(svg, true));
    for (const g of holder.querySelectorAll("g.n[data-row]")) {
      const r = report.rows[Number(g.dataset.row)];
      if (!r) continue;
      g.dataset.path = rowKey(r.name, r.kind);
      g.style.cursor = "pointer";
      g.addEventListener("click", () => selectLinked(g.dataset.path, "row"));
    }
  }

  // The convolution drawn: the selected row if it is a conv / transposed conv / pool, else
  // the flow's first such row.
  // The key of the row the conv picture would show for a selection (undefined: none of its own).
  function convKey(key) {
    const r = state.report && state.report.rows.find((row) => rowKey(row.name, row.kind) === key);
    return r && window.ShapetraceConv && window.ShapetraceConv.supports(r.kind) ? key : state.convKey;
  }

  function showConv(key) {
    const holder = $("#conv");
    const report = state.report;
    if (!report || !window.ShapetraceConv) { holder.replaceChildren(); return; }
    const C = window.ShapetraceConv;
    const rows = report.rows.filter((r) => r.output_shapes.length && C.supports(r.kind));
    const row = rows.find((r) => rowKey(r.name, r.kind) === key) || rows[0];
    if (!row) { state.convKey = undefined; holder.replaceChildren(h("p", { class: "hint", text: t("convNone") })); return; }
    state.convKey = rowKey(row.name, row.kind);
    const pic = h("div");
    holder.replaceChildren(h("h3", { class: "conv-title", text: t("convTitle", row.name) }),
      h("p", { class: "hint", text: t("convHint") }), pic);
    C.draw(pic, row, { lang: state.lang, words: t("conv"), modelInput: report.input_shapes[0] });
  }

  // ------------------------------------------------------------------ rows <-> cards
  // A click on a table row selects its card (opening its block, scrolling the editor to it);
  // a click on a card selects its rows and scrolls the table to them.
  function selectLinked(key, from) {
    for (const el of document.querySelectorAll(".linked")) el.classList.remove("linked");
    if (key === undefined) return;
    if (from === "row" && openTo(key)) renderEditor();
    const card = cards.get(key);
    if (card) card.classList.add("linked");
    const trs = [...document.querySelectorAll("#flow-body > tr")].filter((tr) => tr.dataset.path === key);
    for (const tr of trs) tr.classList.add("linked");
    for (const g of document.querySelectorAll("#graph g.n")) g.classList.toggle("linked", g.dataset.path === key);
    if (convKey(key) !== state.convKey) { state.selectedKey = key; showConv(key); }
    if (from === "row" && card) scrollEditorTo(card);
    if (from === "card" && trs.length) trs[0].scrollIntoView({ block: "nearest", behavior: "smooth" });
  }

  function renderEditor() {
    cards = new Map();
    $("#model-name").value = typeof state.spec.name === "string" ? state.spec.name : "";
    $("#input-shape").value = Array.isArray(state.spec.input) ? state.spec.input.join(", ") : String(state.spec.input ?? "");
    $("#stack-root").replaceChildren(renderStack(["layers"], state.spec.layers, "top"));
    $("#collapse-all").textContent = state.collapsed.size ? t("expandAll") : t("collapseAll");
    if (state.report) markCards(state.report);
  }

  function renderStack(listPath, list, kind) {
    const key = pathKey(listPath);
    if (!Array.isArray(list)) return badItem(listPath, list, t("notAList"), null);
    const ol = h("ol", { class: `stack ${kind}`, dataset: { path: key } });
    if (!list.length && kind === "top") ol.append(h("li", { class: "empty", text: t("emptyStack") }));
    list.forEach((node, i) => ol.append(isNode(node) ? renderNode(node, [...listPath, i], list) : badItem([...listPath, i], node, t("notALayer"), list)));
    ol.append(addBar(listPath));
    return ol;
  }

  // What a share link or a file held in place of a layer (null, 5) or of a list of layers:
  // shown as it is, with a remove button; the server's message says what is wrong.
  function badItem(path, value, what, siblings) {
    let text;
    try { text = N.stringify(value) ?? String(value); } catch (e) { text = String(value); }
    const item = h("li", { class: "card bad-node", dataset: { path: pathKey(path) } },
      h("div", { class: "card-head" }, h("span", { class: "bad-what", text: `${what}: ` }), h("code", { text: text.slice(0, 80) }),
        siblings ? h("span", { class: "tools" }, h("button", { type: "button", class: "icon-btn remove", title: t("remove"), "aria-label": t("remove"),
          onclick: () => { siblings.splice(path[path.length - 1], 1); changed(true); } }, icon("remove"))) : null),
      h("div", { class: "hint", text: t("badNodeHint") }),
      h("div", { class: "card-error", hidden: true }));
    cards.set(pathKey(path), item);
    return item;
  }

  function addBar(listPath) {
    const key = pathKey(listPath);
    const sel = typeSelect(state.addType.get(key) || state.lastAddType, () => {
      state.addType.set(key, sel.value); state.lastAddType = sel.value;
    });
    sel.classList.add("add-type");
    const btn = h("button", { type: "button", class: "add", text: "+ " + t("addLayer"),
      onclick: () => { addNode(listPath, sel.value); } });
    return h("li", { class: "add-bar" }, sel, btn);
  }

  const newNode = (type) => (BLOCKS[type] ? BLOCKS[type].make() : { type });

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
    const key = pathKey(path);
    const collapsed = isBlock && state.collapsed.has(key);
    const card = h("li", { class: `card ${isBlock ? "block " + node.type.toLowerCase() : "layer"}${collapsed ? " collapsed" : ""}`, dataset: { path: key, type: node.type } });
    cards.set(key, card);

    const typeSel = typeSelect(node.type, () => changeType(path, typeSel.value));
    const name = h("input", { type: "text", class: "name", value: typeof node.name === "string" ? node.name : "", placeholder: t("name"),
      spellcheck: "false", autocomplete: "off", "aria-label": "layer name",
      oninput: () => { const v = name.value.trim(); if (v) node.name = v; else delete node.name; changed(false); } });
    const toggle = isBlock ? h("button", { type: "button", class: "icon-btn toggle", "aria-expanded": String(!collapsed),
      title: collapsed ? t("expand") : t("collapse"), "aria-label": collapsed ? t("expand") : t("collapse"),
      onclick: () => { if (collapsed) state.collapsed.delete(key); else state.collapsed.add(key); renderEditor(); } }, icon(collapsed ? "right" : "open")) : null;
    const tools = h("span", { class: "tools" },
      h("button", { type: "button", class: "icon-btn up", title: t("moveUp"), "aria-label": t("moveUp"), disabled: index === 0,
        onclick: () => { move(siblings, index, -1); } }, icon("up")),
      h("button", { type: "button", class: "icon-btn down", title: t("moveDown"), "aria-label": t("moveDown"), disabled: index === siblings.length - 1,
        onclick: () => { move(siblings, index, 1); } }, icon("down")),
      h("button", { type: "button", class: "icon-btn dup", title: t("duplicate"), "aria-label": t("duplicate"),
        onclick: () => { siblings.splice(index + 1, 0, duplicate(node, siblings)); changed(true); } }, icon("dup")),
      h("button", { type: "button", class: "icon-btn remove", title: t("remove"), "aria-label": t("remove"),
        onclick: () => { siblings.splice(index, 1); changed(true); } }, icon("remove")));
    card.append(h("div", { class: "card-head" }, toggle, typeSel, name, tools));

    if (collapsed) {
      card.append(h("div", { class: "collapsed-note", text: t("inside", countNodes([node]) - 1) }));
    } else if (node.type === "Residual") {
      for (const sec of BLOCKS.Residual.sections) {
        if (node[sec] === undefined) node[sec] = [];
        const empty = Array.isArray(node[sec]) && !node[sec].length;
        card.append(h("div", { class: `section sec-${sec}` },
          h("div", { class: "section-label", text: t(sec) + (sec === "shortcut" && empty ? " · " + t("identity") : "") }),
          renderStack([...path, sec], node[sec], sec)));
      }
    } else if (node.type === "Concat") {
      const dim = h("input", { type: "text", class: "dim", value: formatArg(node.dim ?? 1), "aria-label": "dim",
        oninput: () => { const v = parseArg(dim.value); if (v === undefined) delete node.dim; else node.dim = v; changed(false); } });
      card.append(h("div", { class: "args" }, h("label", { class: "arg" }, h("span", { class: "arg-name", text: "dim" }), dim)));
      if (node.branches === undefined) node.branches = [];
      if (!Array.isArray(node.branches)) card.append(badItem([...path, "branches"], node.branches, t("notAList"), null));
      else node.branches.forEach((br, b) => {
        card.append(h("div", { class: "section sec-branch" },
          h("div", { class: "section-label" }, `${t("branch")} ${b}`,
            h("button", { type: "button", class: "link remove-branch", text: t("removeBranch"),
              onclick: () => { node.branches.splice(b, 1); changed(true); } })),
          renderStack([...path, "branches", b], br, "branch")));
      });
      if (Array.isArray(node.branches)) card.append(h("button", { type: "button", class: "link add-branch", text: t("addBranch"),
        onclick: () => { node.branches.push([]); changed(true); } }));
    } else if (node.type === "Sequential") {
      if (node.layers === undefined) node.layers = [];
      card.append(h("div", { class: "section sec-layers" }, renderStack([...path, "layers"], node.layers, "seq")));
    } else {
      card.append(renderArgs(node, path));
    }
    card.append(h("div", { class: "card-out" }, h("span", { class: "out-shape" }), h("span", { class: "out-formula" })));
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
      dataset: { arg: a.name, hint: placeholder },
      oninput: () => {
        const v = parseArg(input.value);
        if (v === undefined) delete node[a.name]; else node[a.name] = v;
        changed(false);
      } });
    // the field as wide as its text (a long value was clipped at 64 px)
    const fit = () => { input.size = Math.max(4, Math.min(40, input.value.length + 1)); };
    fit();
    input.addEventListener("input", fit);
    const title = a.inferred ? `${a.name}: ${t("inferredTitle")}` : a.required ? `${a.name}: ${t("required")}` : `${a.name} = ${a.default_text || "…"}`;
    return h("label", { class: cls, title },
      h("span", { class: "arg-name", text: a.name }), input, slider(node, a, input));
  }

  // A slider for the window arguments of a conv / transposed conv / pool (as in
  // convnet-calculator): dragging sets the field, the flow is recomputed and the picture of
  // this layer follows.
  const SLIDERS = { kernel_size: [1, 15], stride: [1, 8], padding: [0, 8], dilation: [1, 6], output_padding: [0, 4] };
  function slider(node, a, input) {
    const range = SLIDERS[a.name];
    if (!range || !window.ShapetraceConv || !window.ShapetraceConv.supports(node.type)) return null;
    const v = node[a.name];
    if (v !== undefined && !(typeof v === "number" && Number.isInteger(v))) return null; // a tuple or "same": the text field
    const fallback = Number.parseInt(a.default_text, 10);
    const r = h("input", { type: "range", class: "arg-slider", min: String(range[0]), max: String(range[1]), step: "1",
      value: String(v ?? (Number.isFinite(fallback) ? fallback : range[0])), "aria-label": `${a.name} slider`,
      oninput: () => {
        input.value = r.value;
        const card = r.closest(".card");
        if (card && card.dataset.path) state.selectedKey = card.dataset.path;
        input.dispatchEvent(new Event("input"));
      } });
    return r;
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
    const json = N.stringify({ v: 1, spec: specForServer(), layout: state.layout, lang: state.lang });
    const raw = new TextEncoder().encode(json);
    if (typeof CompressionStream === "function") return "s=" + b64url(await pipe(raw, new CompressionStream("deflate-raw")));
    return "j=" + b64url(raw);
  }

  // The state in a share link, or null when the fragment is not one; a damaged link throws
  // an error that says what is wrong with it (the browser's own words were "Failed to
  // fetch", from the decompression stream).
  async function decodeState(hash) {
    if (!/^#?[sj]=/.test(hash || "")) return null;
    const bad = (why) => Object.assign(new Error(t("badLink", why)), { kind: "link" });
    const m = /^#?(s|j)=([A-Za-z0-9_-]+)$/.exec(hash);
    if (!m) throw bad(t("linkNotLink"));
    let raw;
    try {
      raw = unb64url(m[2]);
      if (m[1] === "s") raw = await pipe(raw, new DecompressionStream("deflate-raw"));
    } catch (e) { throw bad(t("linkNoInflate")); }
    let data;
    try { data = N.parse(new TextDecoder("utf-8", { fatal: true }).decode(raw)); } catch (e) { throw bad(t("linkNotJson")); }
    if (!data || typeof data !== "object" || !data.spec || typeof data.spec !== "object" || Array.isArray(data.spec)) throw bad(t("linkNoSpec"));
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
    if (state.spec.layers === undefined) state.spec.layers = [];
    state.expanded.clear();
    setAllCollapsed(countNodes(state.spec.layers) > COLLAPSE_OVER);
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
      ...presets.map((p) => h("option", { value: p.id, text: (p.titles && p.titles[state.lang]) || p.title, title: p.description || "" })),
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
    $("#collapse-all").addEventListener("click", () => { setAllCollapsed(state.collapsed.size === 0); renderEditor(); });
    // rows <-> cards: one listener each (delegated), not one per row
    $("#flow-body").addEventListener("click", (e) => {
      const tr = e.target.closest("tr");
      if (tr && tr.dataset.path) selectLinked(tr.dataset.path, "row");
    });
    $("#stack-root").addEventListener("click", (e) => {
      if (e.target.closest("input, select, button, textarea, a")) return;
      const card = e.target.closest("li.card");
      if (card) selectLinked(card.dataset.path, "card");
    });
    window.addEventListener("hashchange", async () => {
      try {
        const data = await decodeState(location.hash);
        if (data) restore(data);
      } catch (e) { toast(e.message, true); }
    });

    let restored = null;
    try { restored = await decodeState(location.hash); } catch (e) { toast(e.message, true); }
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
    if (state.spec.layers === undefined) state.spec.layers = [];
    state.preset = "";
    setAllCollapsed(countNodes(state.spec.layers) > COLLAPSE_OVER);
    setLang(state.lang);  // renders the editor
    setLayout(state.layout);
    schedule();
  }

  document.addEventListener("DOMContentLoaded", () => {
    start().catch(showFailure);
  });
})();

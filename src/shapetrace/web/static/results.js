// The server's answer laid out: the flow table, the status banner, the totals, the marks on
// the cards (output shape, formula, the failing argument), the graph and the conv picture,
// and the link between a table row, its card and its graph node.
import { $, h, fill } from "./dom.js";
import { BLOCK_TYPES, state, t, int, compact, bytes, shown, inLayout, formatArg, pathKey, openTo } from "./state.js";
import { renderEditor } from "./editor.js";

// "Fix: <code>" under an error, in the table and on the failing card
const fixLine = (f) => h("div", { class: "err-fix" }, h("b", { text: t("fix") + ": " }), h("code", { text: f }));

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
  const card = state.cards.get(pathKey(path));
  if (card) {
    card.classList.add("error");
    const slot = card.querySelector(":scope > .card-error");
    if (slot) { slot.hidden = false; slot.textContent = message; }
  }
}

let cards = new Map(); // pathKey -> card element

function clearCardMarks() {
  for (const card of state.cards.values()) {
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
    const card = key !== undefined && state.cards.get(key);
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
  for (const [key, card] of state.cards) {
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
  const card = state.cards.get(key);
  if (!card) return;
  scrollEditorTo(card);
  const f = card.querySelector(".arg.bad input") || card.querySelector("select.type");
  if (f) f.focus({ preventScroll: true });
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
  const card = state.cards.get(key);
  if (card) card.classList.add("linked");
  const trs = [...document.querySelectorAll("#flow-body > tr")].filter((tr) => tr.dataset.path === key);
  for (const tr of trs) tr.classList.add("linked");
  for (const g of document.querySelectorAll("#graph g.n")) g.classList.toggle("linked", g.dataset.path === key);
  if (convKey(key) !== state.convKey) { state.selectedKey = key; showConv(key); }
  if (from === "row" && card) scrollEditorTo(card);
  if (from === "card" && trs.length) trs[0].scrollIntoView({ block: "nearest", behavior: "smooth" });
}

export {
  showReport, showProblem, showSpecError, clearCardMarks, markCards, rowKey, focusCard,
  selectLinked,
};

// shapetrace layer calculator: the page is a client of the server's JSON API.
//
// One source of truth: no shape, parameter count, MAC count, receptive field or formula
// is computed here, and no shape or note is formatted here. Every edit posts the spec (the
// same JSON as the CLI's spec files) to POST /api/view, which answers with exactly what
// POST /api/flow returns plus that flow's shapes and notes as text (shapetrace.render and
// the core's messages, in both layouts and both languages). The page only edits the spec,
// lays out the answer, and moves state in and out of the URL.
//
// Text from the spec or the server is always set with textContent, never parsed as HTML.
//
// The page is ES modules, one job each: state.js (the state, the words, the spec tree),
// api.js (fetch), dom.js, editor.js (the cards), results.js (the table, the banner, the
// pictures), share.js (URL state and files); this one computes, switches presets, layout
// and language, and starts the page.
import { $, h, toast } from "./dom.js";
import { state, t, specForServer, parseShape, countNodes, setAllCollapsed, COLLAPSE_OVER } from "./state.js";
import { api } from "./api.js";
import { showReport, showProblem, showSpecError, selectLinked } from "./results.js";
import { renderEditor } from "./editor.js";
import { decodeState, saveHash, share, exportSpec, exportTable, importText } from "./share.js";

// ------------------------------------------------------------------ computing
let seq = 0;
let timer = null;
let inflight = null;

// Every edit bumps `seq` at once, so an answer to an older spec (still in flight, or
// arriving during the debounce) is dropped, and "computing" covers the debounce too: the
// table on screen is final exactly when the state is no longer "computing".
// `now`: a whole new spec (a preset, a file, a link), not typing: the request goes out at
// once, before the browser lays out the new editor (a timer would wait for that layout:
// 20 to 120 ms measured on a busy machine).
function schedule(now = false) {
  seq++;
  document.body.dataset.state = "computing";
  clearTimeout(timer);
  if (now) compute();
  else timer = setTimeout(compute, 15);
}

async function compute() {
  const my = seq;
  if (inflight) inflight.abort();
  const ctl = new AbortController();
  inflight = ctl;
  document.body.dataset.state = "computing";
  try {
    const url = state.symbolic ? "/api/view?symbolic=true" : "/api/view";
    const data = await api("POST", url, specForServer(), "json", ctl.signal);
    if (my !== seq) return;
    showReport(data.flow, data.display);
    window.dispatchEvent(new CustomEvent("shapetrace:view", { detail: data })); // symbolic.js
  } catch (e) {
    if (e.name === "AbortError" || my !== seq) return;
    showFailure(e);
  } finally {
    if (inflight === ctl) inflight = null;
  }
  saveHash();
}

// The formulas cost the server time on every edit: asked for only while the toggle is on,
// and at once when it is switched on (the answer on screen has none).
window.addEventListener("shapetrace:symbolic", (e) => {
  state.symbolic = Boolean(e.detail && e.detail.on);
  if (state.symbolic) schedule(true);
});

function showFailure(e) {
  if (e.kind === "down") showProblem(t("serverDown"), t("serverDownHint"), "server-down");
  else if (e.kind === "http" && [400, 413, 422].includes(e.status)) showSpecError(e.message);
  else if (e.kind === "http" && [429, 503].includes(e.status)) showProblem(t("serverBusy"), e.message, "server-busy");
  else if (e.kind === "http") showProblem(t("serverFailed", e.status), e.message, "server-error");
  else showProblem(t("pageError"), `${e.name}: ${e.message}`, "page-error");
}

function changed(structural) {
  if (structural) renderEditor();
  if (state.preset) { state.preset = ""; $("#preset").value = ""; }
  schedule();
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
  schedule(true);
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
  try { loadSpec(structuredClone(await presetSpec(id)), id); } catch (e) { toast(e.message, true); }
}

// The presets' specs, each fetched once (they are files of the installed package): a preset
// chosen again, or after the page has fetched them all in idle time, costs no round trip.
const presetSpecs = new Map();
function presetSpec(id) {
  if (!presetSpecs.has(id)) {
    const p = api("GET", `/api/presets/${encodeURIComponent(id)}`);
    presetSpecs.set(id, p);
    p.catch(() => presetSpecs.delete(id));
  }
  return presetSpecs.get(id);
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
  // The other presets' specs, once the first table is up.
  const idle = window.requestIdleCallback || ((f) => setTimeout(f, 500));
  idle(() => { for (const p of presets) presetSpec(p.id).catch(() => {}); });
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
  schedule(true);
}

document.addEventListener("DOMContentLoaded", () => {
  start().catch(showFailure);
});

export { changed, loadSpec, schedule };

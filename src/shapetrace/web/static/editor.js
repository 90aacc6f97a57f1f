// The editor: a card per layer and block of the spec, edited in place (type, name, torch
// arguments, sliders for a conv's window), moved, duplicated, removed; add bars; blocks
// collapsed. Each edit changes state.spec and calls changed() (app.js).
import { $, h, icon } from "./dom.js";
import {
  BLOCKS, BLOCK_TYPES, N, SHOWN_OPTIONAL, state, t, parseArg, formatArg, pathKey, getList,
  ensureList, isNode, countNodes, clone,
} from "./state.js";
import { markCards } from "./results.js";
import { changed } from "./app.js";

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

function renderEditor() {
  state.cards = new Map();
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
  state.cards.set(pathKey(path), item);
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
  const card = state.cards.get(pathKey([...listPath, list.length - 1]));
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
  state.cards.set(key, card);

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
    card.append(blockInts(node));
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

// A block's int fields (Concat's dim), showing the value the server takes when one is left
// out (its default, from /blocks.js).
function blockInts(node) {
  const box = h("div", { class: "args" });
  for (const [key, value] of Object.entries(BLOCKS[node.type].defaults)) {
    const field = h("input", { type: "text", class: key, value: formatArg(node[key] ?? value), "aria-label": key,
      oninput: () => { const v = parseArg(field.value); if (v === undefined) delete node[key]; else node[key] = v; changed(false); } });
    box.append(h("label", { class: "arg" }, h("span", { class: "arg-name", text: key }), field));
  }
  return box;
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
  const card = state.cards.get(pathKey(path));
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


export { renderEditor, newNode };

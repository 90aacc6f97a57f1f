// DOM helpers of the calculator's page: elements built from props (text always set with
// textContent, never parsed as HTML), line icons, the toast.
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

let toastTimer = null;
function toast(text, bad = false) {
  const el = $("#toast");
  el.textContent = text;
  el.classList.toggle("bad", bad);
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.hidden = true; }, bad ? 6000 : 2500);
}

export { $, h, fill, icon, toast };

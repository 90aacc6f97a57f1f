// The page's state: the spec being edited (the same JSON as the CLI's spec files), the
// layout and language, the server's last answer; the words; reading fields the way the
// CLI reads key=value; addressing nodes of the spec tree; collapsed blocks.
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
  symbolic: false, // the formula toggle is on (symbolic.js): /api/view adds the formulas
  expanded: new Set(),
  collapsed: new Set(), // path keys of blocks shown collapsed
  addType: new Map(), // stack key -> last type picked there
  lastAddType: "Conv2d",
};

const t = (key, ...args) => {
  const v = (UI[state.lang] || UI.en)[key] ?? UI.en[key] ?? key;
  return typeof v === "function" ? v(...args) : v;
};
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

// The spec as sent: the empty sections a block sends only when not empty dropped (an
// empty shortcut means identity), as the server's Spec.to_dict writes them (BLOCKS, from
// /blocks.js). Anything that is not a layer (a share link's `layers: [null]`) is sent as
// it is: the server's message names it.
function specForServer() {
  const s = clone(state.spec);
  const tidy = (list) => {
    if (!Array.isArray(list)) return;
    for (const n of list) {
      const block = isNode(n) && BLOCKS[n.type];
      if (!block) continue;
      for (const sec of block.sections) {
        const v = n[sec];
        if (block.dropEmpty.includes(sec) && Array.isArray(v) && !v.length) delete n[sec];
        else if (block.nested) { if (Array.isArray(v)) v.forEach(tidy); }
        else tidy(v);
      }
    }
  };
  tidy(s.layers);
  return s;
}

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

export {
  state, t, UI, BLOCKS, BLOCK_TYPES, N, SHOWN_OPTIONAL, COLLAPSE_OVER,
  parseArg, formatArg, parseShape, clone, int, compact, bytes, shown, inLayout,
  pathKey, getList, ensureList, isNode, specForServer, countNodes, setAllCollapsed, openTo,
};

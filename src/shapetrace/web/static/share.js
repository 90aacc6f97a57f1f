// The state in and out of the URL (a share link), and files: a spec opened or pasted
// (parsed by the server), saved as YAML or JSON, the table exported as Markdown or CSV.
import { h, toast, $ } from "./dom.js";
import { N, state, t, specForServer } from "./state.js";
import { api } from "./api.js";
import { loadSpec } from "./app.js";

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

export { decodeState, saveHash, share, exportSpec, exportTable, importText };

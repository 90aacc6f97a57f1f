// The page's one way to the server: fetch with JSON in and out (exact integers, num.js),
// and errors sorted into the kinds the page says differently.
import { N, t } from "./state.js";

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

export { api, problem };

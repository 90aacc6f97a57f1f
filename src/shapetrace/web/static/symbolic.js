// The formula toggle (issue 16): with it on, each row's Output cell also shows the output
// shape as a formula of the varying input sizes, e.g. (1, 128, ⌊H/8⌋, ⌊W/8⌋), as
// `shapetrace summary --symbolic` does. The formulas come with POST /api/view?symbolic=true
// (display.rows[i].sym, per layout), which app.js asks for only while the toggle is on: it
// says so in a "shapetrace:symbolic" event, and hands each answer over in a
// "shapetrace:view" event. The table is redrawn by results.js (a new answer, a layout or
// language change), so the formulas are put back whenever #flow-body changes.
(() => {
  let display = null;
  let on = false;
  let busy = false;

  const lang = () => (document.documentElement.lang === "ko" ? "ko" : "en");
  const layout = () => {
    const b = document.querySelector('#layout-toggle button[aria-pressed="true"]');
    return b && b.dataset.layout === "hwc" ? "hwc" : "nchw";
  };

  function paint() {
    const body = document.getElementById("flow-body");
    if (!body || busy) return;
    busy = true;
    for (const old of body.querySelectorAll(".sym")) old.remove();
    if (on && display) {
      for (const tr of body.querySelectorAll(":scope > tr.row")) {
        const i = Number(tr.querySelector(".c-idx").textContent) - 1;
        const row = display.rows[i];
        const cell = tr.querySelector("td.c-shape.out");
        if (!row || !row.sym || !cell) continue;
        const div = document.createElement("div");
        div.className = "sym";
        div.textContent = row.sym[layout()];
        div.style.cssText = "font-weight: 400; color: var(--muted)";
        cell.appendChild(div);
      }
    }
    busy = false;
  }

  function label(box, text) {
    const w = window.shapetraceWords.UI[lang()];  // the served table (core/words_ui.py)
    text.textContent = w.formulas;
    box.parentElement.title = w.formulasTitle;
  }

  function start() {
    const results = document.getElementById("results");
    const wrap = results && results.querySelector(".table-wrap");
    if (!wrap) return;
    const holder = document.createElement("label");
    holder.className = "sym-toggle";
    const box = document.createElement("input");
    box.type = "checkbox";
    box.id = "symbolic-toggle";
    const text = document.createElement("span");
    holder.append(box, " ", text);
    results.insertBefore(holder, wrap);
    label(box, text);
    box.addEventListener("change", () => {
      on = box.checked;
      paint();
      window.dispatchEvent(new CustomEvent("shapetrace:symbolic", { detail: { on } })); // app.js
    });
    window.addEventListener("shapetrace:view", (e) => { display = e.detail.display; paint(); });
    new MutationObserver(paint).observe(document.getElementById("flow-body"), { childList: true });
    new MutationObserver(() => { label(box, text); paint(); })
      .observe(document.documentElement, { attributes: true, attributeFilter: ["lang"] });
    new MutationObserver(paint).observe(document.getElementById("layout-toggle"),
      { attributes: true, subtree: true, attributeFilter: ["aria-pressed"] });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();

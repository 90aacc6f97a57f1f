// shapetrace: the convolution drawn. A picture of one conv / transposed conv / pool row of
// the flow the server computed: the input grid with its padding, the kernel window at one
// output cell (with its stride and dilation), the output grid, the input rows and columns
// that the floor drops when the stride does not divide, and the selected output cell's
// receptive field in the model's input.
//
// No size is computed here: the output size, the arguments (normalised by the core) and the
// receptive field come from the server's row. This file only does the index arithmetic of
// the picture (where window k of output cell o lies: o*stride - padding + k*dilation, as in
// https://pytorch.org/docs/stable/generated/torch.nn.Conv2d.html), and draws with SVG.
// Text from the row is set with textContent only.
"use strict";

(() => {
  const SVGNS = "http://www.w3.org/2000/svg";
  const MAX_CELLS = 24; // cells shown per axis; a larger grid is cropped around the window
  const FORWARD = /^(Conv[123]d|LazyConv[123]d|MaxPool[123]d|AvgPool[123]d|LPPool[123]d)$/;
  const TRANSPOSED = /^(ConvTranspose[123]d|LazyConvTranspose[123]d)$/;
  const ADAPTIVE = /^Adaptive(Avg|Max)Pool[123]d$/;

  function supports(kind) {
    return FORWARD.test(kind) || TRANSPOSED.test(kind) || ADAPTIVE.test(kind);
  }

  function rank(kind) {
    const m = /([123])d$/.exec(kind);
    return m ? Number(m[1]) : 2;
  }

  function tuple(v, n, dflt) {
    if (v === null || v === undefined) return Array(n).fill(dflt);
    if (Array.isArray(v)) return v.length === n ? v.map(Number) : Array(n).fill(Number(v[0]));
    return Array(n).fill(Number(v));
  }

  // Per spatial axis: kernel, stride, dilation, padding low/high, input and output size.
  // Only the last two spatial axes are drawn (a 3-D conv shows its H x W plane).
  function geometry(row) {
    const kind = row.kind;
    const n = rank(kind);
    const kw = row.kwargs || {};
    const inShape = (row.input_shapes || [])[0] || [];
    const outShape = (row.output_shapes || [])[0] || [];
    if (inShape.length < n || outShape.length < n) return null;
    const ins = inShape.slice(-n).map(Number), outs = outShape.slice(-n).map(Number);
    const mode = TRANSPOSED.test(kind) ? "transposed" : ADAPTIVE.test(kind) ? "adaptive" : "forward";
    let k = tuple(kw.kernel_size, n, 1);
    let s = mode === "adaptive" ? Array(n).fill(1) : tuple(kw.stride, n, null);
    if (s.some((x) => x === null || Number.isNaN(x))) s = k.slice(); // pools: stride defaults to kernel
    const d = tuple(kw.dilation, n, 1);
    let lo, hi;
    if (kw.padding === "same") {
      lo = k.map((kk, i) => Math.floor((d[i] * (kk - 1)) / 2));
      hi = k.map((kk, i) => d[i] * (kk - 1) - lo[i]); // torch pads the extra one on the right
    } else if (kw.padding === "valid") {
      lo = Array(n).fill(0); hi = lo.slice();
    } else {
      lo = tuple(kw.padding, n, 0); hi = lo.slice();
    }
    const axes = ins.map((size, i) => ({
      size, out: outs[i], k: k[i], s: s[i], d: d[i], lo: lo[i], hi: hi[i],
      name: ["D", "H", "W"].slice(3 - n)[i] || "L",
    }));
    const shown = axes.slice(-2);
    if (shown.length === 1) shown.unshift({ size: 1, out: 1, k: 1, s: 1, d: 1, lo: 0, hi: 0, name: "" });
    return { mode, axes: shown, ceil: !!kw.ceil_mode, kind };
  }

  // The input indices window o reads along one axis (forward and adaptive) or the output
  // indices input cell o writes (transposed).
  function taps(ax, o, mode) {
    if (mode === "adaptive") { // bins: [floor(o*n/m), ceil((o+1)*n/m))
      const a = Math.floor((o * ax.size) / ax.out), b = Math.ceil(((o + 1) * ax.size) / ax.out);
      const out = [];
      for (let i = a; i < b; i++) out.push(i);
      return out;
    }
    const out = [];
    for (let t = 0; t < ax.k; t++) out.push(o * ax.s - ax.lo + t * ax.d);
    return out;
  }

  // Input indices no window reads: the floor drops them (forward mode only).
  function dropped(ax, mode) {
    if (mode !== "forward" || ax.out < 1) return [];
    const last = (ax.out - 1) * ax.s - ax.lo + (ax.k - 1) * ax.d;
    const out = [];
    for (let i = Math.max(0, last + 1); i < ax.size; i++) out.push(i);
    return out;
  }

  function el(name, attrs, parent) {
    const e = document.createElementNS(SVGNS, name);
    for (const [a, v] of Object.entries(attrs || {})) e.setAttribute(a, String(v));
    if (parent) parent.appendChild(e);
    return e;
  }

  // A window of at most MAX_CELLS indices of [first, last] that holds `focus` (a range).
  function crop(first, last, focusLo, focusHi) {
    if (last - first + 1 <= MAX_CELLS) return [first, last];
    const mid = Math.round((focusLo + focusHi) / 2);
    let a = Math.max(first, mid - Math.floor(MAX_CELLS / 2));
    let b = a + MAX_CELLS - 1;
    if (b > last) { b = last; a = b - MAX_CELLS + 1; }
    return [a, b];
  }

  // Draws grid cells [r0..r1] x [c0..c1] at (x, y); `style(r, c)` names each cell's class.
  function grid(svg, x, y, cell, rows, cols, style, title, onCell) {
    const g = el("g", { class: "cp-grid" }, svg);
    const [r0, r1] = rows, [c0, c1] = cols;
    for (let r = r0; r <= r1; r++) {
      for (let c = c0; c <= c1; c++) {
        const rect = el("rect", {
          x: x + (c - c0) * cell, y: y + (r - r0) * cell, width: cell - 1, height: cell - 1,
          class: style(r, c), "data-r": r, "data-c": c,
        }, g);
        if (onCell) {
          rect.addEventListener("mouseenter", () => onCell(r, c));
          rect.addEventListener("click", () => onCell(r, c));
        }
      }
    }
    const t = el("text", { x, y: y - 6, class: "cp-title" }, svg);
    t.textContent = title;
    // the title may be wider than the grid (the next grid starts after both)
    const titleW = Array.from(title).reduce((n, ch) => n + (ch.charCodeAt(0) > 0x2e80 ? 13 : 6.7), 0);
    return { w: Math.max((c1 - c0 + 1) * cell, titleW), h: (r1 - r0 + 1) * cell };
  }

  // The words come from the page's one text table (words.js, UI[lang].conv); no table here.

  // draw(container, row, {words, cell: [r, c], modelInput: [H, W]}) -> the state, with
  // .select(r, c) to move the window (hover, click or the step buttons call it).
  function draw(container, row, opts) {
    opts = opts || {};
    const words = opts.words || {};
    const geo = geometry(row);
    container.textContent = "";
    if (!geo) return null;
    const [ay, ax] = geo.axes;
    const state = { r: 0, c: 0 };
    if (opts.cell) { state.r = opts.cell[0]; state.c = opts.cell[1]; }
    const wrap = document.createElement("div");
    wrap.className = "convpic";
    const caption = document.createElement("div");
    caption.className = "cp-caption";
    const bar = document.createElement("div");
    bar.className = "cp-steps";
    const prev = document.createElement("button");
    prev.type = "button"; prev.textContent = "◀"; prev.title = words.prev; prev.setAttribute("aria-label", words.prev);
    const next = document.createElement("button");
    next.type = "button"; next.textContent = "▶"; next.title = words.next; next.setAttribute("aria-label", words.next);
    bar.append(prev, next, caption);
    const holder = document.createElement("div");
    wrap.append(bar, holder);
    container.appendChild(wrap);

    const transposed = geo.mode === "transposed";
    // forward: the selected cell is an output cell; transposed: an input cell writing a window
    const selRows = transposed ? ay.size : ay.out, selCols = transposed ? ax.size : ax.out;

    function render() {
      holder.textContent = "";
      state.r = Math.min(Math.max(state.r, 0), Math.max(selRows - 1, 0));
      state.c = Math.min(Math.max(state.c, 0), Math.max(selCols - 1, 0));
      const tr = taps(ay, state.r, geo.mode), tc = taps(ax, state.c, geo.mode);
      const inWin = new Set(), dr = new Set(dropped(ay, geo.mode)), dc = new Set(dropped(ax, geo.mode));
      for (const r of tr) for (const c of tc) inWin.add(r + "," + c);
      // the first grid: the (padded) input; the second: the output
      const big = transposed ? [ay.out, ax.out] : [ay.size, ax.size];
      const first = transposed ? [0, 0] : [-ay.lo, -ax.lo];
      const last = transposed ? [ay.out - 1, ax.out - 1] : [ay.size + ay.hi - 1, ax.size + ax.hi - 1];
      const lastWin = [Math.max(last[0], tr[tr.length - 1] || 0), Math.max(last[1], tc[tc.length - 1] || 0)];
      const rowsIn = crop(first[0], lastWin[0], tr[0] || 0, tr[tr.length - 1] || 0);
      const colsIn = crop(first[1], lastWin[1], tc[0] || 0, tc[tc.length - 1] || 0);
      const rowsOut = crop(0, selRows - 1, state.r, state.r), colsOut = crop(0, selCols - 1, state.c, state.c);
      const span = Math.max(rowsIn[1] - rowsIn[0] + 1, colsIn[1] - colsIn[0] + 1);
      const cell = Math.max(7, Math.min(18, Math.floor(300 / span)));
      const svg = el("svg", { class: "cp-svg", role: "img" }, holder);
      const top = 22;
      const bigStyle = (r, c) => {
        const inside = r >= 0 && c >= 0 && r < big[0] && c < big[1];
        let cls = inside ? "cp-in" : (r >= first[0] && c >= first[1] && r <= last[0] && c <= last[1] ? "cp-pad" : "cp-out");
        if (!transposed && inside && (dr.has(r) || dc.has(c))) cls += " cp-drop";
        if (inWin.has(r + "," + c)) cls += " cp-win";
        return cls;
      };
      const a = transposed
        ? grid(svg, 8, top, cell, rowsOut, colsOut, (r, c) => "cp-in" + (r === state.r && c === state.c ? " cp-sel" : ""),
          `${words.input} ${ay.size}×${ax.size}`, select)
        : grid(svg, 8, top, cell, rowsIn, colsIn, bigStyle,
          `${words.input} ${ay.size}×${ax.size}` + (ay.lo || ax.lo || ay.hi || ax.hi ? ` + ${words.padding}` : ""), null);
      const x2 = 8 + a.w + 28;
      const b = transposed
        ? grid(svg, x2, top, cell, rowsIn, colsIn, bigStyle, `${words.output} ${ay.out}×${ax.out}`, null)
        : grid(svg, x2, top, cell, rowsOut, colsOut, (r, c) => "cp-outcell" + (r === state.r && c === state.c ? " cp-sel" : ""),
          `${words.output} ${ay.out}×${ax.out}`, select);
      let width = x2 + b.w + 8, height = top + Math.max(a.h, b.h) + 8;
      // the receptive field of the selected output cell in the model's input
      const rf = row.receptive_field, mi = opts.modelInput;
      if (!transposed && rf && mi && mi.length >= 2 && rf.size && rf.size.length >= 1) {
        const n = rf.size.length;
        const sy = n >= 2 ? rf.size[n - 2] : 1, sx = rf.size[n - 1];
        const jy = n >= 2 ? rf.jump[n - 2] : 1, jx = rf.jump[n - 1];
        const sty = n >= 2 ? rf.start[n - 2] : 0, stx = rf.start[n - 1];
        const H = mi[mi.length - 2], W = mi[mi.length - 1];
        const cy = sty + state.r * jy, cx = stx + state.c * jx;
        const y0 = Math.ceil(cy - (sy - 1) / 2), x0 = Math.ceil(cx - (sx - 1) / 2);
        const inRf = (r, c) => r >= y0 && r < y0 + sy && c >= x0 && c < x0 + sx;
        const mcell = Math.max(2, Math.min(8, Math.floor(160 / Math.max(H, W))));
        const rowsM = crop(0, H - 1, Math.max(0, y0), Math.min(H - 1, y0 + sy - 1));
        const colsM = crop(0, W - 1, Math.max(0, x0), Math.min(W - 1, x0 + sx - 1));
        const useCrop = H > 64 || W > 64;
        const x3 = width + 20;
        const m = grid(svg, x3, top, mcell, useCrop ? rowsM : [0, H - 1], useCrop ? colsM : [0, W - 1],
          (r, c) => "cp-model" + (inRf(r, c) ? " cp-rf" : ""), `${words.field}: ${sy}×${sx}`, null);
        width = x3 + m.w + 8; height = Math.max(height, top + m.h + 8);
      }
      svg.setAttribute("width", width); svg.setAttribute("height", height);
      svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
      const what = transposed ? words.scatter : words.cell;
      caption.textContent = `${what} (${state.r}, ${state.c}) · k=${ay.k}×${ax.k} · s=${ay.s}×${ax.s} · d=${ay.d}×${ax.d}`
        + (dr.size || dc.size ? ` · ${words.dropped}: ${dr.size} × ${dc.size}` : "");
    }

    function select(r, c) {
      if (r === state.r && c === state.c) return;
      state.r = r; state.c = c;
      render();
    }
    prev.addEventListener("click", () => {
      if (state.c > 0) state.c -= 1; else if (state.r > 0) { state.r -= 1; state.c = selCols - 1; }
      render();
    });
    next.addEventListener("click", () => {
      if (state.c < selCols - 1) state.c += 1; else if (state.r < selRows - 1) { state.r += 1; state.c = 0; }
      render();
    });
    render();
    state.select = select;
    state.geometry = geo;
    return state;
  }

  window.ShapetraceConv = { supports, geometry, taps, dropped, draw };
})();

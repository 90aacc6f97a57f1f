// shapetrace calculator: the page's words and its block types, in one place.
//
// Everything the page says that is not the server's (the core's messages, shapes and notes
// come from POST /api/view) is in UI, per language, made from the words the server serves
// (/words.js, from core/words_ui.py: the one text table); everything the page knows about
// blocks (which sections hold layers, what a new one starts with) is in BLOCKS, built from
// the block types the server describes (/blocks.js, from core/spec_tree.py).
"use strict";

(() => {
  // The served words are text; the page calls some of them (t("moreArgs", n)). The rules are
  // core/words_ui.py's: "{name}" placeholders make a function, filled in the order they first
  // appear in the English text; "<word>.one"/"<word>.other" are one word with a plural; any
  // other "<group>.<word>" is a nested object (UI.en.conv.input, for the conv picture).
  const served = window.shapetraceUI || {};
  const english = served.en || {};
  const argsOf = (text) => [...new Set([...String(text).matchAll(/\{(\w+)\}/g)].map((m) => m[1]))];
  const fill = (text, names, args) => text.replace(/\{(\w+)\}/g, (m, k) => {
    const i = names.indexOf(k);
    return i >= 0 && i < args.length ? String(args[i]) : m;
  });
  const word = (key, text) => {
    const names = argsOf(english[key] ?? text);
    return names.length ? (...args) => fill(text, names, args) : text;
  };
  const plural = (key, one, other) => {
    const names = argsOf(english[`${key}.other`] ?? other);
    return (...args) => fill(Number(args[0]) === 1 ? one : other, names, args);
  };
  const build = (table) => {
    const out = {};
    const groups = {};
    for (const [key, text] of Object.entries(table)) {
      const dot = key.indexOf(".");
      if (dot < 0) { out[key] = word(key, text); continue; }
      (groups[key.slice(0, dot)] ??= {})[key.slice(dot + 1)] = [key, text];
    }
    for (const [group, parts] of Object.entries(groups)) {
      const names = Object.keys(parts).sort().join(",");
      out[group] = names === "one,other" ? plural(group, parts.one[1], parts.other[1])
        : Object.fromEntries(Object.entries(parts).map(([k, [full, text]]) => [k, word(full, text)]));
    }
    return out;
  };
  const UI = Object.fromEntries(Object.entries(served).map(([lang, table]) => [lang, build(table)]));

  // The spec's block types, described once in Python (core/spec_tree.py BLOCK_TYPES) and
  // served as /blocks.js: the keys of each that hold lists of layers, whether those are lists
  // of lists (Concat's branches), the sections sent only when not empty (Residual's shortcut
  // and post), each int field's default (Concat's dim), and how a new one starts.
  const startValue = (f) => (f.kind === "int" ? f.default
    : f.kind === "branches" ? Array.from({ length: f.start_items }, () => []) : []);
  const BLOCKS = Object.fromEntries((window.shapetraceBlocks || []).map((b) => [b.type, {
    sections: b.fields.filter((f) => f.kind !== "int").map((f) => f.key),
    nested: b.fields.some((f) => f.kind === "branches"),
    dropEmpty: b.fields.filter((f) => f.kind !== "int" && !f.always).map((f) => f.key),
    defaults: Object.fromEntries(b.fields.filter((f) => f.kind === "int").map((f) => [f.key, f.default])),
    make: () => Object.fromEntries([["type", b.type], ...b.fields.map((f) => [f.key, startValue(f)])]),
  }]));

  window.shapetraceWords = Object.freeze({ UI, BLOCKS });
})();

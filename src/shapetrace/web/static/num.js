// shapetrace calculator: exact integers through JSON, and numbers as short text.
//
// The server sends counts as JSON integers, exact at any size (Python ints). JSON.parse
// would round those beyond 2^53 to the nearest double (21,474,838,627,483,648 parameters
// printed as ...650), so integers outside the safe range are read from their source text
// into BigInt (JSON.parse's reviver context, TC39 "JSON.parse source text access"), and
// BigInts go back out as raw JSON numbers (JSON.rawJSON). Nothing here goes through Number
// except the short forms ("21.47 P"), which are rounded on purpose.
"use strict";

(() => {
  const INT = /^-?\d+$/;

  function reviver(key, value, context) {
    if (typeof value === "number" && !Number.isSafeInteger(value) && context && INT.test(context.source)) {
      return BigInt(context.source);
    }
    return value;
  }

  const replacer = (key, value) => (typeof value === "bigint" ? JSON.rawJSON(value.toString()) : value);

  const parse = (text) => JSON.parse(text, reviver);
  const stringify = (value, space) => JSON.stringify(value, replacer, space);

  // "123" -> 123, "9007199254740993" -> 9007199254740993n: a typed integer stays exact.
  function integer(text) {
    const n = Number.parseInt(text, 10);
    return Number.isSafeInteger(n) ? n : BigInt(text);
  }

  // 1234567 -> "1,234,567" (BigInt or Number, every digit)
  const int = (n) => (n === null || n === undefined ? "" : typeof n === "bigint" ? n.toLocaleString("en-US") : Number(n).toLocaleString("en-US"));

  // MACs: 23299584 -> "23.3 M"; up to E (10^18) so that no count reads "21475 T"
  const SI = [[1e18, "E"], [1e15, "P"], [1e12, "T"], [1e9, "G"], [1e6, "M"], [1e3, "K"]];
  function compact(n) {
    if (n === null || n === undefined) return "?";
    const x = Number(n);
    for (const [v, u] of SI) {
      if (Math.abs(x) >= v) return (x / v).toFixed(x / v >= 100 ? 0 : 2).replace(/\.?0+$/, "") + " " + u;
    }
    return String(n);
  }

  // Bytes in binary units up to EiB ("80000008 GiB" was shown for 76.3 PiB)
  const BIN = [[2 ** 60, "EiB"], [2 ** 50, "PiB"], [2 ** 40, "TiB"], [2 ** 30, "GiB"], [2 ** 20, "MiB"], [2 ** 10, "KiB"]];
  function bytes(n) {
    const x = Number(n);
    for (const [v, u] of BIN) if (x >= v) return (x / v).toFixed(x / v >= 100 ? 0 : 1) + " " + u;
    return `${n} B`;
  }

  window.shapetraceNumbers = Object.freeze({ parse, stringify, integer, int, compact, bytes });
})();

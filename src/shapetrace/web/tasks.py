"""The work behind each API call, as plain functions of the request's bytes.

They run in a worker process (``web/worker.py``), so that no request, whatever it asks
of the core, can hold the server past a deadline. This module imports no web framework.

Each task returns its answer as the bytes to send (encoded once, here: the worker checks
their size, the server sends them as they are), or raises ``RequestError`` (status and
one-line message).
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import time
from typing import Any, Callable

from ..core.errors import ShapetraceError, one_line
from .limits import (Limits, RequestError, check_data, check_layer_args, check_text_depth,
                     check_unicode, decode_json)

log = logging.getLogger("shapetrace.web")


def parse_bounded(data: Any, limits: Limits):
    """Plain data -> a ``Spec``, every bound checked first (limits.py), then the core's parser.
    ``data`` is free of lone surrogates already (``decode_json`` or ``parse_request`` checked)."""
    from ..core.spec import parse_spec

    check_data(data, limits)
    try:
        spec = parse_spec(data, source="spec")
    except (ShapetraceError, MemoryError, RecursionError):
        raise
    except Exception as e:  # a gap in the core's validation: still the request's fault, say so
        log.exception("parse_spec raised %s instead of SpecError", type(e).__name__)
        raise RequestError(f"spec: invalid spec ({type(e).__name__}: {one_line(e)[:200]})") from None
    check_layer_args(spec, limits)
    return spec


def spec_of(body: bytes, limits: Limits):
    return parse_bounded(decode_json(body), limits)


def flow_report(spec):
    from ..core.spec import flow

    try:
        return flow(spec)
    except (ShapetraceError, MemoryError, RecursionError):
        raise
    except Exception as e:  # a bug in a layer rule must not take the page down with a 500
        log.exception("flow failed on a spec that passed validation")
        raise RequestError(f"shapetrace could not compute this spec ({type(e).__name__}: "
                           f"{one_line(e)[:200]}); please report it") from None


def flow_json(body: bytes, limits: Limits) -> bytes:
    """POST /api/flow: ``Report.to_dict()`` as compact JSON (what FastAPI's JSONResponse writes)."""
    report = flow_report(spec_of(body, limits)).to_dict()
    return json.dumps(report, ensure_ascii=False, separators=(",", ":")).encode()


def view_json(body: bytes, limits: Limits, *, symbolic: bool = False) -> bytes:
    """POST /api/view: the flow (exactly /api/flow's JSON) and how to show it, rendered here so
    the page formats nothing itself: every shape as ``shapetrace.render`` writes it in both
    layouts, and every note in both languages (``core.explain.note_lines``). ``symbolic``:
    each row's output as a formula too (``sym``), only while the page's formula toggle is on:
    they cost up to 0.4 s at 400 rows, on every edit."""
    from ..core.explain import Lang, note_lines
    from ..render.fmt import shape_text
    from ..render.options import Layout
    from ..render.view import batch_of

    spec = spec_of(body, limits)
    report = flow_report(spec)
    data = report.to_dict()
    batch = batch_of(report)

    def shapes(items) -> dict[str, list[str]]:
        return {lay.value: [shape_text(s, lay, batch) for s in items] for lay in Layout}

    rows = [{"in": shapes(r.input_shapes), "out": shapes(r.output_shapes),
             "notes": {lg.value: note_lines(r.notes, lg) for lg in Lang}} for r in report.rows]
    err = report.error
    error = None if err is None else {
        "actual": shapes([err.actual]) if err.actual is not None else None,
        "expected": shapes([err.expected]) if err.expected is not None else None}
    if symbolic:
        _symbolic(spec, report, rows, batch)
    display = {"input": shapes(report.input_shapes), "rows": rows, "error": error,
               "paths": node_paths(spec), "graph": _graphs(report)}
    return json.dumps({"flow": data, "display": display}, ensure_ascii=False,
                      separators=(",", ":")).encode()


MAX_GRAPH_NODES = 1000  # about 450 KB of SVG per picture
MAX_SYMBOLIC_ROWS = 400  # each layer asks the core about ten sizes (issue 16): about 1 ms a row


def _symbolic(spec, report, rows: list[dict], batch) -> None:
    """Each row's output as a formula of the varying input sizes, per layout ("sym"; None
    where there is none): the page's formula toggle (static/symbolic.js)."""
    from ..core.symbolic import spec_rows
    from ..core.symbolic.rows import row_outputs
    from ..render.sizes import formula_text

    outs = [None] * len(report.rows)
    if len(report.rows) <= MAX_SYMBOLIC_ROWS and len(spec.input) >= 2:
        try:
            outs = row_outputs(report, *spec_rows(spec))
        except Exception:  # noqa: BLE001 - the formulas are an extra: the table is answered without them
            log.exception("symbolic rows failed on a spec that passed validation")
    for d, parts, r in zip(rows, outs, report.rows):
        d["sym"] = None if parts is None else {
            lay: formula_text(parts, r.output_shapes[0], lay == "hwc", batch) for lay in ("nchw", "hwc")}


def _graphs(report) -> dict[str, str]:
    """The model's graph (``render.svg``) in each layout and language: "nchw.en" -> SVG."""
    from ..core.explain import Lang
    from ..render.graph import build_graph
    from ..render.graph_svg import svg as draw
    from ..render.options import Layout

    graph = build_graph(report)  # built once, drawn four times
    if len(graph.nodes) > MAX_GRAPH_NODES:
        return {}  # the page says to draw it with the CLI: four pictures of that size bloat every answer
    return {f"{lay.value}.{lg.value}": draw(graph, layout=lay, lang=lg) for lay in Layout for lg in Lang}


def node_paths(spec) -> dict[str, str]:
    """Row name -> where that layer sits in the spec ("layers/3/body/0"), so the page finds
    the card of each row without knowing how rows are named (``core.spec.walk``)."""
    from ..core.spec import walk

    return {p.qual: "/".join(map(str, p.path)) for p in walk(spec.layers) if p.node is not None}


def parse_request(body: bytes, limits: Limits) -> bytes:
    """POST /api/spec/parse: {"text": ..., "format": "yaml"|"json"} -> the spec as JSON."""
    from ..core.spec import parse_text

    req = decode_json(body)
    if not isinstance(req, dict) or not isinstance(req.get("text"), str):
        raise RequestError('send {"text": "<the spec file\'s text>", "format": "yaml"}')
    extra = sorted(set(req) - {"text", "format"})
    if extra:
        raise RequestError(f"unknown key {extra[0][:40]!r} (takes: text, format)")
    fmt = req.get("format", "yaml")
    if fmt not in ("yaml", "json"):
        raise RequestError(f"format must be 'yaml' or 'json', got {fmt!r}"[:200])
    check_text_depth(req["text"], limits.max_depth)  # before the parser: PyYAML is slow at depth
    data = parse_text(req["text"], json_only=fmt == "json", source="spec")
    check_unicode(data, "spec")  # the spec file's own escapes ("\ud800" in its YAML or JSON text)
    spec = parse_bounded(data, limits)
    return json.dumps(spec.to_dict(), ensure_ascii=False, separators=(",", ":")).encode()


def export_text(body: bytes, fmt: str, limits: Limits) -> bytes:
    """POST /api/spec/export: the spec as a spec file's text, UTF-8."""
    return spec_text(spec_of(body, limits).to_dict(), fmt).encode()


def table_text(body: bytes, fmt: str, layout: str, lang: str, limits: Limits) -> bytes:
    """POST /api/table: the page's table as a file: shapetrace.render's Markdown or CSV with the
    worked-formula column, in the page's layout and language (what `shapetrace summary SPEC
    --format markdown --explain --layout hwc --lang ko` prints), UTF-8."""
    from .. import render

    report = flow_report(spec_of(body, limits))
    return render.render(report, fmt, layout=layout, lang=lang, explain=True).encode()


def spec_text(data: dict[str, Any], fmt: str) -> str:
    """A spec as the text of a spec file: JSON indented, or YAML like examples/*.yaml,
    one line per layer (``- {type: Conv2d, out_channels: 32, kernel_size: 3}``)."""
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    return _yaml_text(data)


def _yaml_text(data: dict[str, Any]) -> str:
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    def nested(v: Any) -> bool:
        return isinstance(v, dict) or (isinstance(v, list) and any(isinstance(x, (dict, list))
                                                                   for x in v))

    def mapping(dumper, d):
        # A layer (only scalars and flat tuples) on one line; a block spread over lines.
        flow = not any(nested(v) for v in d.values()) and d is not data
        return dumper.represent_mapping("tag:yaml.org,2002:map", d.items(), flow_style=flow)

    def sequence(dumper, items):
        flow = not any(isinstance(x, (dict, list)) for x in items)
        return dumper.represent_sequence("tag:yaml.org,2002:seq", items, flow_style=flow)

    Dumper.add_representer(dict, mapping)
    Dumper.add_representer(list, sequence)
    return yaml.dump(data, Dumper=Dumper, sort_keys=False, allow_unicode=True, width=120)


def preload() -> None:
    """Import what every task needs, in a worker before its first task: the import is the
    start-up's cost, not the first request's (its deadline starts once the worker is ready)."""
    from .. import render  # noqa: F401
    from ..core import explain, spec  # noqa: F401
    from ..render import graph, graph_svg, view  # noqa: F401

    import yaml  # noqa: F401  (spec files, /api/spec/parse and /export)


TASKS: dict[str, Callable[..., Any]] = {
    "flow": flow_json,
    "view": view_json,
    "view_symbolic": functools.partial(view_json, symbolic=True),  # POST /api/view?symbolic=true
    "parse": parse_request,
    "export": export_text,
    "table": table_text,
}

if os.environ.get("SHAPETRACE_WEB_TEST_TASKS") == "1":
    # For tests of the worker's limits only: no request the core answers is slow or big any
    # more, but the deadline and the memory cap stay as the last line of defence.
    TASKS["sleep"] = time.sleep
    TASKS["allocate"] = lambda nbytes: len(bytearray(nbytes))
    # A request whose body holds "test-sleep-<N>ms" (a spec's name) is slow on purpose: the
    # server tests need requests that keep a worker busy for a known time.
    _TEST_SLEEP = re.compile(rb'"test-sleep-([0-9]+)ms"')
else:
    _TEST_SLEEP = None


def run(name: str, args: tuple) -> tuple:
    """One task -> ("ok", value) or ("error", status, message); never raises."""
    try:
        if _TEST_SLEEP is not None and args and isinstance(args[0], bytes):
            m = _TEST_SLEEP.search(args[0])
            if m:
                time.sleep(int(m.group(1)) / 1000)
        value = TASKS[name](*args)
        limits = next((a for a in args if isinstance(a, Limits)), None)
        size = len(value) if isinstance(value, bytes) else 0  # the test tasks answer numbers
        if limits is not None and size > limits.max_answer_bytes:
            # Checked here, in the worker: the server never holds an answer past the cap.
            return ("error", 422, f"the answer would be {size:,} bytes, more than the limit of "
                                  f"{limits.max_answer_bytes:,}; use shorter names or fewer "
                                  f"layers, or the CLI (shapetrace summary SPEC)")
        return ("ok", value)
    except RequestError as e:
        return ("error", e.status, one_line(e))
    except ShapetraceError as e:
        return ("error", 422, one_line(e))
    except MemoryError:
        return ("error", 422, "this spec needs more memory than the calculator allows "
                              "(a size in the millions somewhere?)")
    except RecursionError:
        return ("error", 422, "this spec is nested too deeply")
    except Exception as e:  # the last line of defence: a 4xx that says what happened
        log.exception("task %s failed", name)
        return ("error", 422, f"shapetrace could not handle this request ({type(e).__name__}: "
                              f"{one_line(e)[:200]}); please report it")

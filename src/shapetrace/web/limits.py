"""Bounds on what one request may ask of the server, and the checks that enforce them.

The calculator's API is open to whatever a browser (or a fuzzer) sends, so every
request is bounded before the core sees it:

* ``BodyLimit``: an ASGI middleware that reads at most ``max_body_bytes`` of a
  body and answers 413 beyond that, whatever ``Content-Length`` claims;
* ``check_data``: one bounded walk over the decoded JSON that refuses too many
  values, too deep nesting, too many layers, numbers out of range, long strings
  and anything that is not plain JSON data (YAML can produce dates, sets, aliases);
* ``check_layer_args``: layer arguments are scalars or flat lists of scalars.

Bounding the input bounds most of the work (the core's flow is linear in the number of
layers); what one number can still cost inside a layer rule is bounded by running the
computation in a worker process with a deadline (``worker.py``, ``max_seconds``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from ..core.errors import ShapetraceError


@dataclass(frozen=True)
class Limits:
    max_body_bytes: int = 1 << 20  # 1 MiB of JSON or YAML
    max_layers: int = 4096  # layers and blocks, all nesting levels together
    max_values: int = 200_000  # JSON values of any kind in one request
    max_depth: int = 64  # JSON nesting (a spec's block nesting is capped by the core too)
    max_abs_int: int = 2**31 - 1  # sizes and arguments: int32, far beyond any real layer
    max_abs_float: float = 1e9
    max_str: int = 200  # names, string arguments ('same', 'zeros'), keys
    max_list: int = 16  # a tuple argument such as kernel_size=(3, 3)
    max_seconds: float = 5.0  # one request's computation, in a worker process (worker.py)
    max_answer_bytes: int = 16 << 20  # one answer; the largest accepted spec's is about 6 MiB
    # Requests queued for a worker beyond those computing; then 429. A queued request waits
    # its place times a request's work: 16 kept the admitted ones' p99 of 200 at once at about
    # half of 32's (docs/benchmarks.md, section 5b); the page has one request in flight at most.
    max_waiting: int = 16
    max_wait_seconds: float = 10.0  # a queued request waits this long for a worker; then 503
    max_pending_answer_bytes: int = 64 << 20  # answers not yet taken by slow readers; then 503
    send_seconds: float = 10.0  # a client taking no part of its answer this long is cut (protocol.py)
    read_seconds: float = 10.0  # a request's head and body must arrive within this; then closed


DEFAULT_LIMITS = Limits()


class RequestError(ShapetraceError):
    """A request the API refuses; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


# --------------------------------------------------------------------------- body size


class BodyLimit:
    """Pure ASGI middleware: read the request body with a cap, then replay it to the app.

    A ``Content-Length`` above the cap is refused before reading; a body that streams
    past the cap (chunked, or a lying header) is refused as soon as it does, and one that
    takes longer than ``read_seconds`` to arrive gets a 408.
    """

    def __init__(self, app, max_bytes: int, read_seconds: float = 10.0) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.read_seconds = read_seconds

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for key, value in scope.get("headers", ()):
            if key == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await plain_error(send, 400, "Content-Length is not a number")
                    return
                if declared > self.max_bytes:
                    await plain_error(send, 413, _too_large(declared, self.max_bytes))
                    return
        import anyio

        chunks: list[bytes] = []
        size = 0
        more = True
        deadline = anyio.current_time() + self.read_seconds
        while more:
            # A body that trickles in (slowloris) holds a connection, not the server: it has
            # read_seconds in all to arrive.
            with anyio.move_on_after(max(0.0, deadline - anyio.current_time())) as timer:
                message = await receive()
            if timer.cancelled_caught:
                await plain_error(send, 408, f"the request body did not arrive within "
                                              f"{self.read_seconds:g} s")
                return
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await plain_error(send, 413, _too_large(size, self.max_bytes, at_least=True))
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        sent = False

        async def replay():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # later calls wait for the disconnect, as the server's would

        await self.app(scope, replay, send)


def _too_large(size: int, cap: int, at_least: bool = False) -> str:
    return (f"request body of {'more than ' if at_least else ''}{size:,} bytes is too large; "
            f"the limit is {cap:,} bytes")


async def plain_error(send, status: int, message: str) -> None:
    """A JSON error answered straight from the ASGI layer (before the app), closing the connection."""
    import json

    body = json.dumps({"detail": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


# --------------------------------------------------------------------------- data


def decode_json(body: bytes, what: str = "request body") -> Any:
    """Bytes -> data; malformed or too deeply nested JSON is a 400 with the position."""
    import json

    if not body.strip():
        raise RequestError(f"{what} is empty; send a JSON spec like "
                           '{"input": [1, 1, 28, 28], "layers": [...]}', 400)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise RequestError(f"{what} is not UTF-8 text (byte {e.start})", 400) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise RequestError(f"{what} is not valid JSON: {e.msg} at line {e.lineno}, "
                           f"column {e.colno}", 400) from None
    except RecursionError:
        raise RequestError(f"{what} is nested too deeply", 400) from None
    except ValueError as e:  # e.g. an integer literal with too many digits
        raise RequestError(f"{what} is not valid JSON: {e}", 400) from None
    check_unicode(data, what)
    return data


def _surrogate(text: str) -> str | None:
    """The first lone UTF-16 surrogate in ``text`` as \\uXXXX, or None. JSON's ``\\ud800``
    escape decodes to one; it is no character, and cannot be encoded as UTF-8 (every answer)."""
    if text.isascii():
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        return f"\\u{ord(text[e.start]):04x}"
    return None


def check_unicode(data: Any, what: str = "request body") -> None:
    """Every string of ``data`` (keys and values, at any depth) is valid Unicode: a lone
    surrogate is refused here, once for all, as a 400 naming where it is."""
    stack: list[tuple[Any, str]] = [(data, what)]
    while stack:
        value, path = stack.pop()
        if isinstance(value, str):
            bad = _surrogate(value)
            if bad:
                raise RequestError(f"{path}: the text contains a lone surrogate ({bad}), which is "
                                   f"not a character; send valid Unicode", 400)
        elif isinstance(value, dict):
            for key, item in value.items():
                bad = isinstance(key, str) and _surrogate(key)
                if bad:
                    raise RequestError(f"{path}: a key contains a lone surrogate ({bad}), which "
                                       f"is not a character; send valid Unicode", 400)
                stack.append((item, f"{path}.{key}"))
        elif isinstance(value, list):
            stack += [(item, f"{path}[{i}]") for i, item in enumerate(value)]


# Tokens of a YAML (or JSON) text that matter for its nesting: quoted strings (skipped whole,
# so brackets in names do not count; a quote only opens one where a scalar can start), comments
# (after a space), flow brackets, and each line's indentation with its leading "- " items.
_YAML_TOKENS = re.compile(
    r"""(?:(?<=[\s\[{,:])|^)(?:"(?:[^"\\]|\\.)*"|'(?:[^']|'')*')"""
    r"|(?:(?<=\s)|^)#[^\n]*|[\[\]{}]|^[ \t]*(?:-[ \t]+)*", re.M)


def check_text_depth(text: str, max_depth: int, what: str = "spec") -> None:
    """Refuse a YAML/JSON text nested deeper than ``max_depth`` before any parser sees it:
    PyYAML spends about 1 s on 2 KB of 1,000 nested ``[``. A cheap over-estimate (the deepest
    block indentation plus the deepest flow nesting, one regex pass), never an under-estimate
    for the flow brackets and indentation that make YAML deep."""
    flow = flow_max = 0
    indents: list[int] = []
    block_max = 0
    for m in _YAML_TOKENS.finditer(text):
        tok = m.group()
        c = tok[:1] or " "  # an empty match: a line start without indentation
        if c in "[{":
            flow += 1
            if flow > flow_max:
                flow_max = flow
        elif c in "]}":
            flow = max(0, flow - 1)
        elif c in "\"'#":
            continue
        elif flow == 0:  # a line's start, outside flow collections: block nesting
            stripped = tok.lstrip(" \t")
            indent = len(tok) - len(stripped)
            end = m.end()
            if end >= len(text) or text[end] in "\n#":  # blank or comment-only line
                continue
            while indents and indents[-1] >= indent:
                indents.pop()
            indents.append(indent)
            block_max = max(block_max, len(indents) + stripped.count("-"))
        if flow_max + block_max > max_depth:
            raise RequestError(f"{what}: nested more than {max_depth} levels deep "
                               f"(refused before parsing)", 422)


def check_data(data: Any, limits: Limits = DEFAULT_LIMITS, *, what: str = "spec") -> None:
    """Walk ``data`` once, with every bound checked as it goes (so the walk itself is bounded,
    also for YAML aliases that reuse one list many times); raise RequestError on the first
    problem, naming where it is."""
    stack: list[tuple[Any, str, int]] = [(data, what, 0)]
    seen = 0
    mappings = 0
    while stack:
        value, path, depth = stack.pop()
        seen += 1
        if seen > limits.max_values:
            raise RequestError(f"{what} has more than {limits.max_values:,} values; "
                               f"the web calculator takes smaller specs", 422)
        if depth > limits.max_depth:
            raise RequestError(f"{path}: nested more than {limits.max_depth} levels deep", 422)
        if isinstance(value, dict):
            mappings += 1
            if mappings > limits.max_layers + 1:
                raise RequestError(f"{what} has more than {limits.max_layers:,} layers; "
                                   f"the web calculator takes at most {limits.max_layers:,}", 422)
            for key, item in value.items():
                if not isinstance(key, str):
                    raise RequestError(f"{path}: keys must be strings, got {_short(key)}")
                if len(key) > limits.max_str:
                    raise RequestError(f"{path}: key {key[:40]!r}... is longer than "
                                       f"{limits.max_str} characters")
                stack.append((item, f"{path}.{key}", depth + 1))
        elif isinstance(value, list):
            for i in range(len(value) - 1, -1, -1):
                stack.append((value[i], f"{path}[{i}]", depth + 1))
        elif isinstance(value, bool) or value is None:
            pass
        elif isinstance(value, int):
            if abs(value) > limits.max_abs_int:
                raise RequestError(f"{path}: {_short(value)} is out of range; numbers must lie "
                                   f"between -{limits.max_abs_int:,} and {limits.max_abs_int:,}")
        elif isinstance(value, float):
            if not math.isfinite(value) or abs(value) > limits.max_abs_float:
                raise RequestError(f"{path}: {_short(value)} is out of range; numbers must be "
                                   f"finite and at most {limits.max_abs_float:g} in size")
        elif isinstance(value, str):
            if len(value) > limits.max_str:
                raise RequestError(f"{path}: a string of {len(value):,} characters is too long "
                                   f"(at most {limits.max_str})")
        else:
            raise RequestError(f"{path}: {type(value).__name__} values are not allowed; "
                               f"use numbers, strings, true/false, null and lists")


def check_layer_args(spec, limits: Limits = DEFAULT_LIMITS) -> None:
    """Every layer argument is a scalar or a flat list of at most ``max_list`` scalars
    (torch's int-or-tuple arguments); a dict or a nested list is refused."""
    from ..core.spec import LayerNode, walk

    def where(path: tuple) -> str:  # ("layers", 3, "body", 0) -> layers[3].body[0]
        return "".join(f"[{p}]" if isinstance(p, int) else ("." if j else "") + p for j, p in enumerate(path))

    for place in walk(spec.layers):
        node = place.node
        if isinstance(node, LayerNode):
            for k, v in node.kwargs.items():
                path = where(place.path) if isinstance(v, (tuple, dict)) else ""
                if isinstance(v, tuple):
                    if len(v) > limits.max_list:
                        raise RequestError(f"{path} ({node.type}): {k} has {len(v)} values; "
                                           f"at most {limits.max_list}")
                    if any(isinstance(x, (tuple, dict)) for x in v):
                        raise RequestError(f"{path} ({node.type}): {k} must be a value or a flat "
                                           f"list of values, got a nested list")
                elif isinstance(v, dict):
                    raise RequestError(f"{path} ({node.type}): {k} must be a value or a list, "
                                       f"got a mapping")


def _short(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 40 else text[:37] + "..."

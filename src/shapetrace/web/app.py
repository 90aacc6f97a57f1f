"""The calculator's server: a FastAPI app over the core, and the static page.

One source of truth: the page never computes or formats a shape. ``POST /api/flow`` parses
a spec with ``core.spec.parse_spec`` and returns ``core.spec.flow(spec).to_dict()``, the
same JSON as ``shapetrace summary --format json``; the page posts every edit to
``POST /api/view``, which returns exactly that JSON plus its display text.
The work of each request (``tasks.py``) runs in a worker process with a deadline
(``worker.py``), after the bounds of ``limits.py``.

Endpoints (schemas at ``/openapi.json``, components in ``web/schema.py``):

* ``POST /api/flow``: spec -> Report (200 also when a layer fails: ``error`` says which);
* ``POST /api/spec/parse``: a spec file's text (YAML/JSON) -> the spec as JSON;
* ``POST /api/spec/export?format=yaml|json``: spec -> a spec file's text;
* ``POST /api/table?format=markdown|csv&layout=nchw|hwc&lang=en|ko``: spec -> the flow
  table, rendered by ``shapetrace.render``;
* ``POST /api/view?symbolic=false|true``: the same flow plus its display text (shapes in both
  layouts, notes in both languages, rendered by ``shapetrace.render`` and ``core.explain``;
  with symbolic=true each row's output as a formula too): what the page uses;
* ``GET /api/layers``, ``/api/presets``, ``/api/presets/{id}``.

Bad requests get a 4xx with ``{"detail": "<one line>"}``, never a 500: see ``limits``.
Under load the server answers in JSON too: 429 when ``Limits.max_waiting`` requests already
wait for a worker, 503 when none frees up in ``max_wait_seconds``; a request whose client
has gone is cancelled (its worker killed and replaced), and an answer is sent in pieces to a
client that reads, and cut off from one that stops reading (``send_seconds``, enforced by
``protocol.py``'s connection under ``shapetrace serve``). Who may call
the API (Host, Origin, Content-Type) is ``guard.py``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from enum import Enum
from pathlib import Path
from typing import Any

import anyio

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import __version__
from ..core.errors import ShapetraceError, one_line
from ..core.explain import Lang
from ..core.words_ui import page_words
from ..render.options import Layout
from . import schema
from .catalog import layer_catalog
from .guard import HostGuard
from .limits import DEFAULT_LIMITS, BodyLimit, Limits, RequestError
from .presets import list_presets, load_preset
from .tasks import spec_text
from .worker import shared_pool

STATIC = Path(__file__).resolve().parent / "static"

# The page may load only what this server serves: no CDN, no inline script.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")


class TableFormat(str, Enum):
    markdown = "markdown"
    csv = "csv"


class SpecFormat(str, Enum):
    yaml = "yaml"
    json = "json"


POST_ERRORS = (400, 403, 413, 415, 422, 429, 503)
SYMBOLIC = ("also each row's output as a formula of the varying input sizes (display.rows[i].sym), "
            "as `shapetrace summary --symbolic` writes it; the page asks only while its formula "
            "toggle is on (up to 0.4 s of work at 400 rows)")
ANSWER_CHUNK = 64 << 10  # an answer goes out in pieces this big, each after the last was taken


def _error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    text = {400: "malformed JSON, an empty body, or text that is not valid Unicode",
            403: "the Host is not this server's (DNS rebinding), or another site's page sent it",
            404: "no such preset", 413: "the request body is too large",
            415: "the body is not sent as Content-Type: application/json",
            422: "the spec is invalid (the message names the item), or exceeds a limit",
            429: "too many requests wait for a worker; retry after a moment",
            503: "no worker was free in time, or the server is stopping; retry"}
    return {c: {"description": text[c],
                "content": {"application/json": {"schema": schema.ref("Error")}}} for c in codes}


def _json_body(name: str, description: str) -> dict[str, Any]:
    return {"requestBody": {"required": True, "description": description,
                            "content": {"application/json": {"schema": schema.ref(name)}}}}


def _ok(name_or_schema: str | dict[str, Any], description: str,
        media: str | tuple[str, ...] = "application/json") -> dict[int | str, dict[str, Any]]:
    s = schema.ref(name_or_schema) if isinstance(name_or_schema, str) else name_or_schema
    types = (media,) if isinstance(media, str) else media
    return {200: {"description": description, "content": {m: {"schema": s} for m in types}}}


def create_app(limits: Limits = DEFAULT_LIMITS, *, hosts: Iterable[str] | None = None,
               workers: int | None = None) -> FastAPI:
    """A new app; ``limits`` bounds what one request may ask (tests shrink them). ``hosts``:
    the Host names served besides the loopback ones (``guard.HostGuard``); None, for an app
    driven in-process (tests, an embedder's own server), checks no Host. ``workers``: how many
    worker processes compute at once (default: the CPUs, at most 4)."""
    app = FastAPI(
        title="shapetrace calculator API",
        version=__version__,
        description="Exact PyTorch layer shapes for a declarative spec, computed by shapetrace's "
                    "core. The page at / is a client of this API.",
        # Swagger UI and ReDoc load their scripts from a CDN: nothing here may be downloaded
        # at run time, so only the schema itself is served (/openapi.json).
        docs_url=None,
        redoc_url=None,
    )

    # ------------------------------------------------------------------ errors
    @app.exception_handler(RequestError)
    async def _request_error(_: Request, e: RequestError) -> JSONResponse:
        retry = {"Retry-After": "1"} if e.status in (429, 503) else None
        return JSONResponse({"detail": one_line(e)}, status_code=e.status, headers=retry)

    @app.exception_handler(ShapetraceError)
    async def _spec_error(_: Request, e: ShapetraceError) -> JSONResponse:
        return JSONResponse({"detail": one_line(e)}, status_code=422)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, e: RequestValidationError) -> JSONResponse:
        parts = []
        for err in e.errors()[:3]:
            where = ".".join(str(x) for x in err.get("loc", ()))
            parts.append(f"{where}: {err.get('msg', 'invalid')}")
        return JSONResponse({"detail": "; ".join(parts) or "invalid request"}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, e: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"detail": str(e.detail)}, status_code=e.status_code,
                            headers=getattr(e, "headers", None))

    # ------------------------------------------------------------------ work
    pool = shared_pool(limits.max_seconds, workers, limits.max_wait_seconds)
    app.state.pool = pool  # `shapetrace serve` warms it up before the first request

    pending = [0]  # bytes of answers not yet taken by their clients (slow readers)

    async def work(name: str, request: Request, *args: Any) -> Any:
        """Run tasks.<name>(body, *args, limits) in a worker process, from a thread so that the
        event loop keeps serving; a refusal or a passed deadline becomes the 4xx it names."""
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media != "application/json":
            raise RequestError(f"send the body as Content-Type: application/json "
                               f"(got {media[:60] or 'none'!r})", 415)
        body = await request.body()
        if not pool.admit(limits.max_waiting):
            raise RequestError(f"the server is busy: {limits.max_waiting} requests already wait "
                               f"for a worker; try again in a moment", 429)
        cancel = threading.Event()

        async def watch() -> None:
            # A client that closes its connection cancels its request, queued or computing.
            while not await request.is_disconnected():
                await anyio.sleep(0.1)
            cancel.set()

        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(watch)
                try:
                    outcome = await run_in_threadpool(pool.run, name, body, *args, limits,
                                                      cancel=cancel)
                finally:
                    tg.cancel_scope.cancel()
        finally:
            pool.leave()
        if not outcome.ok:
            raise RequestError(outcome.message, outcome.status)
        return outcome.value

    def answer(value: bytes, media_type: str) -> Response:
        return Answer(value, media_type=media_type, limits=limits, pending=pending)

    # ------------------------------------------------------------------ API
    @app.post("/api/flow", tags=["flow"], summary="The flow of a spec, row by row",
              openapi_extra=_json_body("Spec", "a spec: the same JSON as the CLI's spec files"),
              responses={**_ok("Report", "the flow (same JSON as `shapetrace summary --format "
                                         "json`); `error` is set when a layer fails"),
                         **_error_responses(*POST_ERRORS)})
    async def api_flow(request: Request) -> Response:
        return answer(await work("flow", request), "application/json")

    @app.post("/api/view", tags=["flow"], summary="The flow, plus its shapes and notes as text",
              openapi_extra=_json_body("Spec", "a spec"),
              responses={**_ok("View", "`flow`: exactly what POST /api/flow returns; `display`: "
                                       "each row's shapes as shapetrace.render writes them in both "
                                       "layouts and its notes in both languages"),
                         **_error_responses(*POST_ERRORS)})
    async def api_view(request: Request,
                       symbolic: bool = Query(False, description=SYMBOLIC)) -> Response:
        task = "view_symbolic" if symbolic else "view"
        return answer(await work(task, request), "application/json")

    @app.post("/api/spec/parse", tags=["spec"], summary="Read a spec file's text (YAML or JSON)",
              openapi_extra=_json_body("ParseRequest", "the text of a spec file"),
              responses={**_ok("Spec", "the spec as JSON, validated"),
                         **_error_responses(*POST_ERRORS)})
    async def api_parse(request: Request) -> Response:
        return answer(await work("parse", request), "application/json")

    @app.post("/api/spec/export", tags=["spec"], summary="A spec as a spec file (YAML or JSON)",
              openapi_extra=_json_body("Spec", "a spec"),
              response_class=PlainTextResponse,
              responses={200: {"description": "the spec file's text: YAML, or JSON with format=json",
                               "content": {"application/yaml": {"schema": schema.ref("Spec")},
                                           "application/json": {"schema": schema.ref("Spec")}}},
                         **_error_responses(*POST_ERRORS)})
    async def api_export(request: Request, format: SpecFormat = Query(SpecFormat.yaml)) -> Response:
        media = "application/json" if format is SpecFormat.json else "application/yaml"
        return answer(await work("export", request, format.value), media + "; charset=utf-8")

    @app.post("/api/table", tags=["flow"], summary="The flow table as Markdown or CSV",
              openapi_extra=_json_body("Spec", "a spec"),
              response_class=PlainTextResponse,
              responses={**_ok({"type": "string"}, "the table, rendered by shapetrace.render",
                               ("text/markdown", "text/csv")),
                         **_error_responses(*POST_ERRORS)})
    async def api_table(request: Request, format: TableFormat = Query(TableFormat.markdown),
                        layout: Layout = Query(Layout.NCHW),
                        lang: Lang = Query(Lang.EN)) -> Response:
        media = "text/csv" if format is TableFormat.csv else "text/markdown"
        return answer(await work("table", request, format.value, layout.value, lang.value),
                      media + "; charset=utf-8")

    @app.get("/api/layers", tags=["catalog"], summary="Every layer the core knows, with its arguments",
             responses=_ok({"type": "array", "items": schema.ref("LayerInfo")}, "the layer catalog"))
    async def api_layers() -> JSONResponse:
        return JSONResponse(layer_catalog())

    @app.get("/api/presets", tags=["presets"], summary="The example specs",
             responses=_ok({"type": "array", "items": schema.ref("Preset")}, "the presets"))
    async def api_presets() -> JSONResponse:
        return JSONResponse(await run_in_threadpool(list_presets))

    @app.get("/api/presets/{preset_id}", tags=["presets"], summary="One example spec",
             responses={**_ok("Spec", "the preset's spec"), **_error_responses(404, 422)})
    async def api_preset(preset_id: str) -> JSONResponse:
        spec = await run_in_threadpool(load_preset, preset_id)
        if spec is None:
            raise RequestError(f"no preset {preset_id[:60]!r}", 404)
        return JSONResponse(spec)

    # ------------------------------------------------------------------ page
    @app.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8")

    blocks_js = _script_value("shapetraceBlocks", schema.block_table())
    words_js = _script_value("shapetraceUI", page_words())

    @app.get("/blocks.js", include_in_schema=False)
    async def blocks() -> Response:
        # The spec's block types, described once in Python (core.spec.BLOCK_TYPES); the page's
        # words.js builds its editor's BLOCKS from them.
        return Response(blocks_js, media_type="text/javascript; charset=utf-8")

    @app.get("/words.js", include_in_schema=False)
    async def words() -> Response:
        # The page's words, in the one text table (core/words_ui.py); static/words.js makes
        # its UI from them.
        return Response(words_js, media_type="text/javascript; charset=utf-8")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    _install_openapi(app, limits)
    app.add_middleware(SecurityHeaders)
    # The body cap applies before anything reads the body; outermost, who may ask at all.
    app.add_middleware(BodyLimit, max_bytes=limits.max_body_bytes,
                       read_seconds=limits.read_seconds)
    app.add_middleware(HostGuard, hosts=hosts)
    return app


def _script_value(name: str, value: Any) -> str:
    """``window.<name> = <value as JSON>;``, a script the page loads. ``<``, ``>`` and ``&``
    are escaped (JSON's ``\\u003c``...) so that no text in it can close a ``<script>`` or open
    a comment, should it ever be inlined into the HTML; the value is the same."""
    data = json.dumps(value, ensure_ascii=False)
    for ch in "<>&":
        data = data.replace(ch, f"\\u{ord(ch):04x}")
    return f"window.{name} = {data};\n"


class Answer(Response):
    """An answer sent in ``ANSWER_CHUNK`` pieces, each after the client took the last (uvicorn
    waits for its write buffer to drain before each send), so a client that does not read
    holds one piece of socket buffer, not a copy of the answer. One that takes nothing for
    ``Limits.send_seconds`` is cut off by its connection (web/protocol.py aborts it, the one
    place that can drop the buffer; every send of this answer then returns at once). Answers
    waiting for their clients may hold at most ``Limits.max_pending_answer_bytes`` together;
    past it a new answer is a 503."""

    def __init__(self, content: bytes, *, media_type: str, limits: Limits,
                 pending: list[int]) -> None:
        super().__init__(content, media_type=media_type)
        self.limits = limits
        self.pending = pending

    async def __call__(self, scope, receive, send) -> None:
        size = len(self.body)
        if self.pending[0] + size > self.limits.max_pending_answer_bytes:
            busy = JSONResponse({"detail": "the server is busy sending other answers; try again "
                                           "in a moment"}, status_code=503,
                                headers={"Retry-After": "1"})
            await busy(scope, receive, send)
            return
        self.pending[0] += size
        try:
            view = memoryview(self.body)
            await send({"type": "http.response.start", "status": self.status_code,
                        "headers": self.raw_headers})
            for at in range(0, max(size, 1), ANSWER_CHUNK):
                await send({"type": "http.response.body", "body": bytes(view[at:at + ANSWER_CHUNK]),
                            "more_body": at + ANSWER_CHUNK < size})
        finally:
            self.pending[0] -= size


class SecurityHeaders:
    """Pure ASGI middleware (no per-request task, unlike ``@app.middleware``): the CSP and
    friends on every response; no-cache so an upgraded install never runs a stale page."""

    HEADERS = [(b"content-security-policy", CSP.encode()), (b"x-content-type-options", b"nosniff"),
               (b"referrer-policy", b"no-referrer"), (b"cache-control", b"no-cache")]

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in self.HEADERS if k not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


# ---------------------------------------------------------------------- OpenAPI


def _install_openapi(app: FastAPI, limits: Limits) -> None:
    from fastapi.openapi.utils import get_openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            from ..core.layers import REGISTRY

            doc = get_openapi(title=app.title, version=app.version, description=app.description,
                              routes=app.routes)
            comps = doc.setdefault("components", {}).setdefault("schemas", {})
            comps.update(schema.components(limits, sorted(REGISTRY)))
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


__all__ = ["create_app", "spec_text", "STATIC"]

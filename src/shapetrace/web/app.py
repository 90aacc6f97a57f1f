"""The calculator's server: a FastAPI app over the core, and the static page.

One source of truth: the page never computes a shape. Every edit posts the spec to
``POST /api/flow``, which parses it with ``core.spec.parse_spec`` and returns
``core.spec.flow(spec).to_dict()``, the same JSON as ``shapetrace summary --format json``.

Endpoints (schemas at ``/openapi.json``, components in ``web/schema.py``):

* ``POST /api/flow``: spec -> Report (200 also when a layer fails: ``error`` says which);
* ``POST /api/spec/parse``: a spec file's text (YAML/JSON) -> the spec as JSON;
* ``POST /api/spec/export?format=yaml|json``: spec -> a spec file's text;
* ``POST /api/table?format=markdown|csv&layout=nchw|hwc&lang=en|ko``: spec -> the flow
  table, rendered by ``shapetrace.render``;
* ``GET /api/layers``, ``/api/messages``, ``/api/presets``, ``/api/presets/{id}``.

Bad requests get a 4xx with ``{"detail": "<one line>"}``, never a 500: see ``limits``.
"""

from __future__ import annotations

import logging
from enum import Enum
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import __version__
from ..core.errors import ShapetraceError, SpecError
from . import schema
from .catalog import layer_catalog, messages
from .limits import DEFAULT_LIMITS, BodyLimit, Limits, RequestError, check_data, check_layer_args, decode_json
from .presets import list_presets, load_preset

log = logging.getLogger("shapetrace.web")

STATIC = Path(__file__).resolve().parent / "static"

# The page may load only what this server serves: no CDN, no inline script.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")


class TableFormat(str, Enum):
    markdown = "markdown"
    csv = "csv"


class Layout(str, Enum):
    nchw = "nchw"
    hwc = "hwc"


class Lang(str, Enum):
    en = "en"
    ko = "ko"


class SpecFormat(str, Enum):
    yaml = "yaml"
    json = "json"


def _error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    text = {400: "malformed JSON or an empty body", 404: "no such preset",
            413: "the request body is too large",
            422: "the spec is invalid (the message names the item), or exceeds a limit"}
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


def create_app(limits: Limits = DEFAULT_LIMITS) -> FastAPI:
    """A new app; ``limits`` bounds what one request may ask (tests shrink them)."""
    app = FastAPI(
        title="shapetrace calculator API",
        version=__version__,
        description="Exact PyTorch layer shapes for a declarative spec, computed by shapetrace's "
                    "core. The page at / is a client of this API.",
    )

    # ------------------------------------------------------------------ errors
    @app.exception_handler(RequestError)
    async def _request_error(_: Request, e: RequestError) -> JSONResponse:
        return JSONResponse({"detail": _one_line(e)}, status_code=e.status)

    @app.exception_handler(ShapetraceError)
    async def _spec_error(_: Request, e: ShapetraceError) -> JSONResponse:
        return JSONResponse({"detail": _one_line(e)}, status_code=422)

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

    # ------------------------------------------------------------------ helpers
    async def read_spec(request: Request) -> Any:
        """The body as a parsed, bounded Spec (core.spec.Spec)."""
        data = decode_json(await request.body())
        return await run_in_threadpool(_parse_bounded, data, limits)

    # ------------------------------------------------------------------ API
    @app.post("/api/flow", tags=["flow"], summary="The flow of a spec, row by row",
              openapi_extra=_json_body("Spec", "a spec: the same JSON as the CLI's spec files"),
              responses={**_ok("Report", "the flow (same JSON as `shapetrace summary --format "
                                         "json`); `error` is set when a layer fails"),
                         **_error_responses(400, 413, 422)})
    async def api_flow(request: Request) -> Response:
        body = await request.body()
        # One trip to a worker thread: decode, bound, parse, flow and encode (the event loop
        # stays free for other requests while a large spec is computed).
        return Response(await run_in_threadpool(_flow_json, body, limits),
                        media_type="application/json")

    @app.post("/api/spec/parse", tags=["spec"], summary="Read a spec file's text (YAML or JSON)",
              openapi_extra=_json_body("ParseRequest", "the text of a spec file"),
              responses={**_ok("Spec", "the spec as JSON, validated"),
                         **_error_responses(400, 413, 422)})
    async def api_parse(request: Request) -> JSONResponse:
        body = decode_json(await request.body())
        if not isinstance(body, dict) or not isinstance(body.get("text"), str):
            raise RequestError('send {"text": "<the spec file\'s text>", "format": "yaml"}')
        extra = sorted(set(body) - {"text", "format"})
        if extra:
            raise RequestError(f"unknown key {extra[0]!r} (takes: text, format)")
        fmt = body.get("format", "yaml")
        if fmt not in ("yaml", "json"):
            raise RequestError(f"format must be 'yaml' or 'json', got {fmt!r}"[:200])
        spec = await run_in_threadpool(_parse_text_bounded, body["text"], fmt == "json", limits)
        return JSONResponse(spec.to_dict())

    @app.post("/api/spec/export", tags=["spec"], summary="A spec as a spec file (YAML or JSON)",
              openapi_extra=_json_body("Spec", "a spec"),
              response_class=PlainTextResponse,
              responses={200: {"description": "the spec file's text: YAML, or JSON with format=json",
                               "content": {"application/yaml": {"schema": schema.ref("Spec")},
                                           "application/json": {"schema": schema.ref("Spec")}}},
                         **_error_responses(400, 413, 422)})
    async def api_export(request: Request, format: SpecFormat = Query(SpecFormat.yaml)) -> Response:
        spec = await read_spec(request)
        text = spec_text(spec.to_dict(), format.value)
        media = "application/json" if format is SpecFormat.json else "application/yaml"
        return PlainTextResponse(text, media_type=media + "; charset=utf-8")

    @app.post("/api/table", tags=["flow"], summary="The flow table as Markdown or CSV",
              openapi_extra=_json_body("Spec", "a spec"),
              response_class=PlainTextResponse,
              responses={**_ok({"type": "string"}, "the table, rendered by shapetrace.render",
                               ("text/markdown", "text/csv")),
                         **_error_responses(400, 413, 422)})
    async def api_table(request: Request, format: TableFormat = Query(TableFormat.markdown),
                        layout: Layout = Query(Layout.nchw),
                        lang: Lang = Query(Lang.en)) -> Response:
        spec = await read_spec(request)
        text = await run_in_threadpool(_table_text, spec, format.value, layout.value, lang.value)
        media = "text/csv" if format is TableFormat.csv else "text/markdown"
        return PlainTextResponse(text, media_type=media + "; charset=utf-8")

    @app.get("/api/layers", tags=["catalog"], summary="Every layer the core knows, with its arguments",
             responses=_ok({"type": "array", "items": schema.ref("LayerInfo")}, "the layer catalog"))
    async def api_layers() -> JSONResponse:
        return JSONResponse(layer_catalog())

    @app.get("/api/messages", tags=["catalog"], summary="The core's note texts in English and Korean",
             responses=_ok({"type": "object"}, "note templates and words per language"))
    async def api_messages() -> JSONResponse:
        return JSONResponse(messages())

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
    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    _install_openapi(app, limits)
    app.add_middleware(SecurityHeaders)
    # Outermost: the body cap applies before anything reads the body.
    app.add_middleware(BodyLimit, max_bytes=limits.max_body_bytes)
    return app


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


# ---------------------------------------------------------------------- work (in a thread)


def _parse_bounded(data: Any, limits: Limits):
    from ..core.spec import parse_spec

    check_data(data, limits)
    try:
        spec = parse_spec(data, source="spec")
    except ShapetraceError:
        raise
    except Exception as e:  # a gap in the core's validation: still the request's fault, say so
        log.exception("parse_spec raised %s instead of SpecError", type(e).__name__)
        raise RequestError(f"spec: invalid spec ({type(e).__name__}: {_one_line(e)[:200]})") from None
    check_layer_args(spec, limits)
    return spec


def _parse_text_bounded(text: str, json_only: bool, limits: Limits):
    from ..core.spec import parse_text

    data = parse_text(text, json_only=json_only, source="spec")
    return _parse_bounded(data, limits)


def _flow_json(body: bytes, limits: Limits) -> bytes:
    import json

    spec = _parse_bounded(decode_json(body), limits)
    return json.dumps(_flow_dict(spec), ensure_ascii=False, separators=(",", ":")).encode()


def _flow_dict(spec) -> dict[str, Any]:
    from ..core.spec import flow

    try:
        return flow(spec).to_dict()
    except ShapetraceError:
        raise
    except Exception as e:  # a bug in a layer rule must not take the page down with a 500
        log.exception("flow failed on a spec that passed validation")
        raise RequestError(f"shapetrace could not compute this spec ({type(e).__name__}: "
                           f"{_one_line(e)[:200]}); please report it") from None


def _table_text(spec, fmt: str, layout: str, lang: str) -> str:
    """The page's table as a file: shapetrace.render's Markdown or CSV with the worked-formula
    column, in the page's layout and language (what `shapetrace summary SPEC --format
    markdown --explain --layout hwc --lang ko` prints)."""
    from .. import render
    from ..core.spec import flow

    return render.render(flow(spec), fmt, layout=layout, lang=lang, explain=True)


def spec_text(data: dict[str, Any], fmt: str) -> str:
    """A spec as the text of a spec file: JSON indented, or YAML like examples/*.yaml,
    one line per layer (``- {type: Conv2d, out_channels: 32, kernel_size: 3}``)."""
    import json

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


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split())


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


__all__ = ["create_app", "spec_text", "SpecError"]

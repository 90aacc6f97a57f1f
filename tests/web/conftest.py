"""Fixtures for the web calculator: the app in-process, a live server on a free port,
and headless Debian Chromium driven by playwright (never `playwright install`; found or
installed by tests/web/chromium.py)."""

from __future__ import annotations

import re
import threading
import time
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "src" / "shapetrace" / "examples"
ARTIFACTS = ROOT / "artifacts" / "web"
EXPECTED_CONSOLE = re.compile(r"Failed to load resource: the server responded with a status of 4(00|22)")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def app():
    from shapetrace.web.app import create_app

    return create_app()


@pytest.fixture(scope="session")
def client(app):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # starlette's note that it prefers httpx2 to httpx
        from fastapi.testclient import TestClient
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


class LiveServer:
    """uvicorn serving ``app`` in a thread, on a socket bound to a free port."""

    def __init__(self, app):
        import uvicorn

        from shapetrace.cli.serve_cmd import bind_socket

        self.sock = bind_socket("127.0.0.1", 0)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]},
                                       daemon=True)

    def __enter__(self) -> "LiveServer":
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert self.thread.is_alive(), "the server thread died while starting"
            assert time.monotonic() < deadline, "the server did not start in 20 s"
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()


@pytest.fixture(scope="session")
def live_server(app):
    with LiveServer(app) as server:
        yield server


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="module")
def browser():
    # A missing browser is a failure, not a skip: these tests are the page's only check.
    # chromium() finds one, or installs Debian's package when it may (tests/web/chromium.py).
    from playwright.sync_api import sync_playwright

    from .chromium import chromium

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(viewport={"width": 1440, "height": 960}, accept_downloads=True)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    def on_console(m) -> None:
        # A 4xx from /api/flow for an invalid spec is the page working (it shows the message);
        # anything else logged as an error (a 404, a CSP violation, an exception) is a defect.
        if m.type == "error" and not EXPECTED_CONSOLE.search(m.text):
            errors.append(f"console {m.type}: {m.text}")

    pg.on("console", on_console)
    pg.errors = errors  # type: ignore[attr-defined]
    try:
        yield pg
    finally:
        context.close()
    # Nothing on the page may fail quietly: a CSP violation, a 404 or a script error.
    assert not errors, "\n".join(errors)

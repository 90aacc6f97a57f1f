"""``shapetrace serve``: the web calculator on a local port.

fastapi and uvicorn (the ``[web]`` extra) are imported inside the command, so that
``shapetrace layer`` does not pay for them.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import sys

import typer

from ..core.errors import ShapetraceError
from ._common import guard


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


SEND_BUFFER = 128 << 10


# An IP address, or a host name of RFC 1123 labels (ASCII letters, digits, hyphens; at most
# 253 characters), also with underscores as Docker/compose service names have them and the
# resolver takes. Anything else (non-ASCII, spaces, control characters) is refused before
# getaddrinfo, whose IDNA codec raises UnicodeError on some of it.
_LABEL = re.compile(r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)")


def check_host(host: str) -> None:
    """Refuse a ``--host`` that is neither an IP address nor a valid host name."""
    try:
        ipaddress.ip_address(host)
        return
    except ValueError:
        pass
    labels = host[:-1].split(".") if host.endswith(".") else host.split(".")
    if not host or len(host) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise ShapetraceError(f"--host must be an IP address or a host name (letters, digits, "
                              f"hyphens, underscores and dots), got {host!r}")


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening socket, so that a busy port or a bad host is a one-line error here
    (and ``--port 0`` picks a free port we can print)."""
    check_host(host)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as e:
        raise ShapetraceError(f"cannot resolve host {host!r}: {e.strerror}") from None
    family, _, _, _, addr = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit this. Without it a response written in two parts (headers,
    # body) waits for the client's delayed ACK: 40 ms on every request (measured).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    # And this: the kernel holds at most this much of an answer per connection (Linux doubles
    # it), instead of autotuning up to 4 MiB each for clients that never read (issue 12).
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
    try:
        sock.bind(addr)
    except OSError as e:
        sock.close()
        why = "is in use; pick another with --port" if e.errno == 98 else f"cannot be bound: {e.strerror}"
        raise ShapetraceError(f"{host}:{port} {why}") from None
    # 200 clients connecting at once must not overflow the accept queue (a dropped SYN is
    # retried after 1 s); the kernel caps this at net.core.somaxconn.
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


@guard
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on. The default serves "
                             "this machine only; any other address is reachable from the network."),
    port: int = typer.Option(8000, "--port", min=0, max=65535, help="Port (0: any free port)."),
    open_browser: bool = typer.Option(False, "--open", help="Open the page in the default browser."),
) -> None:
    """Serve the web calculator: build a model layer by layer and see every shape, formula,
    parameter count, MACs and receptive field as you type."""
    run_server(host, port, open_browser=open_browser)


def run_server(host: str, port: int, *, limits=None, workers: int | None = None,
               open_browser: bool = False) -> None:
    """What ``shapetrace serve`` runs, until Ctrl+C or SIGTERM. ``limits`` (default
    ``web.limits.DEFAULT_LIMITS``) and ``workers`` are the knobs the server tests shrink."""
    try:
        import uvicorn

        from ..web.app import create_app
        from ..web.limits import DEFAULT_LIMITS
        from ..web.protocol import HeadTimeoutH11Protocol
    except ImportError as e:
        raise ShapetraceError(f"the web calculator needs the [web] extra ({e.name} is missing): "
                              "pip install 'shapetrace[web]'") from None

    limits = limits or DEFAULT_LIMITS
    sock = bind_socket(host, port)
    bound_host, bound_port = sock.getsockname()[:2]
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    url = f"http://{shown}:{bound_port}/"
    if not _is_loopback(host):
        print(f"warning: listening on {host}, reachable from other machines on the network; "
              f"use --host 127.0.0.1 to serve this machine only", file=sys.stderr)
    print(f"shapetrace calculator at {url}  (Ctrl+C stops it)", flush=True)
    web_app = create_app(limits, hosts=[host], workers=workers)
    pool = web_app.state.pool
    _raise_open_files_limit()

    class Protocol(HeadTimeoutH11Protocol):
        head_seconds = limits.read_seconds
        send_seconds = limits.send_seconds

    # No limit_concurrency: uvicorn answers past it with a plain-text 503 and counts idle
    # connections against it. The app admits work itself (JSON 429/503, web/app.py); idle
    # connections are closed after timeout_keep_alive, or after read_seconds when they never
    # send a complete request head (HeadTimeoutH11Protocol).
    config = uvicorn.Config(web_app, log_level="warning", timeout_keep_alive=5, access_log=False,
                            http=Protocol, timeout_graceful_shutdown=3)
    import threading

    # The first worker process starts while the browser loads the page.
    threading.Thread(target=pool.warm, daemon=True).start()

    class Server(uvicorn.Server):
        async def shutdown(self, sockets=None) -> None:
            # Stop the workers first: requests waiting for one or computing answer 503 at
            # once, so the graceful shutdown below has nothing left to wait for.
            pool.close()
            await super().shutdown(sockets)

    server = Server(config)
    if open_browser:
        import webbrowser

        threading.Timer(0.5, webbrowser.open, args=(url,)).start()
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:  # Ctrl+C is how a server is stopped: not an error
        pass
    finally:
        pool.close()
        sock.close()


def _raise_open_files_limit() -> None:
    """Every connection is a file descriptor; the usual soft limit (1,024) would refuse
    connections long before memory runs short. Raise it to the hard limit."""
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard == resource.RLIM_INFINITY or hard > soft:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))
    except (ImportError, ValueError, OSError):
        pass

"""Who may talk to the calculator: the Host and Origin checks, as a pure ASGI middleware.

A server on 127.0.0.1 is still reachable from any web page the user opens: the page's
script can post to ``http://127.0.0.1:PORT`` (a "simple" cross-site request needs no
preflight), or a name it controls can be re-pointed at 127.0.0.1 (DNS rebinding), after
which the browser treats the calculator as that site's own and lets its script read the
answers. So:

* ``Host`` must name this server: ``localhost``, ``127.0.0.1``, ``[::1]`` or the ``--host``
  it was started with (an IP literal is never subject to DNS rebinding, so a server bound
  to every address, 0.0.0.0 or ::, also answers any IP literal), with no port or this
  server's port; anything else is a 403 (a rebinding page's Host is its own name);
* ``Origin``, when a browser sends one, must be this server's own ``http://<Host>``:
  a cross-site script's request is a 403 before it does any work;
* POSTs must say ``Content-Type: application/json`` (checked in ``app.work``: 415),
  which a cross-site form or a ``text/plain`` fetch cannot send without a preflight.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from .limits import plain_error

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")
_WILDCARDS = ("0.0.0.0", "::", "[::]", "")


def host_name(host: str) -> str:
    """How a host appears in a Host header: an IPv6 literal in brackets, lower case."""
    host = host.strip().lower()
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _is_ip_literal(name: str) -> bool:
    try:
        ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return False
    return True


def _split_host(value: str) -> tuple[str, str | None]:
    """'[::1]:8000' -> ('[::1]', '8000'); 'localhost' -> ('localhost', None)."""
    value = value.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return value, None
        rest = value[end + 1:]
        return value[:end + 1], rest[1:] if rest.startswith(":") else None
    name, sep, port = value.rpartition(":")
    return (name, port) if sep else (value, None)


class HostGuard:
    """Refuse requests whose Host is not this server's or whose Origin is another site's."""

    def __init__(self, app, hosts: Iterable[str] | None) -> None:
        self.app = app
        names = [host_name(h) for h in hosts] if hosts is not None else None
        self.any_ip = names is not None and any(n in _WILDCARDS for n in names)
        self.names = None if names is None else {*LOOPBACK_NAMES, *names}

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or ())
        host = headers.get(b"host", b"").decode("latin-1")
        problem = self._host_problem(host, scope)
        origin = headers.get(b"origin")
        if problem is None and origin is not None:
            o = origin.decode("latin-1").strip().lower()
            if o not in (f"http://{host.lower()}", f"https://{host.lower()}"):
                problem = (f"cross-site request from {o[:80]!r} refused: the calculator answers "
                           f"its own page only")
        if problem is not None:
            await plain_error(send, 403, problem)
            return
        await self.app(scope, receive, send)

    def _host_problem(self, host: str, scope) -> str | None:
        if self.names is None:  # an app made without hosts (tests, embedding): no Host check
            return None
        name, port = _split_host(host)
        server = scope.get("server") or (None, None)
        ok_name = name in self.names or (self.any_ip and _is_ip_literal(name))
        ok_port = port is None or (server[1] is not None and port == str(server[1]))
        if ok_name and ok_port:
            return None
        return (f"Host {host[:80]!r} is not served here: open the calculator at "
                f"http://127.0.0.1:{server[1]}/ (or the --host it was started with)")

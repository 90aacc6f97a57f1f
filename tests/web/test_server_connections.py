"""The real server's connections under attack (issue 12, items 3 and 6): idle connections
held open, connections that never send a request, answers too big, clients that do not
read their answers. Each test runs the server in a subprocess (tests/web/server_proc.py).
"""

from __future__ import annotations

import socket
import time

from .server_proc import SMALL, Server, parallel


def _closed_by_server(sock: socket.socket, within: float) -> bool:
    """True once the server closes ``sock`` (recv gives b"" or a reset) within ``within`` s."""
    sock.settimeout(within)
    try:
        while True:
            if not sock.recv(65536):
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


def test_100_idle_connections_do_not_lock_anyone_out():
    """100 connections open and silent: a normal request is still answered (JSON, not
    uvicorn's plain-text 503 for connections past its limit_concurrency)."""
    with Server(workers=1) as s:
        idle = [s.raw() for _ in range(100)]
        try:
            for path in ("/", "/api/presets"):
                assert s.get(path).status == 200
            a = s.post("/api/view", SMALL)
            assert a.status == 200 and a.json()["flow"]["error"] is None
            # The idle ones were not closed to make room: they are still open.
            assert not any(_closed_by_server(c, 0.01) for c in idle[:5])
        finally:
            for c in idle:
                c.close()


def test_a_connection_that_never_sends_a_request_is_closed():
    with Server(workers=1, read_seconds=1) as s:
        silent = s.raw()
        assert _closed_by_server(silent, 15)
        # A head that trickles in a byte at a time is closed too, though bytes keep coming.
        slow = s.raw()
        slow.sendall(f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{s.port}\r\n".encode())
        closed = False
        for _ in range(60):  # 12 s at most; read_seconds is 1
            try:
                slow.sendall(b"X")
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            if _closed_by_server(slow, 0.2):
                closed = True
                break
        assert closed, "a head sent a byte at a time held its connection for 12 s"
        silent.close()
        slow.close()
        assert s.get("/").status == 200


def _big_spec(depth: int, width: int, name_len: int = 190) -> dict:
    """Sequential blocks nested ``depth`` deep, ``width`` layers each, long names: a small
    request whose view (shapes, notes, graph, names repeated in qualified row names) is big."""
    layers: list = [{"type": "ReLU", "name": f"{i}" + "r" * name_len} for i in range(width)]
    for d in range(depth):
        layers = [{"type": "Sequential", "name": f"{d}" + "s" * name_len, "layers": layers},
                  *({"type": "ReLU", "name": f"{d}{i}" + "q" * name_len} for i in range(width))]
    return {"input": [1, 8], "layers": layers}


def test_an_answer_past_the_cap_is_a_clear_4xx():
    with Server(workers=1, max_answer_bytes=256 << 10) as s:
        a = s.post("/api/view", _big_spec(depth=12, width=3))  # 0.5 MB
        assert a.status == 422, (a.status, len(a.body))
        assert a.headers["content-type"] == "application/json"
        detail = a.json()["detail"]
        assert "the answer would be" in detail and "more than the limit of 262,144" in detail
        assert s.post("/api/view", SMALL).status == 200


def test_clients_that_do_not_read_do_not_grow_the_server():
    """8 clients ask for a 4.5 MB answer each and read nothing. The server holds at most
    max_pending_answer_bytes of answers for them (the others get 503 JSON), sends each in
    pieces as it is taken (the kernel holds 256 KiB of it: SO_SNDBUF), and aborts the
    connections whose answers are not taken for send_seconds."""
    spec = _big_spec(depth=30, width=6)
    with Server(workers=1, max_pending_answer_bytes=5 << 20, send_seconds=3) as s:
        size = len(s.post("/api/view", spec).body)
        assert 4 << 20 < size < 6 << 20, size
        base, sockets = s.rss_bytes(), s.open_sockets()
        readers = [s.raw_post("/api/view", spec, rcvbuf=4096) for _ in range(8)]
        peak = base
        for _ in range(80):  # 8 s: long enough for all 8 answers to be computed
            peak = max(peak, s.rss_bytes())
            time.sleep(0.1)
        # Without the bounds, each unread answer sits whole in the server's write buffer:
        # 8 x 4.5 MB. With them: one answer waiting for its client (5 MiB may wait), plus
        # one coming in from the worker (its pickle and the bytes: two copies).
        assert peak - base < 5 * size, (peak - base, size)
        # The server lets go of them though they never read: aborted past send_seconds
        # (a close would wait for the client to take the buffer), or idle after a 503.
        for _ in range(100):
            if s.open_sockets() <= sockets:
                break
            time.sleep(0.1)
        assert s.open_sockets() <= sockets, "connections of clients that do not read are kept"
        # Meanwhile, and after the non-readers were cut off, everyone else is served.
        answers = parallel([lambda: s.post("/api/flow", SMALL) for _ in range(4)], 30)
        assert [a.status for a in answers] == [200] * 4
        heads = []
        for c in readers:
            c.settimeout(10)
            heads.append(c.recv(4096).split(b"\r\n", 1)[0])
            assert _closed_by_server(c, 10)
            c.close()
        assert b"HTTP/1.1 503 Service Unavailable" in heads and b"HTTP/1.1 200 OK" in heads, heads

"""The real server (``shapetrace serve``'s ``run_server``: uvicorn, the head-deadline protocol,
worker processes) in a subprocess on loopback, for the tests that attack it: kill its
workers, hold idle connections, flood it, abandon requests, send hostile headers.

Raw sockets and http.client only, so that a test sees exactly what the server sends (a
plain-text 503 from uvicorn would be hidden by a retrying client).
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# A spec a worker answers at once, and one that keeps a worker busy for a known time (the
# "test-sleep-<N>ms" name works only under SHAPETRACE_WEB_TEST_TASKS=1, see web/tasks.py).
SMALL = {"input": [1, 1, 28, 28], "layers": [{"type": "Conv2d", "out_channels": 4, "kernel_size": 3}]}


# How the server exits on SIGTERM: uvicorn shuts down gracefully, then raises the signal again
# so that the process ends "killed by SIGTERM", as a service manager expects.
STOPPED = -signal.SIGTERM


def slow(seconds: float) -> dict:
    return {**SMALL, "layers": [{**SMALL["layers"][0], "name": f"test-sleep-{round(seconds * 1000)}ms"}]}


_SCRIPT = """
import json, sys
from shapetrace.cli.serve_cmd import run_server
from shapetrace.web.limits import Limits
run_server("127.0.0.1", 0, limits=Limits(**json.loads(sys.argv[1])), workers=int(sys.argv[2]))
"""


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float

    def json(self):
        return json.loads(self.body)


class Server:
    """``with Server(workers=2, max_waiting=4) as s:``; limits are ``web.limits.Limits``
    fields. ``stop()`` returns the server's stderr (the tests look for tracebacks in it)."""

    def __init__(self, workers: int = 2, **limits) -> None:
        self.workers = workers
        self.limits = limits
        self.proc: subprocess.Popen | None = None
        self._err = tempfile.TemporaryFile(mode="w+")  # a file, not a pipe nobody drains
        self.port = 0

    def __enter__(self) -> "Server":
        # MALLOC_MMAP_THRESHOLD_: every large block is its own mapping, returned when freed
        # (glibc otherwise raises the threshold after a free and keeps freed blocks in its
        # heap), so the server's RSS is the memory it holds, which a test can bound.
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "SHAPETRACE_WEB_TEST_TASKS": "1",
               "MALLOC_MMAP_THRESHOLD_": "131072",
               "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _SCRIPT, json.dumps(self.limits), str(self.workers)],
            stdout=subprocess.PIPE, stderr=self._err, text=True, env=env)
        line = self.proc.stdout.readline()  # printed once the socket is bound
        assert line.startswith("shapetrace calculator at http://127.0.0.1:"), line + self.stderr()
        self.port = int(line.split()[3].rsplit(":", 1)[1].strip("/"))
        # Ready when it answers, and its first worker has started (pool.warm).
        deadline = time.monotonic() + 60
        while True:
            try:
                if self.get("/api/presets").status == 200 and self.worker_pids():
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "the server did not start in 60 s"
            time.sleep(0.1)
        return self

    def __exit__(self, *exc) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._err.close()

    def stderr(self) -> str:
        self._err.seek(0)
        return self._err.read()

    # ------------------------------------------------------------------ control
    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> tuple[int, str]:
        """Signal the server; its exit code and stderr. A server that does not stop fails."""
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            raise AssertionError(f"the server did not stop within {timeout} s of signal {sig}")
        return self.proc.returncode, self.stderr()

    def worker_pids(self) -> list[int]:
        """The server's children (its worker processes), from /proc."""
        pids = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            state = stat.rsplit(")", 1)[1].split()[0]
            if ppid == self.proc.pid and state != "Z":
                pids.append(int(entry))
        return pids

    def open_sockets(self) -> int:
        """How many sockets the server process holds open (listening one included)."""
        n = 0
        for fd in os.listdir(f"/proc/{self.proc.pid}/fd"):
            try:
                n += os.readlink(f"/proc/{self.proc.pid}/fd/{fd}").startswith("socket:")
            except OSError:
                pass
        return n

    def rss_bytes(self) -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS")

    # ------------------------------------------------------------------ requests
    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None, timeout: float = 30) -> Answer:
        t0 = time.monotonic()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            data = r.read()
            return Answer(r.status, {k.lower(): v for k, v in r.getheaders()}, data,
                          time.monotonic() - t0)
        finally:
            conn.close()

    def get(self, path: str, **kw) -> Answer:
        return self.request("GET", path, **kw)

    def post(self, path: str, data, content_type: str | None = "application/json",
             **kw) -> Answer:
        body = data if isinstance(data, bytes) else json.dumps(data).encode()
        headers = {**({"Content-Type": content_type} if content_type else {}),
                   **kw.pop("headers", {})}
        return self.request("POST", path, body=body, headers=headers, **kw)

    def raw(self, rcvbuf: int | None = None) -> socket.socket:
        """A connection; ``rcvbuf`` set before connecting caps the window it offers, so that
        what it does not read stays in the server's buffers, not in this side's kernel."""
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        s.settimeout(30)
        s.connect(("127.0.0.1", self.port))
        return s

    def raw_post(self, path: str, data, rcvbuf: int | None = None) -> socket.socket:
        """A POST sent on a raw socket, its answer left unread (the caller abandons it)."""
        body = json.dumps(data).encode()
        s = self.raw(rcvbuf)
        s.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
                  f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
                  .encode() + body)
        return s


class Background:
    """Zero-argument calls, each in its own thread, started at once; ``wait()`` gives their
    results (or exceptions) in order. A call still running at the timeout is a hang: the
    test fails."""

    def __init__(self, calls) -> None:
        self.results: list = [None] * len(calls)
        self.threads = [threading.Thread(target=self._one, args=(i, c), daemon=True)
                        for i, c in enumerate(calls)]
        for t in self.threads:
            t.start()

    def _one(self, i, call) -> None:
        try:
            self.results[i] = call()
        except Exception as e:  # noqa: BLE001 - reported by the test's assertion
            self.results[i] = e

    def wait(self, timeout: float = 60) -> list:
        deadline = time.monotonic() + timeout
        for t in self.threads:
            t.join(max(0.0, deadline - time.monotonic()))
        hung = sum(t.is_alive() for t in self.threads)
        assert not hung, f"{hung} of {len(self.threads)} requests got no answer in {timeout} s"
        return self.results


def parallel(calls, timeout: float = 60) -> list:
    return Background(calls).wait(timeout)

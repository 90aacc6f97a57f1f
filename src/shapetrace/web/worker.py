"""Worker processes with a deadline: what keeps one request from holding the server.

The bounds in ``limits`` cap the size of a request, but not what the core does with one
number in it: a layer rule that loops over an output size (``AdaptiveAvgPool2d(output_size
=2147483647)`` builds two billion bins) would hold a thread, and Python threads cannot
be stopped. So each task (``tasks.run``) runs in a child process; one that passes its
deadline is killed and replaced, and the request gets a 422 saying so. Each child also
runs under an address-space limit, so a task that tries to allocate gigabytes fails
with MemoryError instead of swapping the machine.

Children are fresh interpreters (safe in a threaded server), started when first needed
and kept for later requests (a round trip costs well under a millisecond; see
docs/benchmarks.md, section 5).
"""

from __future__ import annotations

import atexit
import os
import queue
import subprocess
import sys
import threading
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

MEMORY_LIMIT = 2 << 30  # bytes of address space per child


def _child_main(read_fd: int, write_fd: int, memory_limit: int) -> None:
    """A child's main loop: receive (name, args), answer tasks.run(name, args)."""
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
    except (ImportError, ValueError, OSError):  # not Linux, or a lower hard limit: keep it
        pass
    from .tasks import run

    inbox = Connection(read_fd, writable=False)
    outbox = Connection(write_fd, readable=False)
    while True:
        try:
            msg = inbox.recv()
        except (EOFError, OSError, KeyboardInterrupt):
            return
        if msg is None:
            return
        name, args = msg
        try:
            outbox.send(run(name, args))
        except (BrokenPipeError, OSError):
            return


class _Worker:
    """A child interpreter (``python -m shapetrace.web.worker``), talking over two pipes.

    A fresh interpreter rather than multiprocessing's spawn: spawn re-imports the parent's
    ``__main__``, which breaks any script that starts the server without a main guard.
    """

    def __init__(self, memory_limit: int) -> None:
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        env = dict(os.environ)
        src = str(Path(__file__).resolve().parents[2])  # the directory holding shapetrace/
        env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "shapetrace.web.worker", str(to_child_r), str(from_child_w),
                 str(memory_limit)],
                pass_fds=(to_child_r, from_child_w), stdin=subprocess.DEVNULL, env=env)
        finally:
            os.close(to_child_r)
            os.close(from_child_w)
        self.outbox = Connection(to_child_w, readable=False)
        self.inbox = Connection(from_child_r, writable=False)

    def call(self, msg, timeout: float):
        """The task's answer; None when it did not come in time."""
        self.outbox.send(msg)
        if self.inbox.poll(timeout):
            return self.inbox.recv()
        return None

    def alive(self) -> bool:
        return self.proc.poll() is None and not self.inbox.closed

    def kill(self) -> None:
        try:
            self.proc.kill()
            self.proc.wait(5)
        except (OSError, subprocess.TimeoutExpired):
            pass
        finally:
            self.inbox.close()
            self.outbox.close()


@dataclass
class Outcome:
    ok: bool
    value: object = None
    status: int = 422
    message: str = ""


class Pool:
    """Up to ``size`` children; a task waits for a free one, runs with ``timeout`` seconds."""

    def __init__(self, size: int, timeout: float, memory_limit: int = MEMORY_LIMIT) -> None:
        self.size = size
        self.timeout = timeout
        self.memory_limit = memory_limit
        self._idle: queue.LifoQueue[_Worker] = queue.LifoQueue()
        self._count = 0
        self._lock = threading.Lock()
        self._closed = False

    def _acquire(self) -> _Worker:
        with self._lock:
            if self._closed:
                raise RuntimeError("worker pool is closed")
            try:
                return self._idle.get_nowait()
            except queue.Empty:
                if self._count < self.size:
                    self._count += 1
                    try:
                        return _Worker(self.memory_limit)
                    except BaseException:
                        self._count -= 1
                        raise
        return self._idle.get()  # all busy: wait for one

    def _release(self, w: _Worker | None) -> None:
        if w is not None and w.alive() and not self._closed:
            self._idle.put(w)
            return
        if w is not None:
            w.kill()
        with self._lock:
            self._count -= 1

    def run(self, name: str, *args) -> Outcome:
        """Blocking: call from a thread (FastAPI's threadpool), not the event loop."""
        w = self._acquire()
        try:
            answer = w.call((name, args), self.timeout)
        except (EOFError, OSError, BrokenPipeError):
            answer = ("died",)
        if answer is None or answer[0] == "died":
            w.kill()
            self._release(None)
            if answer is None:
                return Outcome(False, status=422, message=(
                    f"this spec took more than {self.timeout:g} s to compute and was stopped "
                    f"(a size in the millions or billions somewhere?)"))
            return Outcome(False, status=422, message="the computation failed (out of memory?)")
        self._release(w)
        if answer[0] == "ok":
            return Outcome(True, answer[1])
        return Outcome(False, status=answer[1], message=answer[2])

    def warm(self) -> None:
        """Start one child now (about 0.3 s), so the first request does not wait for it."""
        self._release(self._acquire())

    def close(self) -> None:
        with self._lock:
            self._closed = True
        while True:
            try:
                w = self._idle.get_nowait()
            except queue.Empty:
                break
            try:
                w.outbox.send(None)
            except OSError:
                pass
            w.kill()


_POOLS: dict[tuple[int, float], Pool] = {}
_POOLS_LOCK = threading.Lock()


def shared_pool(timeout: float, size: int | None = None) -> Pool:
    """One pool per (size, timeout) in this process, shared by every app, closed at exit."""
    size = size or max(1, min(4, os.cpu_count() or 1))
    with _POOLS_LOCK:
        pool = _POOLS.get((size, timeout))
        if pool is None:
            pool = _POOLS[(size, timeout)] = Pool(size, timeout)
        return pool


@atexit.register
def _close_all() -> None:
    for pool in list(_POOLS.values()):
        pool.close()


if __name__ == "__main__":  # the child: python -m shapetrace.web.worker READ_FD WRITE_FD MEMORY
    _child_main(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))

"""Worker processes with a deadline: what keeps one request from holding the server.

The bounds in ``limits`` cap the size of a request, but not what the core does with one
number in it: a layer rule that loops over an output size (``AdaptiveAvgPool2d(output_size
=2147483647)`` builds two billion bins) would hold a thread, and Python threads cannot
be stopped. So each task (``tasks.run``) runs in a child process; one that passes its
deadline is killed and replaced, and the request gets a 422 saying so. Each child also
runs under an address-space limit, so a task that tries to allocate gigabytes fails
with MemoryError instead of swapping the machine.

Children are started with ``spawn`` (safe in a threaded server), lazily, and kept for
later requests (a round trip costs well under a millisecond; see docs/benchmarks/web.md).
"""

from __future__ import annotations

import atexit
import multiprocessing as mp
import os
import queue
import threading
from dataclasses import dataclass

MEMORY_LIMIT = 2 << 30  # bytes of address space per child


def _child(conn, memory_limit: int) -> None:
    """A child's main loop: receive (name, args), answer tasks.run(name, args)."""
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
    except (ImportError, ValueError, OSError):  # not Linux, or a lower hard limit: keep it
        pass
    from .tasks import run

    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError, KeyboardInterrupt):
            return
        if msg is None:
            return
        name, args = msg
        try:
            conn.send(run(name, args))
        except (BrokenPipeError, OSError):
            return


class _Worker:
    def __init__(self, ctx, memory_limit: int) -> None:
        self.conn, child_conn = ctx.Pipe()
        self.proc = ctx.Process(target=_child, args=(child_conn, memory_limit), daemon=True,
                                name="shapetrace-web-worker")
        self.proc.start()
        child_conn.close()

    def call(self, msg, timeout: float):
        """The task's answer; None when it did not come in time (the child is then killed)."""
        self.conn.send(msg)
        if self.conn.poll(timeout):
            return self.conn.recv()
        return None

    def alive(self) -> bool:
        return self.proc.is_alive() and not self.conn.closed

    def kill(self) -> None:
        try:
            self.proc.kill()
            self.proc.join(5)
        finally:
            self.conn.close()


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
        self._ctx = mp.get_context("spawn")
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
                        return _Worker(self._ctx, self.memory_limit)
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

    def close(self) -> None:
        with self._lock:
            self._closed = True
        while True:
            try:
                w = self._idle.get_nowait()
            except queue.Empty:
                break
            try:
                w.conn.send(None)
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

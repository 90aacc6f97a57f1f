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
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

MEMORY_LIMIT = 2 << 30  # bytes of address space per child
# A fresh interpreter importing the core takes 0.3 s on a quiet machine and several seconds
# on a loaded one; that start-up is not the request's computation, so it has its own bound.
START_SECONDS = 60.0
READY = ("ready",)


def _child_main(read_fd: int, write_fd: int, memory_limit: int) -> None:
    """A child's main loop: receive (name, args), answer tasks.run(name, args)."""
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
    except (ImportError, ValueError, OSError):  # not Linux, or a lower hard limit: keep it
        pass
    from .tasks import preload, run

    inbox = Connection(read_fd, writable=False)
    outbox = Connection(write_fd, readable=False)
    preload()
    try:
        outbox.send(READY)  # the parent's deadline for a task starts after this, not at exec
    except (BrokenPipeError, OSError):
        return
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

    def wait_ready(self, timeout: float, give_up) -> bool:
        """Wait for the child's READY (sent once its imports are done); False when it died,
        did not come within ``timeout``, or ``give_up()`` became true meanwhile."""
        deadline = time.monotonic() + timeout
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0 or give_up():
                    return False
                if self.inbox.poll(min(left, _SLICE)):
                    return self.inbox.recv() == READY
        except (EOFError, OSError):
            return False

    def alive(self) -> bool:
        return self.proc.poll() is None and not self.inbox.closed

    def killed_from_outside(self) -> bool:
        """Ended by SIGKILL or SIGTERM, which no task sends itself (a task that fails
        answers an error; one out of memory raises MemoryError under the rlimit)."""
        try:
            code = self.proc.wait(1)
        except subprocess.TimeoutExpired:
            return False
        return code in (-9, -15)

    def kill(self) -> None:
        try:
            self.proc.kill()
            self.proc.wait(5)
        except (OSError, subprocess.TimeoutExpired):
            pass
        finally:
            for c in (self.inbox, self.outbox):
                try:
                    c.close()
                except OSError:
                    pass


@dataclass
class Outcome:
    ok: bool
    value: object = None
    status: int = 422
    message: str = ""


# How often a waiting or computing request looks at its cancel flag (the client gone, the
# server stopping): the cost of an abandoned request is at most this much more work.
_SLICE = 0.05


class Pool:
    """Up to ``size`` children; a task waits (at most ``max_wait`` s) for a free one, then runs
    with ``timeout`` seconds.

    Every change to the set of children (one freed, one dead, one killed) wakes the waiters
    under one condition variable, so a waiter either gets an idle child or starts a new one:
    a child that dies (killed from outside, out of memory) never leaves a request waiting on
    a child that will not come back. An idle child is checked before it is handed out.
    """

    def __init__(self, size: int, timeout: float, memory_limit: int = MEMORY_LIMIT,
                 max_wait: float = 10.0) -> None:
        self.size = size
        self.timeout = timeout
        self.memory_limit = memory_limit
        self.max_wait = max_wait
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
        self._count = 0  # children started and not yet dead: idle, busy, or starting
        self._admitted = 0  # requests between admit() and leave(): running or waiting
        self._cond = threading.Condition()
        self._closed = False

    # ------------------------------------------------------------------ admission
    def admit(self, max_waiting: int) -> bool:
        """Take a place for one request if fewer than ``size + max_waiting`` hold one;
        a False is the caller's 429. Non-blocking, so the event loop may call it."""
        with self._cond:
            if self._closed or self._admitted >= self.size + max_waiting:
                return False
            self._admitted += 1
            return True

    def leave(self) -> None:
        with self._cond:
            self._admitted -= 1

    # ------------------------------------------------------------------ children
    def _acquire(self, cancel: threading.Event | None) -> _Worker | Outcome:
        deadline = time.monotonic() + self.max_wait

        def give_up() -> bool:
            return self._closed or (cancel is not None and cancel.is_set())

        while True:
            got = self._take_or_reserve(cancel, deadline)
            if got is not None:
                return got
            try:
                w = _Worker(self.memory_limit)  # outside the lock: others may go on meanwhile
            except BaseException:
                with self._cond:
                    self._count -= 1
                    self._cond.notify()
                raise
            ready = w.wait_ready(START_SECONDS, give_up)
            with self._cond:
                if ready and not self._closed:
                    self._busy.add(w)
                    return w
                self._forget(w)
            if self._closed:
                return _STOPPING
            if cancel is not None and cancel.is_set():
                return _GONE
            if time.monotonic() >= deadline:
                return Outcome(False, status=503, message=(
                    "the server could not start a worker process in time; try again"))
            # The new child died while starting (killed from outside): start another.

    def _take_or_reserve(self, cancel: threading.Event | None, deadline: float
                         ) -> _Worker | Outcome | None:
        """An idle live child, an Outcome (stopping, cancelled, waited too long), or None: a
        place for a new child is reserved (counted) and the caller starts it."""
        with self._cond:
            while True:
                if self._closed:
                    return _STOPPING
                while self._idle:
                    w = self._idle.pop()
                    if w.alive():
                        self._busy.add(w)
                        return w
                    self._forget(w)  # died while idle: never hand it out
                if self._count < self.size:
                    self._count += 1
                    return None
                if cancel is not None and cancel.is_set():
                    return _GONE
                left = deadline - time.monotonic()
                if left <= 0:
                    return Outcome(False, status=503, message=(
                        f"the server is busy: no worker was free within {self.max_wait:g} s; "
                        f"try again"))
                self._cond.wait(min(left, _SLICE * 4))

    def _forget(self, w: _Worker) -> None:
        """With the lock held: ``w`` is dead or to be killed; its place is free for a new one."""
        w.kill()
        self._busy.discard(w)
        self._count -= 1
        self._cond.notify()

    def _release(self, w: _Worker, keep: bool) -> None:
        with self._cond:
            if keep and w.alive() and not self._closed:
                self._busy.discard(w)
                self._idle.append(w)
                self._cond.notify()
            else:
                self._forget(w)

    def _call(self, w: _Worker, msg, cancel: threading.Event | None):
        """The child's answer; None past the deadline, _GONE when cancelled, ("died",) when
        the child is gone."""
        try:
            w.outbox.send(msg)
            deadline = time.monotonic() + self.timeout
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                if w.inbox.poll(min(left, _SLICE)):
                    return w.inbox.recv()
                if cancel is not None and cancel.is_set():
                    return _GONE
                if self._closed:
                    return _STOPPING
        except (EOFError, OSError):
            return ("died",)

    def run(self, name: str, *args, cancel: threading.Event | None = None) -> Outcome:
        """Blocking: call from a thread (FastAPI's threadpool), not the event loop. ``cancel``
        set (the client has gone) stops the wait, or kills the child computing the task."""
        for attempt in (0, 1):
            w = self._acquire(cancel)
            if isinstance(w, Outcome):
                return w
            answer = self._call(w, (name, args), cancel)
            if isinstance(answer, Outcome):  # cancelled or stopping: the child is not reusable
                self._release(w, keep=False)
                return answer
            if answer is not None and answer[0] == "died" and attempt == 0 \
                    and w.killed_from_outside() and not self._closed:
                # Killed by a signal (between the liveness check and the send, or while
                # computing), not by its own task failing: a fresh child runs the task once more.
                self._release(w, keep=False)
                continue
            break
        if answer is None or answer[0] == "died":
            self._release(w, keep=False)
            if self._closed:
                return _STOPPING
            if answer is None:
                return Outcome(False, status=422, message=(
                    f"this spec took more than {self.timeout:g} s to compute and was stopped "
                    f"(a size in the millions or billions somewhere?)"))
            return Outcome(False, status=422, message="the computation failed (out of memory?)")
        self._release(w, keep=True)
        if answer[0] == "ok":
            return Outcome(True, answer[1])
        return Outcome(False, status=answer[1], message=answer[2])

    def warm(self) -> None:
        """Start one child now (about 0.3 s), so the first request does not wait for it."""
        w = self._acquire(None)
        if not isinstance(w, Outcome):
            self._release(w, keep=True)

    def close(self) -> None:
        """Stop every child, idle or busy; waiting and running requests answer 503."""
        with self._cond:
            self._closed = True
            workers = [*self._idle, *self._busy]
            self._idle.clear()
            self._cond.notify_all()
        for w in workers:
            try:
                w.outbox.send(None)
            except OSError:
                pass
            w.kill()


_STOPPING = Outcome(False, status=503, message="the server is stopping")
# The client has gone: nobody reads this answer, but the handler still returns one.
_GONE = Outcome(False, status=499, message="the client closed the connection")


_POOLS: dict[tuple[int, float, float], Pool] = {}
_POOLS_LOCK = threading.Lock()


def default_size() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def shared_pool(timeout: float, size: int | None = None, max_wait: float = 10.0) -> Pool:
    """One pool per (size, timeout, max_wait) in this process, shared by every app, closed
    at exit."""
    size = size or default_size()
    with _POOLS_LOCK:
        pool = _POOLS.get((size, timeout, max_wait))
        if pool is None:
            pool = _POOLS[(size, timeout, max_wait)] = Pool(size, timeout, max_wait=max_wait)
        return pool


@atexit.register
def _close_all() -> None:
    for pool in list(_POOLS.values()):
        pool.close()


if __name__ == "__main__":  # the child: python -m shapetrace.web.worker READ_FD WRITE_FD MEMORY
    _child_main(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))

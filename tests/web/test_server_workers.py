"""The real server's worker pool under attack (issue 12, items 1, 2, 3 and 5): busy workers
killed while others wait, abandoned requests, a full queue, a dead idle worker. Each test
runs ``shapetrace serve``'s server in a subprocess on loopback (tests/web/server_proc.py).

"Answered" means an HTTP answer with a JSON body; a request that gets none within the
bound of ``Background.wait`` is a hang and fails the test.
"""

from __future__ import annotations

import os
import signal
import time

from .server_proc import SMALL, STOPPED, Background, Server, parallel, slow


def _kill(pids) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _wait_for_workers(s: Server, n: int, timeout: float = 30) -> list[int]:
    deadline = time.monotonic() + timeout
    while len(pids := s.worker_pids()) < n:
        assert time.monotonic() < deadline, f"{n} workers did not start in {timeout} s"
        time.sleep(0.05)
    return pids


def test_killed_busy_workers_leave_no_request_waiting_forever():
    """6 slow requests on 2 workers (2 compute, 4 wait); both workers are killed with -9.
    Every request is answered (the pool starts new workers and wakes the waiters; the two
    killed mid-task run once more), and SIGTERM then stops the server."""
    with Server(workers=2, max_seconds=20, max_wait_seconds=30) as s:
        work = Background([lambda: s.post("/api/flow", slow(1)) for _ in range(6)])
        pids = _wait_for_workers(s, 2)
        time.sleep(0.5)  # both computing (their task sleeps 1 s)
        _kill(pids)
        answers = work.wait(45)
        assert all(not isinstance(a, Exception) for a in answers), answers
        assert [a.status for a in answers] == [200] * 6, [a.body[:200] for a in answers]
        assert all(a.json()["rows"][0]["output_shapes"] == [[1, 4, 26, 26]] for a in answers)
        assert not set(pids) & set(s.worker_pids())  # the killed ones were replaced
        code, err = s.stop(signal.SIGTERM)
    assert code == STOPPED and "Traceback" not in err, err


def test_sigterm_stops_a_server_with_requests_waiting():
    """SIGTERM with requests computing and waiting: the server stops, and each request is
    answered (503 JSON) or its connection closed, none left hanging."""
    with Server(workers=1, max_seconds=20, max_wait_seconds=30) as s:
        work = Background([lambda: s.post("/api/flow", slow(5)) for _ in range(3)])
        time.sleep(1.0)
        code, err = s.stop(signal.SIGTERM)
        answers = work.wait(30)
    assert code == STOPPED and "Traceback" not in err, err
    for a in answers:
        assert isinstance(a, OSError) or (a.status == 503 and "stopping" in a.json()["detail"]), a


def test_abandoned_requests_are_cancelled():
    """20 slow requests fill the queue (1 computing, 19 waiting: the next one is a 429); their
    clients give up. Their places free up at once, not one per 2 s as their work would end:
    a valid request is admitted, and then 10 at once."""
    with Server(workers=1, max_seconds=20, max_wait_seconds=60, max_waiting=19) as s:
        socks = [s.raw_post("/api/flow", slow(2)) for _ in range(20)]
        time.sleep(0.5)
        assert s.post("/api/flow", SMALL).status == 429  # the queue is full
        for sock in socks:
            sock.close()
        for _ in range(50):  # 5 s at most, of the 40 s the abandoned work would take
            a = s.post("/api/flow", SMALL)
            if a.status != 429:
                break
            time.sleep(0.1)
        assert a.status == 200 and a.json()["error"] is None, a.body
        answers = parallel([lambda: s.post("/api/flow", SMALL) for _ in range(10)], 30)
        assert [a.status for a in answers] == [200] * 10, [a.status for a in answers]


def test_a_full_queue_answers_429_json():
    """1 worker and room for 2 waiting: of 8 slow requests at once, the ones past the queue
    get 429 with a JSON reason and Retry-After; none gets a 5xx or plain text."""
    with Server(workers=1, max_seconds=20, max_wait_seconds=30, max_waiting=2) as s:
        answers = parallel([lambda: s.post("/api/flow", slow(1.5)) for _ in range(8)], 45)
        assert all(not isinstance(a, Exception) for a in answers), answers
        statuses = sorted(a.status for a in answers)
        assert set(statuses) <= {200, 429} and 429 in statuses and 200 in statuses, statuses
        for a in answers:
            assert a.headers["content-type"] == "application/json"
            if a.status == 429:
                assert "requests already wait" in a.json()["detail"]
                assert a.headers["retry-after"] == "1"
        # The queue frees up: a request after them is admitted.
        assert s.post("/api/flow", SMALL).status == 200


def test_a_dead_idle_worker_is_never_handed_out():
    """The idle worker killed between requests: the next request gets a live one."""
    with Server(workers=1) as s:
        assert s.post("/api/flow", SMALL).status == 200
        pids = s.worker_pids()
        _kill(pids)
        deadline = time.monotonic() + 10
        while set(pids) & set(s.worker_pids()):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        for _ in range(3):
            a = s.post("/api/flow", SMALL)
            assert a.status == 200, a.body

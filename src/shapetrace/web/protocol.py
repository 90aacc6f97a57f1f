"""uvicorn's HTTP/1.1 protocol (h11) with a deadline for a request's head.

uvicorn closes a keep-alive connection that stays quiet after a response, but a connection
that never sends a request, or sends its headers a byte at a time, is held as long as the
client likes: enough of them took every slot of ``limit_concurrency`` and locked everyone
out. Here each connection must deliver a complete request head within ``head_seconds`` of
opening (and of its previous response); otherwise it is closed. The body has its own
deadline (``limits.BodyLimit``).

A client that stops reading its answer is the same attack the other way round: the
transport's buffer fills, writing pauses, and a plain ``close()`` waits for the buffer to
drain, which it never does. So a connection whose writing stays paused for ``send_seconds``
is aborted (its buffer dropped at once): the one deadline for a slow reader, as the app's
``Answer`` only waits for each piece to be taken (an aborted connection's sends return).

Imports uvicorn: used by ``shapetrace serve`` only.
"""

from __future__ import annotations

import asyncio

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

HEAD_SECONDS = 10.0
SEND_SECONDS = 10.0


class HeadTimeoutH11Protocol(H11Protocol):
    head_seconds = HEAD_SECONDS
    send_seconds = SEND_SECONDS

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_timer()
        self._disarm_send_timer()
        super().connection_lost(exc)

    def pause_writing(self) -> None:
        super().pause_writing()
        self._disarm_send_timer()
        self._send_timer = self.loop.call_later(self.send_seconds, self._send_timeout)

    def resume_writing(self) -> None:
        self._disarm_send_timer()
        super().resume_writing()

    def _disarm_send_timer(self) -> None:
        timer = getattr(self, "_send_timer", None)
        if timer is not None:
            timer.cancel()
            self._send_timer = None

    def _send_timeout(self) -> None:
        self._send_timer = None
        self.transport.abort()  # close() would wait for a buffer the client never takes

    def _arm_head_timer(self) -> None:
        self._disarm_head_timer()
        # The cycle now current: a request whose head is complete replaces it.
        waiting_on = self.cycle
        self._head_timer = self.loop.call_later(self.head_seconds, self._head_timeout, waiting_on)

    def _disarm_head_timer(self) -> None:
        timer = getattr(self, "_head_timer", None)
        if timer is not None:
            timer.cancel()
            self._head_timer = None

    def _head_timeout(self, waiting_on) -> None:
        self._head_timer = None
        if self.cycle is not waiting_on or self.transport.is_closing():
            return  # a request arrived in time: its response re-arms the timer
        if self.cycle is not None and not self.cycle.response_complete:
            return  # a request (pipelined) is being answered: the same
        try:
            self.conn.send(h11.ConnectionClosed())
        except h11.LocalProtocolError:
            pass
        self.transport.close()

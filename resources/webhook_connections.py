"""How long a connection to the webhook receiver may take to say what it wants.

uvicorn's h11 server closes a connection left idle after a response (`timeout_keep_alive`), but
not one that never finishes its first request head: a client that connects and says nothing, or
sends its headers a byte at a time (slow loris), would hold its socket for as long as it likes,
and enough of them would leave no file descriptor for Huma. `head_deadline_protocol` gives every
request head a deadline, from the moment the connection opens (or the previous response ends) to
the last byte of the head; a head still incomplete then closes the connection. The body has a
deadline of its own in the app (`resources.webhook_receiver`), answered 408.
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.h11_impl import H11Protocol

#: The longest a request head may take to arrive: Huma's deliveries carry a few short headers.
HEAD_SECONDS = 10.0


def head_deadline_protocol(seconds: float = HEAD_SECONDS) -> type[H11Protocol]:
    """uvicorn's h11 protocol with a deadline of `seconds` on each request head (for
    `uvicorn.Config(http=...)`)."""

    class HeadDeadlineH11(H11Protocol):
        _head_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def handle_events(self) -> None:
            super().handle_events()
            if self.cycle is not None and not self.cycle.response_complete:
                self._disarm()  # the head is in: the app's body deadline takes over

        def on_response_complete(self) -> None:
            self._arm()  # before: a pipelined head the super call reads disarms it again
            super().on_response_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            self._disarm()
            self._head_timer = self.loop.call_later(seconds, self._head_too_slow)

        def _disarm(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _head_too_slow(self) -> None:
            self._head_timer = None
            waiting = self.cycle is None or self.cycle.response_complete
            if waiting and not self.transport.is_closing():
                self.transport.close()

    return HeadDeadlineH11

"""Fault injection: throttling, server errors, slow answers and dropped connections at set rates.

`FaultInjector.draw()` rolls the dice for one request; `FaultMiddleware` acts on the outcome for
whole HTTP requests, and an emulator that nests requests (Graph's `$batch`) calls `draw()` per
sub-request itself. What a throttled or failed answer looks like is the emulator's business
(`Emulator.fault_response`): each service has its own error envelope.

Besides the dice, a hold (`faults.hold_after_writes`) stops answering after a set number of
writes, so that a test can kill its client at a known point instead of guessing a moment.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import random
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from emulators.core import Emulator
    from emulators.settings import FaultSettings


class FaultKind(enum.StrEnum):
    THROTTLE = "throttle"
    ERROR = "error"
    DROP_BEFORE = "drop_before"
    DROP_AFTER = "drop_after"
    SLOW = "slow"
    HOLD = "hold"


@dataclasses.dataclass(frozen=True)
class Fault:
    """The outcome of one roll: what goes wrong (if anything) and how long to stall first."""

    kind: FaultKind
    #: The status of an ERROR fault; 429 for THROTTLE.
    status: int = 0
    #: Real seconds to wait before answering.
    delay: float = 0.0


class FaultInjector:
    """Draws faults for requests according to the emulator's live `FaultSettings`."""

    def __init__(self, settings: FaultSettings) -> None:
        self._settings = settings
        self._seed = settings.seed
        self._random = random.Random(settings.seed)
        self._hold_after = settings.hold_after_writes
        self._writes_through = 0
        #: API requests being held right now (see `FaultSettings.hold_after_writes`).
        self.held = 0

    def holds(self, method: str) -> bool:
        """Whether a request with `method` is to be held; counts the writes let through."""
        limit = self._settings.hold_after_writes
        if limit != self._hold_after:  # changed through the admin endpoint: count afresh
            self._hold_after = limit
            self._writes_through = 0
        if limit is None:
            return False
        if self._writes_through >= limit:
            return True
        if method not in _READ_METHODS:
            self._writes_through += 1
        return False

    def holding(self) -> bool:
        """Whether the hold is still on (held requests are released when it is lifted)."""
        limit = self._settings.hold_after_writes
        return limit == self._hold_after and limit is not None

    def draw(self) -> Fault | None:
        """One roll of the dice; None when the request goes through untouched."""
        s = self._settings
        if s.seed != self._seed:  # reseeded through the admin endpoint
            self._seed = s.seed
            self._random = random.Random(s.seed)
        if not (s.throttle_rate or s.error_rate or s.drop_rate or s.slow_rate):
            return None
        roll = self._random.random
        delay = s.slow_seconds if roll() < s.slow_rate else 0.0
        outcome = roll()
        if outcome < s.throttle_rate:
            return Fault(FaultKind.THROTTLE, 429, delay)
        outcome -= s.throttle_rate
        if outcome < s.error_rate:
            return Fault(FaultKind.ERROR, self._random.choice(s.error_statuses), delay)
        outcome -= s.error_rate
        if outcome < s.drop_rate:
            phase = s.drop_phase
            if phase == "either":
                phase = "before" if roll() < 0.5 else "after"
            kind = FaultKind.DROP_BEFORE if phase == "before" else FaultKind.DROP_AFTER
            return Fault(kind, 0, delay)
        return Fault(FaultKind.SLOW, 0, delay) if delay else None


_READ_METHODS = frozenset({"GET", "HEAD"})
#: How often a held request looks whether the hold was lifted, in seconds.
_HOLD_POLL_SECONDS = 0.05

#: The scope key under which the middleware records the fault it applied (read by the request log).
FAULT_SCOPE_KEY = "emulator.fault"


class FaultMiddleware:
    """ASGI middleware applying the injector's faults to the emulator's API requests."""

    def __init__(self, app: ASGIApp, emulator: Emulator) -> None:
        self._app = app
        self._emulator = emulator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        injector = self._emulator.faults
        if self._emulator.hold_applies(scope["path"]) and injector.holds(scope["method"]):
            scope[FAULT_SCOPE_KEY] = FaultKind.HOLD.value
            if not await _held(injector, receive):
                await _start_and_abandon(send)
            return
        if not self._emulator.faults_apply(scope["path"]):
            await self._app(scope, receive, send)
            return
        fault = injector.draw()
        if fault is None:
            await self._app(scope, receive, send)
            return
        scope[FAULT_SCOPE_KEY] = fault.kind.value
        if fault.delay:
            await asyncio.sleep(fault.delay)
        if fault.kind in (FaultKind.THROTTLE, FaultKind.ERROR):
            response = self._emulator.fault_response(fault, scope)
            await response(scope, receive, send)
        elif fault.kind is FaultKind.DROP_BEFORE:
            await _start_and_abandon(send)
        elif fault.kind is FaultKind.DROP_AFTER:
            await self._app(scope, receive, _TruncatingSend(send))
        else:
            await self._app(scope, receive, send)


async def _held(injector: FaultInjector, receive: Receive) -> bool:
    """Hold a request unprocessed: True once its client went away, False when the hold is lifted."""
    injector.held += 1
    try:
        # The request's body comes first; the message after it is the client's disconnect.
        message = asyncio.ensure_future(receive())
        while True:
            done, _ = await asyncio.wait({message}, timeout=_HOLD_POLL_SECONDS)
            if done:
                if message.result()["type"] == "http.disconnect":
                    return True
                message = asyncio.ensure_future(receive())
            elif not injector.holding():
                message.cancel()
                return False
    finally:
        injector.held -= 1


async def _start_and_abandon(send: Send) -> None:
    # Returning after a started, unfinished response makes uvicorn close the connection: the
    # client sees a status line and then EOF, as when a proxy or the service dies mid-answer.
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", b"512")],
        }
    )


class _TruncatingSend:
    """Passes the status and headers on, then half the body, then stops: the answer is lost."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self._body_sent = False

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            await _start_and_abandon(self._send)
        elif message["type"] == "http.response.body" and not self._body_sent:
            self._body_sent = True
            body = message.get("body", b"")
            await self._send(
                {"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True}
            )

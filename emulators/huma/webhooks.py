"""Huma's profile webhooks, as the emulator sends them (api-facts A.6).

Once `webhooks.url` is set, every change to a stored user (through the API's `PATCH`/`POST
/users` or through a control route) is sent there as a delivery: `users-create` for a new user,
`users-update` for a changed one, `users-delete` for a deleted one, each naming that one user;
`POST /_emulator/webhooks/export` sends `users-export` with every user. Loading a state sends
nothing (it is not a change Huma would report).

A delivery is `POST <url>` with the JSON body `{"topic": …, "users": [user, …]}` (each user with
`id`, `email` and the supported fields), the headers `huma-topic` (the topic) and, with a
`webhooks.secret`, `huma-hmac-sha256` (lower-case hex of the HMAC-SHA256 of the body, the
secret's UTF-8 bytes as key; Huma's page does not say which encoding, hex is the common one),
and with a `webhooks.token` `Authorization: Bearer <token>`.

One background thread sends them in order; the request that made the change only queues it.
The queue holds at most `webhooks.queue_size` deliveries; one more is recorded as `dropped`.
A delivery that gets no answer, or 408, 429 or a 5xx, is tried again with the same body after
`backoff_initial_seconds`, doubling up to `backoff_max_seconds` (emulated seconds: a frozen clock
holds the retry until the test moves it on), at most `max_attempts` times in all, then `failed`;
another 4xx is final (`refused`). The receiver's certificate is verified against `ca_file` (the
emulators' local CA in tests), or the system's CAs; the URL must be `https`.

`GET /_emulator/webhooks` lists the deliveries (topic, user ids, the body's SHA-256, status,
attempts, last answer or error); `DELETE /_emulator/webhooks` forgets them all, the waiting ones
too (a test's reset).
"""

from __future__ import annotations

import collections
import dataclasses
import hashlib
import hmac
import itertools
import ssl
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson
from starlette.responses import Response
from starlette.routing import Route

from emulators.core import JSONResponse
from emulators.settings import EmulatorSettings

if TYPE_CHECKING:
    from starlette.requests import Request

    from emulators.clock import Clock
    from emulators.huma.app import HumaEmulator

TOPIC_CREATE, TOPIC_UPDATE, TOPIC_DELETE, TOPIC_EXPORT = (
    "users-create",
    "users-update",
    "users-delete",
    "users-export",
)
_RETRYABLE = frozenset({408, 429})
#: The user properties a delivery carries (Huma's supported fields, plain values).
_USER_FIELDS = ("id", "email", "givenName", "familyName", "phone", "employmentId", "homeAddress")


@dataclasses.dataclass
class WebhookSettings:
    """Where the emulator sends its webhooks, and how hard it tries."""

    #: The receiver (`https` only); None: no webhook is registered, nothing is sent.
    url: str | None = None
    #: The webhook's client secret: deliveries are signed with it (`huma-hmac-sha256`).
    secret: str | None = None
    #: The webhook's access token, sent as `Authorization: Bearer …`.
    token: str | None = None
    #: CA bundle the receiver's certificate is verified with; None: the system's CAs.
    ca_file: str | None = None
    max_attempts: int = 8
    #: First wait before a retry, doubled after each failure up to the maximum (emulated seconds).
    backoff_initial_seconds: float = 1.0
    backoff_max_seconds: float = 300.0
    #: How long one attempt waits for the receiver's answer (real seconds).
    timeout_seconds: float = 10.0
    #: How many deliveries may wait; one more is dropped (recorded as such).
    queue_size: int = 1000


@dataclasses.dataclass
class HumaEmulatorSettings(EmulatorSettings):
    """The common settings plus the profile webhook."""

    webhooks: WebhookSettings = dataclasses.field(default_factory=WebhookSettings)


def check_webhook_changes(changes: Any) -> None:
    """Refuse a `webhooks.url` that is not `https` (ValueError), before any setting changes."""
    webhooks = changes.get("webhooks") if isinstance(changes, dict) else None
    url = webhooks.get("url") if isinstance(webhooks, dict) else None
    if url is not None and (
        not isinstance(url, str) or urllib.parse.urlsplit(url).scheme != "https"
    ):
        raise ValueError("setting 'webhooks.url' must be an https URL")


def webhook_user(record: dict[str, Any]) -> dict[str, Any]:
    """A stored user as a delivery shows it: `id`, `email`, the supported fields, `active`."""
    user = {name: record.get(name) for name in _USER_FIELDS}
    user["active"] = bool((record.get("status") or {}).get("active", True))
    return user


@dataclasses.dataclass
class _Pending:
    record: dict[str, Any]
    body: bytes
    due: float


class WebhookSender:
    """Queues deliveries and sends them from one background thread.

    Args:
        settings: Reads the current webhook settings (they may change while running).
        clock: The emulator's clock; retry waits run on it.
    """

    def __init__(self, settings: Callable[[], WebhookSettings], clock: Clock) -> None:
        self._settings = settings
        self._clock = clock
        self._cond = threading.Condition()
        self._queue: collections.deque[_Pending] = collections.deque()
        self._records: list[dict[str, Any]] = []
        self._seq = itertools.count(1)
        self._thread: threading.Thread | None = None

    def store_changed(self, old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
        """The user store's change hook: queue the delivery a change makes."""
        if not self._settings().url:  # no webhook registered: no cost on the write path
            return
        if new is None and old is not None:
            self.send(TOPIC_DELETE, [old])
        elif new is not None and old is None:
            self.send(TOPIC_CREATE, [new])
        elif new is not None and new != old:
            self.send(TOPIC_UPDATE, [new])

    def send(self, topic: str, users: list[dict[str, Any]]) -> dict[str, Any] | None:
        """Queue one delivery naming `users` (stored records); its record, or None when no
        webhook is registered."""
        settings = self._settings()
        if not settings.url:
            return None
        body = orjson.dumps({"topic": topic, "users": [webhook_user(u) for u in users]})
        record = {
            "seq": next(self._seq),
            "topic": topic,
            "userIds": [u["id"] for u in users],
            "sha256": hashlib.sha256(body).hexdigest(),
            "bodyBytes": len(body),
            "queuedAt": datetime.now(UTC).isoformat(),
            "status": "queued",
            "attempts": 0,
            "lastStatus": None,
            "lastError": None,
        }
        with self._cond:
            self._records.append(record)
            if len(self._queue) >= settings.queue_size:
                record["status"] = "dropped"
                return dict(record)
            self._queue.append(_Pending(record, body, self._clock.now()))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="huma-webhooks", daemon=True)
                self._thread.start()
            self._cond.notify_all()
            return dict(record)

    def wake(self) -> None:
        """Look again at the queue's head (the clock moved or the settings changed)."""
        with self._cond:
            self._cond.notify_all()

    def deliveries(self) -> dict[str, Any]:
        with self._cond:
            return {"deliveries": [dict(r) for r in self._records], "pending": len(self._queue)}

    def forget(self) -> None:
        """Forget every delivery, the waiting ones too (nothing more is sent of them)."""
        with self._cond:
            self._queue.clear()
            self._records = []

    def _run(self) -> None:
        while True:
            with self._cond:
                head = self._next_due()
            self._attempt(head)

    def _next_due(self) -> _Pending:
        """The queue's head once it is due (called holding the condition)."""
        while True:
            if not self._queue:
                self._cond.wait()
                continue
            head, now = self._queue[0], self._clock.now()
            if head.due <= now:
                return head
            # A frozen clock moves only by `advance`, which wakes this wait.
            self._cond.wait(None if self._clock.frozen else self._clock.to_real(head.due - now))

    def _attempt(self, pending: _Pending) -> None:
        settings = self._settings()
        status, error = _post(pending, settings)
        with self._cond:
            record = pending.record
            record["attempts"] += 1
            record["lastStatus"], record["lastError"] = status, error
            if status is not None and 200 <= status < 300:
                record["status"] = "delivered"
            elif status is not None and status < 500 and status not in _RETRYABLE:
                record["status"] = "refused"
            elif record["attempts"] >= settings.max_attempts:
                record["status"] = "failed"
            else:
                record["status"] = "retrying"
                wait = settings.backoff_initial_seconds * 2 ** (record["attempts"] - 1)
                pending.due = self._clock.now() + min(wait, settings.backoff_max_seconds)
                return
            if self._queue and self._queue[0] is pending:  # not forgotten meanwhile
                self._queue.popleft()


def _post(pending: _Pending, settings: WebhookSettings) -> tuple[int | None, str | None]:
    """Send one attempt: (the receiver's status, None) or (None, what went wrong)."""
    if not settings.url or urllib.parse.urlsplit(settings.url).scheme != "https":
        return None, "no https webhook URL"
    request = urllib.request.Request(settings.url, data=pending.body, method="POST")  # noqa: S310
    request.add_header("Content-Type", "application/json")
    request.add_header("huma-topic", pending.record["topic"])
    if settings.secret:
        mac = hmac.new(settings.secret.encode("utf-8"), pending.body, hashlib.sha256)
        request.add_header("huma-hmac-sha256", mac.hexdigest())
    if settings.token:
        request.add_header("Authorization", f"Bearer {settings.token}")
    context = ssl.create_default_context(cafile=settings.ca_file)
    try:
        with urllib.request.urlopen(  # noqa: S310 - https only, checked above
            request, context=context, timeout=settings.timeout_seconds
        ) as response:
            response.read()
            return response.status, None
    except urllib.error.HTTPError as exc:
        exc.close()
        return exc.code, None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return None, f"{type(exc).__name__}: {reason}"


def webhook_routes(emulator: HumaEmulator) -> list[Route]:
    """`GET|DELETE /_emulator/webhooks` and `POST /_emulator/webhooks/export`."""

    async def deliveries(request: Request) -> Response:
        return JSONResponse(emulator.webhooks.deliveries())

    async def forget(request: Request) -> Response:
        emulator.webhooks.forget()
        return Response(status_code=204)

    async def export(request: Request) -> Response:
        record = emulator.webhooks.send(TOPIC_EXPORT, list(emulator.world.store))
        if record is None:
            return JSONResponse({"error": "no webhook URL is set"}, status_code=409)
        return JSONResponse(record, status_code=202)

    return [
        Route("/webhooks", deliveries, methods=["GET"]),
        Route("/webhooks", forget, methods=["DELETE"]),
        Route("/webhooks/export", export, methods=["POST"]),
    ]

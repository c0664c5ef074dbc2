"""The log of requests an emulator received, for tests to read through `GET /_emulator/requests`.

Each entry records method, path, query, the answer's status, the fault applied (if any) and, for
writes, the parsed body, so a test can assert that a change was sent exactly once. Bodies sent to
token endpoints are never recorded: they carry client secrets.
"""

from __future__ import annotations

import collections
import itertools
import urllib.parse
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson

from emulators.faults import FAULT_SCOPE_KEY

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from emulators.core import Emulator

#: The scope key under which the current request's log entry is kept (Graph's `$batch` reads it).
ENTRY_SCOPE_KEY = "emulator.log_entry"
_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class RequestLog:
    """An append-only, bounded sequence of request entries numbered from 1."""

    def __init__(self, maxlen: int = 2_000_000) -> None:
        self._entries: collections.deque[dict[str, Any]] = collections.deque(maxlen=maxlen)
        self._seq = itertools.count(1)

    def record(
        self,
        *,
        method: str,
        path: str,
        query: str = "",
        body: Any = None,
        status: int | None = None,
        parent: int | None = None,
    ) -> dict[str, Any]:
        """Append an entry and return it; the caller may fill in `status` and `fault` later."""
        entry: dict[str, Any] = {
            "seq": next(self._seq),
            "at": datetime.now(UTC).isoformat(timespec="microseconds"),
            "method": method,
            "path": path,
            "query": query,
            "status": status,
            "fault": None,
            "body": body,
            "parent": parent,
        }
        self._entries.append(entry)
        return entry

    def entries(
        self, *, since: int = 0, method: str | None = None, path_prefix: str | None = None
    ) -> list[dict[str, Any]]:
        """Entries with `seq > since`, optionally only one method and paths under a prefix."""
        return [
            e
            for e in self._entries
            if e["seq"] > since
            and (method is None or e["method"] == method)
            and (path_prefix is None or e["path"].startswith(path_prefix))
        ]

    def clear(self) -> None:
        self._entries.clear()


def parse_body(raw: bytes, content_type: str) -> Any:
    """A request body as JSON or form data when it parses, else as text."""
    if not raw:
        return None
    if "json" in content_type:
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
    if "x-www-form-urlencoded" in content_type:
        return dict(urllib.parse.parse_qsl(raw.decode("utf-8", "replace")))
    return raw.decode("utf-8", "replace")


class RequestLogMiddleware:
    """ASGI middleware recording every request outside `/_emulator` in the emulator's log."""

    def __init__(self, app: ASGIApp, emulator: Emulator) -> None:
        self._app = app
        self._emulator = emulator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/_emulator"):
            await self._app(scope, receive, send)
            return
        path = scope["path"]
        entry = self._emulator.log.record(
            method=scope["method"], path=path, query=scope["query_string"].decode("latin-1")
        )
        scope[ENTRY_SCOPE_KEY] = entry
        chunks: list[bytes] = []

        async def teeing_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                chunks.append(message.get("body", b""))
            return message

        async def status_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                entry["status"] = message["status"]
            await send(message)

        try:
            await self._app(scope, teeing_receive, status_send)
        finally:
            entry["fault"] = scope.get(FAULT_SCOPE_KEY)
            if scope["method"] in _WRITE_METHODS and not self._emulator.is_auth_path(path):
                headers = dict(scope["headers"])
                content_type = headers.get(b"content-type", b"").decode("latin-1")
                entry["body"] = parse_body(b"".join(chunks), content_type)

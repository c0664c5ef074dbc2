"""`EntraEmulator`: the Entra ID authority and Microsoft Graph v1.0 on one HTTPS server.

Clients use `ENTRA_AUTHORITY_HOST=https://HOST:PORT` and `GRAPH_BASE_URL=https://HOST:PORT/v1.0`.
The authority lives in `authority.py` (the delegated flows in `delegated.py`), Graph's pipeline in
`service.py` (users, domains) and `batch.py`; this module wires them to HTTP, fault injection and
the request log.
"""

from __future__ import annotations

import asyncio
import urllib.parse
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from emulators.core import Emulator
from emulators.faults import FAULT_SCOPE_KEY, Fault, FaultKind
from emulators.graph import aadsts, errors
from emulators.graph.authority import Authority
from emulators.graph.batch import BatchRunner, json_or_none
from emulators.graph.control import control_routes
from emulators.graph.delegated import DelegatedGrants
from emulators.graph.directory import Directory
from emulators.graph.discovery import request_origin
from emulators.graph.errors import GraphError
from emulators.graph.messages import GRAPH_JSON, GraphRequest, GraphResponse
from emulators.graph.service import GraphService
from emulators.graph.settings import GraphSettings
from emulators.graph.throttling import Throttle
from emulators.graph.tokens import TokenIssuer
from emulators.requestlog import ENTRY_SCOPE_KEY

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send

_BATCH_PATH = "/v1.0/$batch"
_METHODS = ["GET", "POST", "PATCH", "PUT", "DELETE"]


class EntraEmulator(Emulator):
    """Entra ID (authority) and Microsoft Graph (users, domains, `$batch`) for many tenants."""

    name = "entra"
    settings: GraphSettings

    def __init__(self, settings: GraphSettings | None = None) -> None:
        super().__init__(settings)
        self.directory = Directory()
        self.tokens = TokenIssuer(moved_on=lambda: self.clock.moved_on)
        self.throttle = Throttle()
        self.authority = Authority(self)
        self.delegated = DelegatedGrants(self, self.authority)
        self.graph = GraphService(self)
        self.batch = BatchRunner(self)

    @classmethod
    def default_settings(cls) -> GraphSettings:
        return GraphSettings()

    def api_routes(self) -> list[BaseRoute]:
        return [
            *self.authority.routes(),
            *self.delegated.routes(),
            Route("/v1.0/{path:path}", self._graph_endpoint, methods=_METHODS),
        ]

    def control_routes(self) -> list[BaseRoute]:
        return control_routes(self)

    def load_state(self, state: Mapping[str, Any]) -> None:
        self.directory.load(state)
        self.throttle.reset()
        self.graph.reader.forget()
        self.delegated.codes.clear()

    def export_state(self, *, users: bool = True) -> dict[str, Any]:
        return self.directory.export(users=users)

    def is_auth_path(self, path: str) -> bool:
        return not path.startswith(("/v1.0/", "/_emulator"))

    def faults_apply(self, path: str) -> bool:
        # `$batch` rolls the dice per item itself (and once for the connection).
        return path != _BATCH_PATH and super().faults_apply(path)

    def fault_response(self, fault: Fault, scope: Scope) -> Response:
        request = Request(scope)
        if self.is_auth_path(scope["path"]):
            return aadsts.aadsts_response(
                request, fault.status, "temporarily_unavailable", 90033, aadsts.TRANSIENT
            )
        if fault.kind is FaultKind.THROTTLE:
            error = errors.throttled(
                self.clock.retry_after_header(self.settings.faults.throttle_retry_after)
            )
        else:
            error = errors.server_error(fault.status)
        return self._error(request, error)

    def error_response(self, status: int, scope: Scope) -> Response:
        codes = {404: "NotFound", 405: "Request_BadRequest", 500: "generalException"}
        messages = {
            404: "The requested resource does not exist.",
            405: "Specified HTTP method is not allowed for the request target.",
        }
        error = GraphError(
            status,
            codes.get(status, "UnknownError"),
            messages.get(status, "An unspecified error has occurred."),
        )
        return self._error(Request(scope), error)

    def _error(self, request: Request, error: GraphError) -> Response:
        request_id = str(uuid.uuid4())
        body = errors.error_body(
            error, request_id=request_id, client_request_id=request.headers.get("client-request-id")
        )
        headers = {**error.headers, "request-id": request_id, "Content-Type": GRAPH_JSON}
        return to_http(GraphResponse(error.status, body, headers))

    def build_app(self) -> ASGIApp:
        return _RedactPasswords(super().build_app())

    async def _graph_endpoint(self, request: Request) -> Response:
        raw = await request.body()
        body, bad_json = json_or_none(raw)
        query = request.scope["query_string"].decode("latin-1")
        graph_request = GraphRequest(
            method=request.method,
            path=request.scope["path"].removeprefix("/v1.0"),
            params=dict(urllib.parse.parse_qsl(query, keep_blank_values=True)),
            headers={k.lower(): v for k, v in request.headers.items()},
            body=body,
            base_url=f"{request_origin(request)}/v1.0",
            query=query,
            bad_json=bad_json,
        )
        if request.scope["path"] == _BATCH_PATH and request.method == "POST":
            return await self._run_batch(request, graph_request)
        return to_http(self.graph.handle(graph_request))

    async def _run_batch(self, request: Request, outer: GraphRequest) -> Response:
        fault = self.faults.draw() if self.faults_apply("/v1.0/") else None
        if fault is not None and fault.kind in (
            FaultKind.DROP_BEFORE,
            FaultKind.DROP_AFTER,
            FaultKind.SLOW,
        ):
            request.scope[FAULT_SCOPE_KEY] = fault.kind.value
        if fault is not None and fault.delay:
            await asyncio.sleep(fault.delay)
        if fault is not None and fault.kind is FaultKind.DROP_BEFORE:
            return _Dropped(truncate=False)
        try:
            caller = self.graph.authenticate(outer)
            entry = request.scope.get(ENTRY_SCOPE_KEY)
            body, stall = self.batch.run(outer, caller, entry["seq"] if entry else None)
        except GraphError as exc:
            return self._error(request, exc)
        if stall:
            await asyncio.sleep(stall)
        response = GraphResponse(200, body, {"Content-Type": GRAPH_JSON})
        if fault is not None and fault.kind is FaultKind.DROP_AFTER:
            return _Dropped(truncate=True, content=orjson.dumps(body))
        return to_http(response)


def to_http(response: GraphResponse) -> Response:
    """A starlette response for a Graph answer (JSON encoded with orjson in one go)."""
    if response.payload is not None:
        content: bytes | str | None = orjson.dumps(response.payload)
    else:
        content = response.text
    return Response(content, status_code=response.status, headers=response.headers)


class _Dropped(Response):
    """A connection that dies mid-answer: status line and headers, then (maybe) half a body."""

    def __init__(self, *, truncate: bool, content: bytes = b"") -> None:
        super().__init__(status_code=200)
        self._truncate = truncate
        self._content = content

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"content-type", b"application/json"), (b"content-length", b"1048576")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        if self._truncate:
            half = self._content[: len(self._content) // 2]
            await send({"type": "http.response.body", "body": half, "more_body": True})


class _RedactPasswords:
    """Keeps passwords out of the request log (the core logs write bodies as sent)."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self._app(scope, receive, send)
        finally:
            entry = scope.get(ENTRY_SCOPE_KEY)
            if entry is not None and entry.get("body") is not None:
                entry["body"] = errors.redacted(entry["body"])

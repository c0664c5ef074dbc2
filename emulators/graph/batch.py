"""`POST /v1.0/$batch`: up to 20 Graph calls in one request, answered in any order.

The batch is 200 whenever it parses; each item gets its own status, headers and body. Items are
throttled and faulted one by one (an injected 429 or 5xx lands in that item), logged as children
of the batch's log entry, and an item whose `dependsOn` failed gets 424 Failed Dependency.
Answers are shuffled, as Graph's may come in any order.
"""

from __future__ import annotations

import random
import urllib.parse
from typing import TYPE_CHECKING, Any

import orjson

from emulators.faults import FaultKind
from emulators.graph import errors
from emulators.graph.errors import GraphError, bad_request
from emulators.graph.messages import GraphRequest, GraphResponse

if TYPE_CHECKING:
    from emulators.graph.app import EntraEmulator
    from emulators.graph.tokens import Caller

MAX_REQUESTS = 20
_INVALID = "Invalid batch payload format."


def _item_request(item: dict[str, Any], outer: GraphRequest) -> GraphRequest:
    url = item.get("url")
    if not isinstance(url, str) or not isinstance(item.get("method"), str):
        raise bad_request(_INVALID, code="BadRequest")
    if urllib.parse.urlsplit(url).scheme:
        raise bad_request(
            f"Invalid request URL '{url}': requests in a batch must use URLs relative to the "
            "version segment, such as '/users'.",
            code="BadRequest",
        )
    parts = urllib.parse.urlsplit(url if url.startswith("/") else "/" + url)
    headers = {str(k).lower(): str(v) for k, v in (item.get("headers") or {}).items()}
    if "body" in item and "content-type" not in headers:
        raise bad_request(
            f"Write request id : {item['id']} does not contain Content-Type header or body.",
            code="BadRequest",
        )
    headers["authorization"] = outer.header("authorization") or ""
    return GraphRequest(
        method=item["method"].upper(),
        path=urllib.parse.unquote(parts.path).removeprefix("/v1.0"),
        params=dict(urllib.parse.parse_qsl(parts.query, keep_blank_values=True)),
        headers=headers,
        body=item.get("body"),
        base_url=outer.base_url,
        query=parts.query,
    )


def parse_batch(outer: GraphRequest) -> list[tuple[str, list[str], GraphRequest]]:
    """(id, dependsOn, request) per item, in an order where dependencies come first.

    Raises:
        GraphError: 400 when the batch is malformed (the whole batch is refused).
    """
    body = outer.body
    items = body.get("requests") if isinstance(body, dict) else None
    if outer.bad_json or not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise bad_request(_INVALID, code="BadRequest")
    if len(items) > MAX_REQUESTS:
        raise bad_request(
            f"Number of requests exceeds the limit of {MAX_REQUESTS}.", code="BadRequest"
        )
    parsed: dict[str, tuple[str, list[str], GraphRequest]] = {}
    for item in items:
        item_id = item.get("id")
        if not isinstance(item_id, str | int) or str(item_id) == "":
            raise bad_request(_INVALID, code="BadRequest")
        item_id = str(item_id)
        if item_id.lower() in parsed:
            raise bad_request(
                f"Batch request contains duplicate request id '{item_id}'.", code="BadRequest"
            )
        depends = item.get("dependsOn", item.get("depends_on")) or []
        parsed[item_id.lower()] = (item_id, [str(d) for d in depends], _item_request(item, outer))
    ordered: list[tuple[str, list[str], GraphRequest]] = []
    done: set[str] = set()

    def visit(key: str, trail: tuple[str, ...]) -> None:
        if key in done:
            return
        if key in trail:
            raise bad_request(
                f"Batch request contains a dependency cycle at '{key}'.", code="BadRequest"
            )
        for dep in parsed[key][1]:
            if dep.lower() not in parsed:
                raise bad_request(
                    f"Request dependency '{dep}' not found in the batch.", code="BadRequest"
                )
            visit(dep.lower(), (*trail, key))
        done.add(key)
        ordered.append(parsed[key])

    for key in parsed:
        visit(key, ())
    return ordered


class BatchRunner:
    """Runs parsed batches against the Graph service."""

    def __init__(self, emulator: EntraEmulator) -> None:
        self._emulator = emulator
        self._shuffle = random.Random(emulator.settings.faults.seed)

    def run(
        self, outer: GraphRequest, caller: Caller, parent_seq: int | None
    ) -> tuple[dict[str, Any], float]:
        """The batch's answer body and the real seconds to stall (injected slowness)."""
        emulator = self._emulator
        statuses: dict[str, int] = {}
        answers: list[dict[str, Any]] = []
        stall = 0.0
        for item_id, depends, request in parse_batch(outer):
            fault = emulator.faults.draw()
            if fault is not None:
                stall = max(stall, fault.delay)
            if any(statuses.get(d.lower(), 0) >= 400 for d in depends):
                response = self._failed_dependency(request)
            elif fault is not None and fault.kind is FaultKind.THROTTLE:
                retry = emulator.clock.retry_after_header(
                    emulator.settings.faults.throttle_retry_after
                )
                response = self._error(request, errors.throttled(retry))
            elif fault is not None and fault.kind is FaultKind.ERROR:
                response = self._error(request, errors.server_error(fault.status))
            else:
                response = emulator.graph.handle(request, caller)
            statuses[item_id.lower()] = response.status
            entry = emulator.log.record(
                method=request.method,
                path="/v1.0" + request.path,
                query=request.query,
                body=errors.redacted(request.body) if request.method != "GET" else None,
                status=response.status,
                parent=parent_seq,
            )
            if fault is not None and fault.kind in (
                FaultKind.THROTTLE,
                FaultKind.ERROR,
                FaultKind.SLOW,
            ):
                entry["fault"] = fault.kind.value
            answers.append(self._answer(item_id, response))
        self._shuffle.shuffle(answers)
        return {"responses": answers}, stall

    def _error(self, request: GraphRequest, error: GraphError) -> GraphResponse:
        import uuid

        request_id = str(uuid.uuid4())
        body = errors.error_body(
            error, request_id=request_id, client_request_id=request.header("client-request-id")
        )
        headers = {**error.headers, "request-id": request_id}
        headers["Content-Type"] = "application/json"
        return GraphResponse(error.status, body, headers)

    def _failed_dependency(self, request: GraphRequest) -> GraphResponse:
        return self._error(
            request, GraphError(424, "FailedDependency", "Dependent request failed.")
        )

    @staticmethod
    def _answer(item_id: str, response: GraphResponse) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "id": item_id,
            "status": response.status,
            "headers": response.headers,
        }
        if response.payload is not None:
            answer["body"] = response.payload
        elif response.text is not None:
            answer["body"] = response.text
        return answer


def json_or_none(raw: bytes) -> tuple[Any, bool]:
    """A request body parsed as JSON, and whether it failed to parse."""
    if not raw:
        return None, False
    try:
        return orjson.loads(raw), False
    except orjson.JSONDecodeError:
        return None, True

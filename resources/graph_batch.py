"""Graph writes in `$batch`es: every change applied once, every outcome reported.

Changes go out in batches of at most 20, paced to the write quota. Answers come back in any order
and are matched by id. Only items answered 429 or 503 (not done, "try again"), or 424 (not done,
its dependency failed) are sent again, after the longest `Retry-After` of the batch, or an
exponential backoff with jitter when none was given, as often and as long as the client's
`RetryPolicy` allows (`resources.retrying`). Any other error is final and reported with Graph's
code and message, never retried. When a whole batch's answer is lost (a broken connection), cannot
be read (a proxy's page), or a gateway answered 504 for the batch or an item (it stopped waiting:
Graph may have carried the write out), no item is resent blindly: each target is re-read, and only
changes not found there are sent again.

A user reference (the manager) is not a property a PATCH can set: `split_references` sends it as
a `$ref` write of its own (`PUT` to set it, `DELETE` to clear it), settled the same way.
"""

from __future__ import annotations

import dataclasses
import logging
import random
import urllib.parse
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import httpx

from reconcile.mapping import GRAPH_REFERENCES
from resources.errors import error_body, without_credentials
from resources.graph_client import GraphClient, graph_error_fields, report_to_pacer
from resources.remote_ids import graph_id_problem, path_segment
from resources.retrying import (
    OUTCOME_UNKNOWN_STATUSES,
    RETRY_STATUSES,
    Waits,
    retry_after_seconds,
)

logger = logging.getLogger(__name__)

BATCH_LIMIT = 20
#: Not done, "try again", or not done because its dependency failed.
_TRY_AGAIN = RETRY_STATUSES | {424}
#: Why a write whose `$batch` answer could not be read is re-read.
_UNREADABLE = "the $batch answer could not be read: the outcome was unknown"
#: Why a write answered 504 is re-read before anything else.
_GATEWAY = "a gateway stopped waiting for Graph (504): the outcome was unknown"


@dataclasses.dataclass(frozen=True)
class GraphWrite:
    """One write: `key` is the caller's id for it (e.g. a plan row's change id).

    Attributes:
        body: The request body; None for a request without one (`DELETE`).
        holds: What the user in `url` holds once the write is applied, for a write whose body
            does not say it (a `$ref` write: the reference as the referenced user's object id).
    """

    key: str
    method: Literal["PATCH", "POST", "PUT", "DELETE"]
    url: str
    body: Mapping[str, Any] | None
    holds: Mapping[str, Any] | None = None


@dataclasses.dataclass(frozen=True)
class GraphWriteOutcome:
    """What became of one write.

    Attributes:
        ok: whether the change is in Graph now.
        status: Graph's status for the last attempt (None when no answer ever arrived).
        code / message / request_id: Graph's error, for failures.
        detail_codes: the error's `details[].code` (e.g. `ObjectConflict` for a taken UPN).
        body: the created object, for a successful POST.
        attempts: how many times it was sent.
        verified: the answer was lost and the outcome was established by re-reading the target.
    """

    key: str
    ok: bool
    status: int | None
    code: str | None = None
    message: str | None = None
    request_id: str | None = None
    body: Mapping[str, Any] | None = None
    attempts: int = 0
    verified: bool = False
    detail_codes: tuple[str, ...] = ()


class BatchExecutor:
    """Applies `GraphWrite`s through `POST /$batch` with the guarantees of the module docstring."""

    def __init__(self, client: GraphClient) -> None:
        self._client = client
        self._random = random.Random()  # noqa: S311 - jitter of retry delays, not a secret

    def run(self, writes: Sequence[GraphWrite]) -> list[GraphWriteOutcome]:
        """Apply `writes`; returns one outcome per write, in the same order.

        Each write is sent at most the client's `RetryPolicy.max_attempts` times; the waits
        between rounds follow that policy too (`resources.retrying.Waits`).
        """
        if len({w.key for w in writes}) != len(writes):
            raise ValueError("every write needs a distinct key")
        policy = self._client.retry
        waits = Waits(policy, self._random)
        outcomes: dict[str, GraphWriteOutcome] = {}
        attempts: dict[str, int] = dict.fromkeys((w.key for w in writes), 0)
        pending = deque(writes)
        while pending:
            chunk = [pending.popleft() for _ in range(min(BATCH_LIMIT, len(pending)))]
            for write in chunk:
                attempts[write.key] += 1
            retry_again, asked = self._send_batch(chunk, attempts, outcomes)
            if not retry_again:
                continue
            delay = waits.next(asked)
            for write in reversed(retry_again):
                if delay is not None and attempts[write.key] < policy.max_attempts:
                    pending.appendleft(write)
                else:
                    last = outcomes[write.key]
                    stopped = f" ({waits.stopped})" if delay is None else ""
                    outcomes[write.key] = dataclasses.replace(
                        last,
                        message=f"gave up after {last.attempts} attempts{stopped}: {last.message}",
                    )
            if delay is not None:
                self._client.pacer.throttled(delay, write=True)
        return [outcomes[w.key] for w in writes]

    def _send_batch(
        self,
        chunk: list[GraphWrite],
        attempts: dict[str, int],
        outcomes: dict[str, GraphWriteOutcome],
    ) -> tuple[list[GraphWrite], float | None]:
        """Send one batch; record final outcomes; return what to resend and how long to wait."""
        by_id = {str(i): write for i, write in enumerate(chunk, start=1)}
        self._client.pacer.acquire(resource_units=len(chunk), writes=len(chunk))
        payload = {"requests": [_item(request_id, w) for request_id, w in by_id.items()]}
        # An answer may quote back what the request carried: its token, a first password.
        passwords = [_password(write) for write in chunk]
        try:
            response = self._client.http.post("/$batch", json=payload)
        except httpx.TransportError as exc:
            logger.warning("a $batch of %d lost its answer (%s); re-reading", len(chunk), exc)
            return self._settle_lost(chunk, attempts, outcomes), None
        if response.status_code in OUTCOME_UNKNOWN_STATUSES:
            logger.warning("a $batch of %d was answered 504; re-reading", len(chunk))
            return self._settle_lost(chunk, attempts, outcomes, _GATEWAY), None
        if response.status_code in _TRY_AGAIN:
            error = graph_error_fields(response.status_code, {}, {})
            for write in chunk:
                outcomes[write.key] = _failure(write, attempts, response.status_code, error)
            return chunk, retry_after_seconds(response.headers)
        if response.status_code != 200:
            body = without_credentials(error_body(response), response, also=passwords)
            error = graph_error_fields(response.status_code, body, response.headers)
            raise RuntimeError(f"Graph refused the $batch itself: {error['message']}")
        items = answered_items(response)
        if items is None:
            logger.warning("a $batch of %d was answered unreadably; re-reading", len(chunk))
            return self._settle_lost(chunk, attempts, outcomes, _UNREADABLE), None
        retry_again: list[GraphWrite] = []
        unknown: list[GraphWrite] = []
        waits: list[float] = []
        answered = set()
        for item in items:
            write = by_id.get(str(item.get("id")))
            status = item.get("status")
            if write is None or not isinstance(status, int) or isinstance(status, bool):
                continue  # an item that cannot be read is not answered: its write is re-read
            answered.add(write.key)
            headers = item.get("headers")
            headers = headers if isinstance(headers, dict) else {}
            body = item.get("body")
            body = without_credentials(
                body if isinstance(body, dict) else {}, response, also=passwords
            )
            if 200 <= status < 300:
                outcomes[write.key] = GraphWriteOutcome(
                    write.key, True, status, body=body or None, attempts=attempts[write.key]
                )
                continue
            if status in OUTCOME_UNKNOWN_STATUSES:
                unknown.append(write)
                continue
            error = graph_error_fields(status, body, headers)
            outcomes[write.key] = _failure(write, attempts, status, error)
            if status in _TRY_AGAIN:
                retry_again.append(write)
                if error["retry_after"] is not None:
                    waits.append(error["retry_after"])
        # An item the batch did not answer was not processed as far as we can know: re-read it.
        unanswered = [w for w in chunk if w.key not in answered]
        if unanswered:
            retry_again += self._settle_lost(unanswered, attempts, outcomes)
        if unknown:
            retry_again += self._settle_lost(unknown, attempts, outcomes, _GATEWAY)
        if not retry_again:
            report_to_pacer(self._client.pacer, response, None, write=True)
        return retry_again, max(waits) if waits else None

    def _settle_lost(
        self,
        writes: list[GraphWrite],
        attempts: dict[str, int],
        outcomes: dict[str, GraphWriteOutcome],
        why: str = "the answer was lost",
    ) -> list[GraphWrite]:
        """Re-read each target; record the writes found applied, return the others to resend
        (their outcome says `why` they were re-read)."""
        resend = []
        for write in writes:
            applied, body = self._is_applied(write)
            if applied:
                outcomes[write.key] = GraphWriteOutcome(
                    write.key, True, None, body=body, attempts=attempts[write.key], verified=True
                )
            else:
                outcomes[write.key] = GraphWriteOutcome(
                    write.key,
                    False,
                    None,
                    message=why,
                    attempts=attempts[write.key],
                )
                resend.append(write)
        return resend

    def _is_applied(self, write: GraphWrite) -> tuple[bool, Mapping[str, Any] | None]:
        if write.method == "POST":
            upn = str((write.body or {}).get("userPrincipalName", ""))
            found = self._client.get_user(upn, ("id", "userPrincipalName")) if upn else None
            return found is not None, found
        expected = write.holds if write.holds is not None else write.body or {}
        # The url (`/users/{id}[/…]`) holds the id percent-encoded; `get_user` encodes it itself.
        target = urllib.parse.unquote(write.url.split("/")[2])
        current = self._client.get_user(target, tuple(expected))
        if current is None:
            return False, None
        return all(current.get(p) == v for p, v in expected.items()), None


def _item(request_id: str, write: GraphWrite) -> dict[str, Any]:
    """One `$batch` request (a request without a body carries no Content-Type either)."""
    item: dict[str, Any] = {"id": request_id, "method": write.method, "url": write.url}
    if write.body is not None:
        item.update(headers={"Content-Type": "application/json"}, body=dict(write.body))
    return item


def answered_items(response: httpx.Response) -> list[dict[str, Any]] | None:
    """The items of a `$batch` answer that are objects; None when the answer is not a batch
    answer at all (not JSON, or no list of `responses`: a proxy's page, a mangled body)."""
    try:
        body = response.json()
    except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested past any depth
        return None
    items = body.get("responses") if isinstance(body, dict) else None
    if not isinstance(items, list):
        return None
    return [item for item in items if isinstance(item, dict)]


def _password(write: GraphWrite) -> str:
    """The first password a create sets, "" for any other write."""
    profile = (write.body or {}).get("passwordProfile")
    return str(profile.get("password") or "") if isinstance(profile, Mapping) else ""


def _failure(
    write: GraphWrite, attempts: dict[str, int], status: int, error: Mapping[str, Any]
) -> GraphWriteOutcome:
    """The outcome of a write Graph refused, from its error (`graph_error_fields`)."""
    return GraphWriteOutcome(
        write.key,
        False,
        status,
        code=error["code"],
        message=error["message"],
        request_id=error["request_id"],
        attempts=attempts[write.key],
        detail_codes=error["detail_codes"],
    )


def split_references(write: GraphWrite, graph_base_url: str) -> list[GraphWrite]:
    """A PATCH carrying user references (the manager) as the PATCH of the rest, if any, and one
    `$ref` write per reference, under `<key>#<property>` (the write's own key when it carried
    nothing else).

    A reference to a user is set with `PUT {url}/<property>/$ref` and the body
    `{"@odata.id": "<graph_base_url>/users/<object id>"}` (the connection's own Graph origin:
    a reference never names another host), and cleared with `DELETE` there.

    Raises:
        ValueError: A reference that is not a Graph object id (it never goes into a URL).
    """
    references = {p: v for p, v in (write.body or {}).items() if p in GRAPH_REFERENCES}
    if write.method != "PATCH" or not references:
        return [write]
    rest = {p: v for p, v in (write.body or {}).items() if p not in references}
    parts = [dataclasses.replace(write, body=rest)] if rest else []
    for prop, user_id in references.items():
        key = f"{write.key}#{prop}" if parts else write.key
        url = f"{write.url}/{prop}/$ref"
        if user_id is None:
            parts.append(GraphWrite(key, "DELETE", url, None, holds={prop: None}))
            continue
        if (problem := graph_id_problem(user_id)) is not None:
            raise ValueError(f"write {write.key}: {prop}: {problem}")
        reference = {"@odata.id": f"{graph_base_url.rstrip('/')}/users/{path_segment(user_id)}"}
        parts.append(GraphWrite(key, "PUT", url, reference, holds={prop: user_id}))
    return parts


def split_hire_date(write: GraphWrite) -> list[GraphWrite]:
    """A PATCH carrying `employeeHireDate` as two writes, so its refusal cannot sink the rest.

    Graph documents `employeeHireDate` as not writable with application permissions in some
    tenants: sent alone, its failure is reported on its own key (`<key>#employeeHireDate`).
    """
    body = write.body or {}
    if write.method != "PATCH" or "employeeHireDate" not in body or len(body) == 1:
        return [write]
    rest = {k: v for k, v in body.items() if k != "employeeHireDate"}
    hire = {"employeeHireDate": body["employeeHireDate"]}
    return [
        dataclasses.replace(write, body=rest),
        dataclasses.replace(write, key=f"{write.key}#employeeHireDate", body=hire),
    ]

"""Some Entra users, read through `$batch`: by object id (a link's) and by email (mail or UPN).

A targeted run reads only the users some webhooks named. A linked user is read by the object id
its link holds; any other by `$filter=mail eq '…' or userPrincipalName eq '…'` (SPEC §4: Entra's
key is `mail`, or the UPN when `mail` is empty, so both are asked). Twenty reads go in one
`POST /$batch`. An id of the wrong shape is never requested (SPEC §12), and an email goes into
the filter as an OData string literal, its quotes doubled: it can end nothing.

Every read must succeed: a user not found (404, or no match) is simply absent, but an answer that
is neither is retried when Graph says "try again" (429, 503, or a gateway's 504: a read has no
effect to duplicate), as often and as long as the
client's `RetryPolicy` allows, and otherwise fails the read.
A targeted run that cannot read its users fails and gives its events back; it never goes on with
a partial view.
"""

from __future__ import annotations

import dataclasses
import urllib.parse
from collections.abc import Iterable, Sequence
from typing import Any

from resources.errors import RemoteError, without_credentials
from resources.graph_batch import BATCH_LIMIT, answered_items
from resources.graph_client import USER_SELECT, GraphClient, graph_error_fields
from resources.remote_ids import graph_id_problem, path_segment
from resources.retrying import (
    OUTCOME_UNKNOWN_STATUSES,
    RETRY_STATUSES,
    Waits,
    retry_after_seconds,
)

#: A read has no effect to duplicate: a gateway's 504 is simply asked again.
_TRY_AGAIN = RETRY_STATUSES | OUTCOME_UNKNOWN_STATUSES


class LookupFailed(RemoteError):
    """Graph did not answer a read of the lookup (after its retries)."""


@dataclasses.dataclass(frozen=True)
class LookedUp:
    """The users found (each once, in the order asked) and how many requests it took."""

    users: list[dict[str, Any]]
    requests: int


def odata_string(value: str) -> str:
    """`value` as an OData string literal: in single quotes, each quote doubled."""
    return "'" + value.replace("'", "''") + "'"


def _by_id(entra_id: str, options: dict[str, str]) -> str:
    return f"/users/{path_segment(entra_id)}?" + urllib.parse.urlencode(options)


def _by_email(email: str, options: dict[str, str]) -> str:
    literal = odata_string(email)
    query = {"$filter": f"mail eq {literal} or userPrincipalName eq {literal}", **options}
    return "/users?" + urllib.parse.urlencode(query, quote_via=urllib.parse.quote)


def lookup_users(
    client: GraphClient,
    *,
    entra_ids: Iterable[str],
    emails: Iterable[str],
    select: Sequence[str] = USER_SELECT,
    expand: str | None = None,
) -> LookedUp:
    """The users with one of `entra_ids`, and those whose mail or UPN is one of `emails`, with
    `select`ed properties and the `expand`ed references (`graph_client.user_expand`).

    Raises:
        LookupFailed: A read failed for another reason than "not found".
    """
    options = {"$select": ",".join(select), **({"$expand": expand} if expand else {})}
    urls = [_by_id(i, options) for i in dict.fromkeys(entra_ids) if graph_id_problem(i) is None]
    urls += [_by_email(e, options) for e in dict.fromkeys(e.strip() for e in emails) if e]
    found: dict[str, dict[str, Any]] = {}
    requests = 0
    for start in range(0, len(urls), BATCH_LIMIT):
        for body in _read_chunk(client, urls[start : start + BATCH_LIMIT]):
            for user in body.get("value", [body]) if isinstance(body, dict) else ():
                if isinstance(user, dict):
                    found.setdefault(str(user.get("id")), user)
        requests += 1
    return LookedUp(list(found.values()), requests)


def _read_chunk(client: GraphClient, urls: list[str]) -> list[Any]:
    """The bodies of the reads of `urls` that found something (one `$batch`, retried items)."""
    pending = {str(i): url for i, url in enumerate(urls, start=1)}
    bodies: list[Any] = []
    waits = Waits(client.retry)
    for _ in range(client.retry.max_attempts):
        client.pacer.acquire(resource_units=len(pending), writes=0)
        payload = {
            "requests": [{"id": i, "method": "GET", "url": url} for i, url in pending.items()]
        }
        response = client.http.post("/$batch", json=payload)
        if response.status_code in _TRY_AGAIN:
            _wait(client, waits, retry_after_seconds(response.headers), len(pending))
            continue
        if response.status_code != 200:
            error = graph_error_fields(response.status_code, {}, response.headers)
            raise LookupFailed(
                "graph",
                f"the $batch of user reads was refused: {error['message']}",
                status=response.status_code,
            )
        items = answered_items(response)
        if items is None:
            raise LookupFailed("graph", "the $batch of user reads was answered unreadably")
        asked: list[float] = []
        for item in items:
            item_id = str(item.get("id"))
            status = item.get("status")
            if item_id not in pending or not isinstance(status, int) or isinstance(status, bool):
                continue  # an item that cannot be read is not answered: read again
            # An error may quote back what the request carried (its bearer token).
            body = without_credentials(item.get("body") or {}, response)
            if 200 <= status < 300 or status == 404:
                del pending[item_id]
                if status != 404:
                    bodies.append(body)
                continue
            headers = item.get("headers")
            error = graph_error_fields(status, body, headers if isinstance(headers, dict) else {})
            if status not in _TRY_AGAIN:
                raise LookupFailed(
                    "graph", f"a user read was refused: {error['message']}", status=status
                )
            if error["retry_after"] is not None:
                asked.append(error["retry_after"])
        if not pending:
            return bodies
        _wait(client, waits, max(asked, default=None), len(pending))
    raise LookupFailed("graph", f"kept refusing {len(pending)} user reads; gave up")


def _wait(client: GraphClient, waits: Waits, asked: float | None, pending: int) -> None:
    """Pause the reads for the retry policy's wait, or end them when the policy says stop."""
    delay = waits.next(asked)
    if delay is None:
        raise LookupFailed("graph", f"kept refusing {pending} user reads; {waits.stopped}")
    client.pacer.throttled(delay, write=False)

"""Microsoft Graph v1.0: user snapshots, verified domains, and single requests, paced and retried.

Reads list `GET /users` with an explicit `$select` and `$top=999`, following the whole
`@odata.nextLink` until it is absent, but only on the configured origin, never twice, and for no
more pages than the first page's `@odata.count` allows (SPEC §12). A connection that syncs the
manager also reads `$expand=manager($select=id)`: Graph then pages at most 100 users whatever
`$top` asks, and refuses `$expand` in an advanced query, so the count comes first from
`GET /users/$count` and bounds pages of 100. Each page is asked for as soon as the page before
it is in, while the caller reads the pages before (`user_pages`, `resources.read_ahead`: up to
`PAGES_AHEAD` pages wait for the caller). Every request is paced to the app's throttling budget
(`GraphPacer`) and retried on 429/503 after `Retry-After` (a read also on 500, 502 and 504; a
write answered 504 is not resent, `resources.http`). Writes in bulk go through
`resources.graph_batch.BatchExecutor`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import math
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Protocol

import httpx

from reconcile.mapping import GRAPH_REFERENCES, active
from resources.errors import AuthenticationError, RemoteError, UntrustedAnswer, error_body
from resources.graph_pacing import GraphPacer
from resources.http import (
    decoded_json,
    is_bearer_token,
    new_http_client,
    same_origin_link,
    send_with_retries,
)
from resources.read_ahead import read_ahead
from resources.remote_ids import path_segment
from resources.retrying import RetryPolicy, retry_after_seconds

logger = logging.getLogger(__name__)

GRAPH_BASE_URL = "https://graph.microsoft.com/v1.0"


def user_select(fields: Iterable[str] = ()) -> tuple[str, ...]:
    """Every mapped property (SPEC §3, and the optional `fields` switched on) and what scoping
    and safety need; all are `$select`-only or default properties, none refused in a collection.
    """
    return (
        "id",
        "userPrincipalName",
        "mail",
        *(prop for entry in active(fields) if not entry.graph_reference for prop in entry.graph),
        "accountEnabled",
        "userType",
        "onPremisesSyncEnabled",
    )


def user_expand(fields: Iterable[str] = ()) -> str | None:
    """The `$expand` of the user references among the optional `fields` switched on (the
    manager's object id), or None when none is on. Graph expands one navigation property per
    request, and the mapping has one."""
    return _expansion(p for e in active(fields) if e.graph_reference for p in e.graph)


def _expansion(references: Iterable[str]) -> str | None:
    """The `$expand` reading each reference's object id; None for none."""
    return ",".join(f"{prop}($select=id)" for prop in references) or None


def _expand_of(select: Sequence[str]) -> tuple[tuple[str, ...], str | None]:
    """`select` split into the properties to `$select` and the `$expand` of its references."""
    plain = tuple(p for p in select if p not in GRAPH_REFERENCES) or ("id",)
    return plain, _expansion(p for p in select if p in GRAPH_REFERENCES)


#: What a connection without optional fields selects.
USER_SELECT = user_select()
PAGE_SIZE = 999  # Graph's maximum `$top` for users
#: Graph's page size with `$expand` on directory objects, whatever `$top` asks (a known issue
#: Microsoft documents: "$expand on directory objects returns a maximum of 100 objects").
EXPAND_PAGE_SIZE = 100
#: Pages read that may wait for the caller while the next one is asked for (each ~0.5 MB).
PAGES_AHEAD = 2
#: Pages a read may take beyond what the first page's count announced: users created while the
#: read goes on, and the empty pages Graph may send, but never a read without end.
SPARE_PAGES = 10
#: The page limit when Graph does not say how many users there are (ten million users).
PAGES_WITHOUT_COUNT = 10_000
_CONSENT_ACTION = (
    "grant the app the Microsoft Graph application permission User.ReadWrite.All and click "
    "'Grant admin consent' in its API permissions; with a user account (`huma-entra-sync "
    "login`), the person signed in needs the User Administrator or Global Administrator role, "
    "and the app the delegated permission User.ReadWrite.All with admin consent"
)


class GraphApiError(RemoteError):
    """Graph refused a request; `detail_codes` holds `details[].code` (e.g. `ObjectConflict`)."""

    def __init__(self, message: str, *, detail_codes: tuple[str, ...] = (), **details: Any) -> None:
        self.detail_codes = detail_codes
        super().__init__("graph", message, **details)


@dataclasses.dataclass(frozen=True)
class UserPage:
    """One page of `GET /users`.

    Attributes:
        users: The page's `value` as `orjson` decodes it (which reads an integer beyond 64 bits
            as a float); use `exact` where such a number must read as `json` reads it.
        content: The page's body.
    """

    users: Any
    content: bytes

    def exact(self) -> Any:
        """The page's `value` as `json` (and `response.json()`) decodes it."""
        return json.loads(self.content).get("value", [])


class TokenSource(Protocol):
    """Where access tokens come from (`GraphTokenProvider`, or a fake in tests)."""

    def token(self) -> str: ...

    def forget(self, token: str) -> None: ...


class _GraphAuth(httpx.Auth):
    """Bearer tokens from MSAL; a 401 drops the token from MSAL's cache and retries once."""

    def __init__(self, tokens: TokenSource) -> None:
        self._tokens = tokens

    def sync_auth_flow(self, request: httpx.Request) -> Iterator[httpx.Request]:
        token = self._tokens.token()
        request.headers["Authorization"] = _bearer(token)
        response = yield request
        if response.status_code == 401:
            self._tokens.forget(token)
            request.headers["Authorization"] = _bearer(self._tokens.token())
            yield request


def _bearer(token: str) -> str:
    if not is_bearer_token(token):  # never quoted: it came from the authority as a token
        raise UntrustedAnswer("entra", "the access token is not a bearer token: not used")
    return f"Bearer {token}"


class _PacedHooks:
    """Spends the request's cost before each attempt and reports throttling to the pacer."""

    def __init__(self, pacer: GraphPacer, resource_units: float, writes: float) -> None:
        self._pacer = pacer
        self._resource_units = resource_units
        self._writes = writes

    def before_attempt(self) -> None:
        self._pacer.acquire(resource_units=self._resource_units, writes=self._writes)

    def after_response(self, response: httpx.Response, retry_in: float | None) -> None:
        report_to_pacer(self._pacer, response, retry_in, write=bool(self._writes))


def report_to_pacer(
    pacer: GraphPacer, response: httpx.Response, retry_in: float | None, *, write: bool
) -> None:
    """Tell the pacer about a response: a throttle to back off from, or a usage reading."""
    if response.status_code == 429:
        pacer.throttled(retry_in if retry_in is not None else 1.0, write=write)
        return
    percentage = response.headers.get("x-ms-throttle-limit-percentage")
    try:
        reading = float(percentage) if percentage is not None else None
    except ValueError:
        reading = None
    pacer.observed(limit_percentage=reading, write=write)


class GraphClient:
    """Plain I/O against Microsoft Graph for one app in one tenant (thread-safe)."""

    def __init__(
        self,
        *,
        tokens: TokenSource,
        base_url: str = GRAPH_BASE_URL,
        pacer: GraphPacer | None = None,
        timeout_seconds: float = 60.0,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.pacer = pacer or GraphPacer()
        self.retry = retry or RetryPolicy()
        self.sleep = sleep
        self.http = new_http_client(
            base_url=base_url.rstrip("/"),
            timeout_seconds=timeout_seconds,
            auth=_GraphAuth(tokens),
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"GraphClient(base_url={str(self.http.base_url)!r})"

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> GraphClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- reads ---------------------------------------------------------------------------------

    def user_pages(
        self,
        select: Sequence[str] = USER_SELECT,
        page_size: int = PAGE_SIZE,
        expand: str | None = None,
    ) -> Iterator[UserPage]:
        """Every page of `GET /users`, following `@odata.nextLink` (used whole) to the end.

        The first page asks for `@odata.count` (an advanced query: `$count=true` with
        `ConsistencyLevel: eventual`, a header Graph wants again on every page), which bounds the
        pages to read. With `expand`, which Graph refuses in an advanced query, the count is read
        first (`user_count`) and the pages hold at most `EXPAND_PAGE_SIZE` users.

        Raises:
            UntrustedAnswer: a link to another origin (nothing is sent there), a link already
                followed, or more pages than the count allows.
        """
        params: dict[str, Any] = {"$select": ",".join(select), "$top": page_size}
        advanced: dict[str, str] | None = {"ConsistencyLevel": "eventual"}
        if expand is None:
            params["$count"] = "true"
            body, content = self._page("/users", params, advanced, "users page 1")
            count = body.get("@odata.count")
            if isinstance(count, float):  # a count beyond 64 bits, as `json` reads it
                count = json.loads(content).get("@odata.count")
        else:
            page_size = min(page_size, EXPAND_PAGE_SIZE)
            params.update({"$top": page_size, "$expand": expand})
            count, advanced = self.user_count(), None
            body, content = self._page("/users", params, None, "users page 1")
        limit = _page_limit(count, page_size)
        followed: set[str] = set()

        def following(page_number: int, link: str) -> tuple[Any, bytes]:
            what = f"users page {page_number}"
            if link in followed:
                raise UntrustedAnswer("graph", f"{what} links to a page already read: stopped")
            if page_number >= limit:
                raise UntrustedAnswer(
                    "graph",
                    f"{what} links to yet another page, more than the first page announced "
                    f"({count!r} users in pages of {page_size}): stopped",
                )
            followed.add(link)
            url = same_origin_link(link, self.http.base_url, service="graph", what=what)
            return self._page(url, None, advanced, f"users page {page_number + 1}")

        def after(page_number: int, page: tuple[Any, bytes]) -> tuple[Any, bytes] | None:
            link = page[0].get("@odata.nextLink")
            return following(page_number, link) if link else None

        # The next page is asked for as soon as a page's link is known, while the caller reads
        # the pages before it (`PAGES_AHEAD` at most wait): one request under way at a time, as
        # without reading ahead. Whatever stops the paging (a link refused, a failed request) is
        # raised after the page before it.
        pages = read_ahead((body, content), after, ahead=PAGES_AHEAD, thread_name="graph-pages")
        with contextlib.closing(pages):  # a caller that stops stops the reading ahead
            for page_body, page_content in pages:
                yield UserPage(page_body["value"], page_content)

    def _page(
        self,
        url: str,
        params: Mapping[str, Any] | None,
        headers: Mapping[str, str] | None,
        what: str,
    ) -> tuple[Any, bytes]:
        """One page's answer, decoded (`decoded_json`), and its body.

        Raises:
            UntrustedAnswer: the answer is not a page of users (an object whose `value` is a
                list): read as a page of nobody, it would end the paging early unnoticed.
        """
        response = self.send("GET", url, params=params, headers=headers, what=what)
        raise_for_graph(response, what)
        body = decoded_json(response)
        if not isinstance(body, Mapping) or not isinstance(body.get("value"), list):
            raise UntrustedAnswer("graph", f"{what} is not a page of users (value): stopped")
        return body, response.content

    def user_count(self) -> int | None:
        """How many users the tenant has (`GET /users/$count`, eventually consistent), or None
        when the answer is not a count."""
        advanced = {"ConsistencyLevel": "eventual"}
        response = self.send("GET", "/users/$count", headers=advanced, what="GET /users/$count")
        raise_for_graph(response, "GET /users/$count")
        text = response.text.strip()
        return int(text) if text.isdigit() else None

    def get_user(self, user: str, select: Sequence[str]) -> dict[str, Any] | None:
        """One user by object id or userPrincipalName, or None when it does not exist.

        A user reference in `select` (the manager) is read with `$expand` and given as the
        referenced user's object id, None when there is none: the form a write's body uses.
        """
        path = f"/users/{path_segment(user)}"
        plain, expand = _expand_of(select)
        params = {"$select": ",".join(plain)}
        if expand:
            params["$expand"] = expand
        response = self.send("GET", path, params=params)
        if response.status_code == 404:
            return None
        raise_for_graph(response, f"GET {path}")
        found = response.json()
        for prop in GRAPH_REFERENCES:
            if prop in select:
                reference = found.get(prop)
                found[prop] = reference.get("id") if isinstance(reference, Mapping) else None
        return found

    def verified_domains(self) -> list[str] | None:
        """The tenant's verified domain names, or None when the app may not read domains.

        `GET /domains` needs `Domain.Read.All` (or a `Directory.*` permission), which Huma's
        setup does not ask for: without it, the caller falls back to what the users show.
        """
        response = self.send("GET", "/domains", what="GET /domains")
        if response.status_code == 403:
            return None
        raise_for_graph(response, "GET /domains")
        body = response.json()
        return sorted(d["id"].casefold() for d in body.get("value", []) if d.get("isVerified"))

    # -- single requests -----------------------------------------------------------------------

    def request_json(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        what: str,
    ) -> Any:
        response = self.send(method, url, params=params, headers=headers, what=what)
        raise_for_graph(response, what)
        return response.json()

    def send(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        what: str | None = None,
    ) -> httpx.Response:
        """One request, paced and retried; a write is never resent after a lost answer."""
        write = method != "GET"
        return send_with_retries(
            lambda: self.http.request(method, url, params=params, json=json, headers=headers),
            service="graph",
            what=what or f"{method} {url}",
            policy=self.retry,
            idempotent=not write,
            sleep=self.sleep,
            hooks=_PacedHooks(self.pacer, resource_units=1, writes=1 if write else 0),
        )


def _page_limit(count: Any, page_size: int) -> int:
    """How many pages a read of `count` users may take (see `SPARE_PAGES`)."""
    if isinstance(count, int) and not isinstance(count, bool) and count >= 0:
        return min(math.ceil(count / page_size) + SPARE_PAGES, PAGES_WITHOUT_COUNT)
    return PAGES_WITHOUT_COUNT


def raise_for_graph(response: httpx.Response, what: str) -> None:
    """Raise the typed error for a Graph error answer; return quietly on success."""
    if response.is_success:
        return
    error = graph_error_fields(response.status_code, error_body(response), response.headers)
    if response.status_code == 403 and error["code"] == "Authorization_RequestDenied":
        raise AuthenticationError(
            "graph",
            f"{what}: {error['message']}",
            action=_CONSENT_ACTION,
            status=403,
            code=error["code"],
            request_id=error["request_id"],
        )
    raise GraphApiError(
        f"{what}: {error['message']}",
        status=response.status_code,
        code=error["code"],
        request_id=error["request_id"],
        detail_codes=error["detail_codes"],
    )


def graph_error_fields(
    status: int, body: Any, headers: Mapping[str, str] | httpx.Headers
) -> dict[str, Any]:
    """Code, message, request id and detail codes of a Graph error envelope (also in `$batch`)."""
    error = body.get("error", {}) if isinstance(body, dict) else {}
    inner = error.get("innerError") or error.get("innererror") or {}
    lowered = {k.lower(): v for k, v in headers.items()}
    return {
        "code": error.get("code"),
        "message": error.get("message") or f"HTTP {status}",
        "request_id": inner.get("request-id") or lowered.get("request-id"),
        "detail_codes": tuple(d.get("code", "") for d in error.get("details") or ()),
        "retry_after": retry_after_seconds(lowered),
    }

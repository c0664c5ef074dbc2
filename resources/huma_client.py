"""Huma's Open API: complete user snapshots and safe writes.

A snapshot lists every user (`GET /users`, 50 per page, offset paging, active and deactivated) and
reads each one's details (`GET /users/{id}`) concurrently. Offset paging is not stable while people
are added or removed, so a scan is only accepted when it was consistent: every page reported the
same `total`, the distinct ids seen equal it, and none of them vanished before its details were
read. Otherwise the list is scanned again (up to `max_passes`); a snapshot that never settles is
marked incomplete instead of being passed off as whole.

Reads go through `Lanes` (one keep-alive connection per request under way, on a lean HTTP/1.1 wire)
under a `ConcurrencyGate`: as many detail GETs are under way as the connection's
`huma_max_concurrency` allows while Huma answers well, fewer after the answers the retry policy
retries (429, 500, 502, 503, 504) and timeouts (`resources.adaptive_concurrency`). Writes go
through an `httpx.Client`, one at a time.

A listed user whose id is not a UUID is never requested (SPEC §12): its list entry stands as its
payload, and the snapshot reader holds it out. A list whose `total` is absurd, or whose pages
stop bringing new users, stops the scan with an `UntrustedAnswer`.
"""

from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import itertools
import logging
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Generic, TypeVar

import httpx

from reconcile.policy import DEFAULT_HUMA_MAX_CONCURRENCY
from resources.adaptive_concurrency import AdaptiveLimit, ConcurrencyGate
from resources.errors import RemoteError, UntrustedAnswer, huma_error_fields
from resources.http import OutcomeUnknown, decoded_json, new_http_client, send_with_retries
from resources.http_lanes import Lanes
from resources.huma_auth import HumaTokenAuth
from resources.remote_ids import huma_id_problem, path_segment
from resources.retrying import RETRY_STATUSES_FOR_READS, RetryPolicy, retry_after_seconds
from resources.snapshot_reading import UnreadablePayload

logger = logging.getLogger(__name__)
T = TypeVar("T")

PAGE_SIZE = 50  # Huma's maximum `limit`
#: More users than any Huma organisation has: a larger `total` is an answer not to page through.
MAX_USERS = 1_000_000
_DETAILS_PER_REPORT = 500
#: Detail reads submitted beyond the one being read: enough that the lanes never wait for the
#: reading (it holds the GIL in bursts), few enough to hold little (a future is about 2 KB).
_AHEAD = 1_000

#: `progress(stage, done, total)`: see `HumaClient.scan_users`.
Progress = Callable[[str, int, int], None]


def _no_progress(stage: str, done: int, total: int) -> None:
    pass


@dataclasses.dataclass(frozen=True)
class HumaScan(Generic[T]):
    """The raw result of a snapshot: what was kept of each user's `UserDetails`, and how it went.

    Attributes:
        details: user id -> what `keep` made of its `GET /users/{id}` payload (by default the
            payload itself; an `UnreadablePayload` where the answer could not be decoded), for
            every user of the accepted pass.
        complete: whether a consistent pass was achieved (see the module docstring).
        passes: list passes made.
        list_requests / detail_requests: requests sent (retries not counted).
    """

    details: dict[str, T]
    complete: bool
    passes: int
    list_requests: int
    detail_requests: int


def _payload(user_id: str, payload: Any) -> Any:
    return payload


class HumaClient:
    """Plain I/O against one Huma organisation's Open API (thread-safe)."""

    def __init__(
        self,
        *,
        base_url: str,
        client_id: str,
        client_secret: str,
        max_concurrency: int = DEFAULT_HUMA_MAX_CONCURRENCY,
        timeout_seconds: float = 30.0,
        max_passes: int = 4,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """
        Args:
            max_concurrency: the most reads under way at once; fewer while Huma pushes back.
            clock: monotonic seconds, for the calm period after a `Retry-After`.
            transport: send through this instead of the network (fakes).
        """
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self._max_passes = max_passes
        #: The reads' concurrency: its `limit` now and its recent `changes`.
        self.concurrency = ConcurrencyGate(AdaptiveLimit(max_concurrency), clock=clock)
        base_url = base_url.rstrip("/")
        self._token_http = new_http_client(
            base_url=base_url, timeout_seconds=timeout_seconds, transport=transport
        )
        self.auth = HumaTokenAuth(
            token_client=self._token_http,
            client_id=client_id,
            client_secret=client_secret,
            retry=self._retry,
        )
        self._http = new_http_client(
            base_url=base_url,
            timeout_seconds=timeout_seconds,
            max_connections=max_concurrency,
            auth=self.auth,
            transport=transport,
        )
        self._lanes = Lanes(base_url=base_url, timeout_seconds=timeout_seconds, transport=transport)

    def __repr__(self) -> str:
        return f"HumaClient(base_url={str(self._http.base_url)!r})"

    def close(self) -> None:
        self._lanes.close()
        self._http.close()
        self._token_http.close()

    def __enter__(self) -> HumaClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- reads ---------------------------------------------------------------------------------

    def scan_users(
        self,
        progress: Progress | None = None,
        keep: Callable[[str, Any], T] = _payload,
    ) -> HumaScan[T]:
        """Every user's details, read consistently (see the module docstring).

        Args:
            progress: called as `progress(stage, done, total)` after each list page ("list") and
                every few hundred details ("details"), e.g. to log a long scan's progress.
            keep: called as `keep(user_id, payload)` as each answer arrives (a listed user
                that may not be requested: its list entry), in this thread; what it returns is
                kept instead of the payload, which is then let go. A user read in a pass that
                is not accepted may have been kept and not be in the result.
        """
        report = progress or _no_progress
        details: dict[str, T] = {}
        vanished: set[str] = set()
        list_requests = detail_requests = 0
        with concurrent.futures.ThreadPoolExecutor(self.concurrency.maximum) as pool:
            for attempt in range(1, self._max_passes + 1):
                ids, totals, pages, unrequestable = self._list_pass(report)
                list_requests += pages
                details.update((i, keep(i, entry)) for i, entry in unrequestable.items())
                missing = [i for i in ids if i not in details and i not in vanished]
                detail_requests += len(missing)
                payloads = _in_order(pool, self.get_user, missing, _AHEAD)
                for done, (user_id, payload) in enumerate(zip(missing, payloads, strict=True), 1):
                    if payload is None:
                        vanished.add(user_id)
                    else:
                        details[user_id] = keep(user_id, payload)
                    del payload
                    if done % _DETAILS_PER_REPORT == 0 or done == len(missing):
                        report("details", done, len(missing))
                consistent = (
                    len(set(totals)) == 1 and len(ids) == totals[0] and not (vanished & set(ids))
                )
                if consistent:
                    accepted = {i: details[i] for i in ids}
                    return HumaScan(accepted, True, attempt, list_requests, detail_requests)
                logger.warning(
                    "Huma's user list changed during pass %d (totals %s, %d ids, %d vanished); "
                    "scanning again",
                    attempt,
                    sorted(set(totals)),
                    len(ids),
                    len(vanished & set(ids)),
                )
            listed = set(ids)
            kept = {i: p for i, p in details.items() if i in listed and i not in vanished}
            return HumaScan(kept, False, self._max_passes, list_requests, detail_requests)

    def _list_pass(
        self, report: Progress
    ) -> tuple[list[str], list[int], int, dict[str, dict[str, Any]]]:
        """One pass over `GET /users`: distinct ids in order, the totals seen, pages read, and
        the list entries of the users whose id may not be requested (by id).

        Raises:
            UntrustedAnswer: an absurd `total`, or a page of users all listed already.
        """
        ids: dict[str, None] = {}
        unrequestable: dict[str, dict[str, Any]] = {}
        totals: list[int] = []
        offset = pages = 0
        while True:
            page = self._get_json("/users", {"limit": PAGE_SIZE, "offset": offset}, "list")
            pages += 1
            total, items = _page_of_users(page, f"GET /users at offset {offset}")
            if not 0 <= total <= MAX_USERS:
                raise UntrustedAnswer(
                    "huma", f"GET /users says the organisation has {total} users (total): stopped"
                )
            totals.append(total)
            before = len(ids)
            for item in items:
                user_id = item.get("id")
                key = user_id if isinstance(user_id, str) else str(user_id)
                ids[key] = None
                if huma_id_problem(user_id) is not None:
                    unrequestable[key] = item
            if items and len(ids) == before:
                raise UntrustedAnswer(
                    "huma",
                    f"GET /users at offset {offset} listed only users already listed: its paging "
                    "does not advance, stopped",
                )
            offset += len(items)
            report("list", offset, totals[-1])
            if not items or offset >= totals[-1]:
                return list(ids), totals, pages, unrequestable

    def get_user(self, user_id: str) -> Any:
        """`GET /users/{id}`: the user's `UserDetails` as decoded, None when the user no longer
        exists, or an `UnreadablePayload` when the answer is not JSON (one user's details that
        cannot be read are that user's problem, not the snapshot's)."""
        path = f"/users/{path_segment(user_id)}"
        response = self._send_read(path, None, f"GET {path}")
        if response.status_code == 404:
            return None
        _raise_for_huma(response, f"GET {path}")
        try:
            return decoded_json(response)
        except ValueError:  # not JSON, or not UTF-8 (UnicodeDecodeError is a ValueError)
            logger.warning("Huma answered GET /users/{id} with details that are not JSON")
            return UnreadablePayload("the details are not JSON in UTF-8")

    def _get_json(self, path: str, params: Mapping[str, Any] | None, what: str) -> Any:
        response = self._send_read(path, params, f"GET {path} ({what})")
        _raise_for_huma(response, f"GET {path}")
        return decoded_json(response)

    def _send_read(self, path: str, params: Mapping[str, Any] | None, what: str) -> httpx.Response:
        target = f"{path}?{urllib.parse.urlencode(params)}" if params else path
        return send_with_retries(
            lambda: self._read_once(target),
            service="huma",
            what=what,
            policy=self._retry,
            idempotent=True,
            sleep=self._sleep,
        )

    def _read_once(self, target: str) -> httpx.Response:
        """One attempt at `GET target` within the concurrency limit, its outcome reported to it;
        a 401 fetches a new token and sends once more (Huma revoked the token early)."""
        token = self.auth.token()
        with self.concurrency.slot() as sent_in:
            try:
                response = self._lanes.get(target, _bearer(token))
                if response.status_code == 401:
                    logger.info("Huma answered 401 to a valid-looking token; fetching a new one")
                    response = self._lanes.get(target, _bearer(self.auth.token(stale=token)))
            except httpx.TimeoutException:
                self.concurrency.overloaded(sent_in)
                raise
            if response.status_code in RETRY_STATUSES_FOR_READS:
                asked = retry_after_seconds(response.headers)
                self.concurrency.overloaded(sent_in, self._retry.calm_period(asked))
            else:
                self.concurrency.healthy()
            return response

    # -- writes --------------------------------------------------------------------------------

    def update_user(self, user_id: str, changes: Mapping[str, Any]) -> dict[str, Any]:
        """`PATCH /users/{id}` with `UserDetailsInput` properties; returns the new `UserDetails`.

        Raises:
            HumaApiError: Huma refused the change (its code, message and fields are kept).
            httpx.TransportError: the answer was lost; the change may or may not be applied —
                re-read the user before deciding to send it again.
        """
        path = f"/users/{path_segment(user_id)}"
        response = self._send_write("PATCH", path, changes)
        _raise_for_huma(response, f"PATCH {path}")
        return _written(response, f"PATCH {path}")

    def create_user(self, user: Mapping[str, Any]) -> dict[str, Any]:
        """`POST /users` with a `UserInput` (`email`, `givenName`, `familyName`, `groups`).

        Raises:
            HumaApiError: Huma refused the user.
            httpx.TransportError: the answer was lost; look the email up before creating again.
        """
        response = self._send_write("POST", "/users", user)
        _raise_for_huma(response, "POST /users")
        return _written(response, "POST /users")

    def find_user_id_by_email(self, email: str) -> str | None:
        """The id of the user whose login email is `email` (case-insensitive), if any."""
        page = self._get_json("/users", {"search": email, "limit": PAGE_SIZE}, "search")
        wanted = email.strip().casefold()
        for item in _page_of_users(page, "GET /users (search)")[1]:
            if str(item.get("email", "")).strip().casefold() == wanted:
                return None if huma_id_problem(item.get("id")) else item["id"]
        return None

    def _send_write(self, method: str, path: str, body: Mapping[str, Any]) -> httpx.Response:
        return send_with_retries(
            lambda: self._http.request(method, path, json=dict(body)),
            service="huma",
            what=f"{method} {path}",
            policy=self._retry,
            idempotent=False,
            sleep=self._sleep,
        )


def _page_of_users(page: Any, what: str) -> tuple[int, list[dict[str, Any]]]:
    """A list page's `total` and `items` (objects).

    Raises:
        UntrustedAnswer: the answer is not a page of users (a hostile or broken answer).
    """
    try:
        total, items = int(page["total"]), page["items"]
    except (TypeError, KeyError, ValueError, OverflowError):  # not there, or not a number
        total, items = 0, None
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise UntrustedAnswer("huma", f"{what} is not a page of users (total, items): stopped")
    return total, items


def _in_order(
    pool: concurrent.futures.Executor, work: Callable[[str], Any], items: list[str], ahead: int
) -> Iterator[Any]:
    """`pool.map(work, items)` with at most `ahead` items submitted beyond those handed on:
    `Executor.map` submits every item at once, and a future costs about 2 KB (a million users'
    would be 2 GB)."""
    pending: collections.deque[concurrent.futures.Future[Any]] = collections.deque()
    upcoming = iter(items)
    try:
        for item in itertools.islice(upcoming, ahead):
            pending.append(pool.submit(work, item))
        while pending:
            result = pending.popleft().result()
            for item in itertools.islice(upcoming, 1):
                pending.append(pool.submit(work, item))
            yield result
    finally:
        for future in pending:
            future.cancel()


def _bearer(token: str) -> list[tuple[bytes, bytes]]:
    return [(b"Authorization", f"Bearer {token}".encode())]


def _written(response: httpx.Response, what: str) -> Any:
    """A write's answer; one that cannot be read leaves the outcome unknown (`OutcomeUnknown`):
    the caller re-reads, as after a lost answer."""
    try:
        return decoded_json(response)
    except (ValueError, RecursionError):
        raise OutcomeUnknown(
            f"{what} was answered unreadably: it may have been carried out"
        ) from None


class HumaApiError(RemoteError):
    """Huma refused a request; `fields` names the fields it objected to, when it said."""

    def __init__(self, message: str, *, fields: tuple[str, ...] = (), **details: Any) -> None:
        self.fields = fields
        super().__init__("huma", message, **details)


def _raise_for_huma(response: httpx.Response, what: str) -> None:
    if response.is_success:
        return
    error = huma_error_fields(response)
    raise HumaApiError(
        f"{what}: {error.message}",
        fields=error.fields,
        status=response.status_code,
        code=error.code,
    )

"""Huma's Open API: complete user snapshots and safe writes.

A snapshot lists every user (`GET /users`, 50 per page, offset paging, active and deactivated) and
reads each one's details (`GET /users/{id}`) concurrently. Offset paging is not stable while people
are added or removed, so a scan is only accepted when it was consistent: every page reported the
same `total`, the distinct ids seen equal it, and none of them vanished before its details were
read. Otherwise the list is scanned again (up to `max_passes`); a snapshot that never settles is
marked incomplete instead of being passed off as whole.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from resources.errors import RemoteError
from resources.http import RetryPolicy, new_http_client, send_with_retries
from resources.huma_auth import HumaTokenAuth
from resources.snapshot_reading import UnreadablePayload

logger = logging.getLogger(__name__)

PAGE_SIZE = 50  # Huma's maximum `limit`
_DETAILS_PER_REPORT = 500

#: `progress(stage, done, total)`: see `HumaClient.scan_users`.
Progress = Callable[[str, int, int], None]


def _no_progress(stage: str, done: int, total: int) -> None:
    pass


@dataclasses.dataclass(frozen=True)
class HumaScan:
    """The raw result of a snapshot: one `UserDetails` payload per user, and how it went.

    Attributes:
        details: user id -> the `GET /users/{id}` payload, for every user of the accepted pass
            (an `UnreadablePayload` where the answer could not be decoded).
        complete: whether a consistent pass was achieved (see the module docstring).
        passes: list passes made.
        list_requests / detail_requests: requests sent (retries not counted).
    """

    details: dict[str, dict[str, Any] | UnreadablePayload]
    complete: bool
    passes: int
    list_requests: int
    detail_requests: int


class HumaClient:
    """Plain I/O against one Huma organisation's Open API (thread-safe)."""

    def __init__(
        self,
        *,
        base_url: str,
        client_id: str,
        client_secret: str,
        max_concurrency: int = 16,
        timeout_seconds: float = 30.0,
        max_passes: int = 4,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self._max_concurrency = max_concurrency
        self._max_passes = max_passes
        base_url = base_url.rstrip("/")
        self._token_http = new_http_client(base_url=base_url, timeout_seconds=timeout_seconds)
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
        )

    def __repr__(self) -> str:
        return f"HumaClient(base_url={str(self._http.base_url)!r})"

    def close(self) -> None:
        self._http.close()
        self._token_http.close()

    def __enter__(self) -> HumaClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- reads ---------------------------------------------------------------------------------

    def scan_users(self, progress: Progress | None = None) -> HumaScan:
        """Every user's details, read consistently (see the module docstring).

        Args:
            progress: called as `progress(stage, done, total)` after each list page ("list") and
                every few hundred details ("details"), e.g. to log a long scan's progress.
        """
        report = progress or _no_progress
        details: dict[str, dict[str, Any]] = {}
        vanished: set[str] = set()
        list_requests = detail_requests = 0
        with concurrent.futures.ThreadPoolExecutor(self._max_concurrency) as pool:
            for attempt in range(1, self._max_passes + 1):
                ids, totals, pages = self._list_pass(report)
                list_requests += pages
                missing = [i for i in ids if i not in details and i not in vanished]
                detail_requests += len(missing)
                payloads = pool.map(self.get_user, missing)
                for done, (user_id, payload) in enumerate(zip(missing, payloads, strict=True), 1):
                    if payload is None:
                        vanished.add(user_id)
                    else:
                        details[user_id] = payload
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
            kept = {i: p for i, p in details.items() if i in set(ids) and i not in vanished}
            return HumaScan(kept, False, self._max_passes, list_requests, detail_requests)

    def _list_pass(self, report: Progress) -> tuple[list[str], list[int], int]:
        """One pass over `GET /users`: distinct ids in order, the totals seen, pages read."""
        ids: dict[str, None] = {}
        totals: list[int] = []
        offset = pages = 0
        while True:
            page = self._get_json("/users", {"limit": PAGE_SIZE, "offset": offset}, "list")
            pages += 1
            totals.append(int(page["total"]))
            items = page["items"]
            ids.update((item["id"], None) for item in items)
            offset += len(items)
            report("list", offset, totals[-1])
            if not items or offset >= totals[-1]:
                return list(ids), totals, pages

    def get_user(self, user_id: str) -> Any:
        """`GET /users/{id}`: the user's `UserDetails` as decoded, None when the user no longer
        exists, or an `UnreadablePayload` when the answer is not JSON (one user's details that
        cannot be read are that user's problem, not the snapshot's)."""
        response = self._send_read(f"/users/{user_id}", None, f"GET /users/{user_id}")
        if response.status_code == 404:
            return None
        _raise_for_huma(response, f"GET /users/{user_id}")
        try:
            return response.json()
        except ValueError:  # not JSON, or not UTF-8 (UnicodeDecodeError is a ValueError)
            logger.warning("Huma answered GET /users/{id} with details that are not JSON")
            return UnreadablePayload("the details are not JSON in UTF-8")

    def _get_json(self, path: str, params: Mapping[str, Any] | None, what: str) -> Any:
        response = self._send_read(path, params, f"GET {path} ({what})")
        _raise_for_huma(response, f"GET {path}")
        return response.json()

    def _send_read(self, path: str, params: Mapping[str, Any] | None, what: str) -> httpx.Response:
        return send_with_retries(
            lambda: self._http.get(path, params=params),
            service="huma",
            what=what,
            policy=self._retry,
            idempotent=True,
            sleep=self._sleep,
        )

    # -- writes --------------------------------------------------------------------------------

    def update_user(self, user_id: str, changes: Mapping[str, Any]) -> dict[str, Any]:
        """`PATCH /users/{id}` with `UserDetailsInput` properties; returns the new `UserDetails`.

        Raises:
            HumaApiError: Huma refused the change (its code, message and fields are kept).
            httpx.TransportError: the answer was lost; the change may or may not be applied —
                re-read the user before deciding to send it again.
        """
        response = self._send_write("PATCH", f"/users/{user_id}", changes)
        _raise_for_huma(response, f"PATCH /users/{user_id}")
        return response.json()

    def create_user(self, user: Mapping[str, Any]) -> dict[str, Any]:
        """`POST /users` with a `UserInput` (`email`, `givenName`, `familyName`, `groups`).

        Raises:
            HumaApiError: Huma refused the user.
            httpx.TransportError: the answer was lost; look the email up before creating again.
        """
        response = self._send_write("POST", "/users", user)
        _raise_for_huma(response, "POST /users")
        return response.json()

    def find_user_id_by_email(self, email: str) -> str | None:
        """The id of the user whose login email is `email` (case-insensitive), if any."""
        page = self._get_json("/users", {"search": email, "limit": PAGE_SIZE}, "search")
        wanted = email.strip().casefold()
        for item in page["items"]:
            if str(item.get("email", "")).strip().casefold() == wanted:
                return item["id"]
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


class HumaApiError(RemoteError):
    """Huma refused a request; `fields` names the fields it objected to, when it said."""

    def __init__(self, message: str, *, fields: tuple[str, ...] = (), **details: Any) -> None:
        self.fields = fields
        super().__init__("huma", message, **details)


def _raise_for_huma(response: httpx.Response, what: str) -> None:
    if response.is_success:
        return
    try:
        body = response.json()
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    code = body.get("errorCode") or body.get("error")
    message = (
        body.get("errorMessage")
        or body.get("error_description")
        or body.get("message")
        or response.reason_phrase
    )
    fields = tuple(str(f) for f in body.get("fields") or ())
    if fields:
        message = f"{message} (fields: {', '.join(fields)})"
    raise HumaApiError(f"{what}: {message}", fields=fields, status=response.status_code, code=code)

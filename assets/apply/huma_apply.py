"""Huma writes: each change sent once, a lost answer settled by re-reading, creates never doubled.

Huma has no batch endpoint: changes go one request each, a few at a time. A create whose email
Huma already holds (a create that succeeded in a run that was killed before it could say so) is
linked to that user instead of being reported as a failure.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import logging
from collections.abc import Callable, Sequence
from typing import Any

import httpx

from assets.apply.results import WriteResult
from assets.apply.verify import huma_applied
from assets.apply.writes import PlannedWrite
from resources.errors import RemoteError
from resources.huma import HumaResource
from resources.huma_client import HumaApiError
from resources.retrying import RetryPolicy, TryAgain, retry

logger = logging.getLogger(__name__)

_LOST = "the answer was lost; re-read the user and found the change applied"
_NOT_APPLIED = "the answer was lost; re-read the user and the change is not there"
#: A write whose answer was lost and that the re-read did not find is sent once more, at once
#: (the re-read took its time already); a second loss ends it.
_SEND_TWICE = RetryPolicy(max_attempts=2, base_delay=0.0, max_delay=0.0)


def apply_huma(
    huma: HumaResource, writes: Sequence[PlannedWrite], *, concurrency: int = 8
) -> list[WriteResult]:
    """Send `writes` to Huma; one result per write, in order."""
    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        return list(pool.map(lambda w: _apply_one(huma, w), writes))


def _apply_one(huma: HumaResource, write: PlannedWrite) -> WriteResult:
    try:
        if write.operation == "patch":
            return _patch(huma, write)
        return _create(huma, write)
    except (RemoteError, httpx.TransportError) as exc:  # refused, or Huma kept failing
        return _failure(write, exc)


def _patch(huma: HumaResource, write: PlannedWrite) -> WriteResult:
    note = _send_or_settle(
        lambda: huma.update_user(huma_id=str(write.target_id), changes=write.body),
        lambda: huma_applied(huma.client(), write)[0],
    )
    return WriteResult(write.change_id, "applied", after=write.body, note=note)


def _create(huma: HumaResource, write: PlannedWrite) -> WriteResult:
    note = None
    client = huma.client()
    try:
        created: dict[str, Any] | None = None

        def send() -> None:
            nonlocal created
            created = huma.create_user(user=write.body)

        note = _send_or_settle(send, lambda: huma_applied(client, write)[0])
        user_id = created["id"] if created else huma_applied(client, write)[1]
    except HumaApiError as exc:
        existing = (
            client.find_user_id_by_email(str(write.lookup)) if "email" in exc.fields else None
        )
        if existing is None:
            raise
        user_id, note = existing, "Huma already had a user with this email: linked to it"
    if write.followup:
        try:
            huma.update_user(huma_id=str(user_id), changes=write.followup)
        except (HumaApiError, RemoteError, httpx.TransportError) as exc:
            failed = _failure(write, exc)
            return dataclasses.replace(
                failed,
                created_id=user_id,
                error=f"created, but the follow-up failed: {failed.error}",
            )
    return WriteResult(
        write.change_id,
        "applied",
        created_id=user_id,
        after={**write.body, **(write.followup or {})},
        note=note,
    )


def _send_or_settle(send: Callable[[], Any], applied: Callable[[], bool]) -> str | None:
    """Send; if the answer is lost, re-read: applied means done, else send once more
    (`_SEND_TWICE`: the retry policy of a write whose answer may be lost).

    Returns:
        A note when the outcome was established by re-reading or by sending again, else None.

    Raises:
        RemoteUnavailable: the answer was lost twice and the change is not in Huma.
    """
    sent = 0

    def attempt() -> str | None:
        nonlocal sent
        sent += 1
        try:
            send()
        except httpx.TransportError:
            logger.warning("a Huma write lost its answer; re-reading the user before deciding")
            return _LOST if applied() else _NOT_APPLIED
        return None if sent == 1 else "sent again after a lost answer (it was not applied)"

    def judge(outcome: str | Exception | None) -> TryAgain | None:
        if outcome is _NOT_APPLIED:
            return TryAgain("the answer was lost and the change is not in Huma")
        return None

    return retry(attempt, judge, policy=_SEND_TWICE, service="huma", what="the write")


def _failure(write: PlannedWrite, exc: Exception) -> WriteResult:
    if isinstance(exc, RemoteError):
        return WriteResult(
            write.change_id,
            "failed",
            error=exc.message,
            remote_status=exc.status,
            remote_code=exc.code,
            request_id=exc.request_id,
        )
    return WriteResult(write.change_id, "failed", error=f"{type(exc).__name__}: {exc}")

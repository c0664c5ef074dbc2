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
from resources.huma_client import HumaApiError, HumaClient

logger = logging.getLogger(__name__)

_LOST = "the answer was lost; re-read the user and found the change applied"


def apply_huma(
    client: HumaClient, writes: Sequence[PlannedWrite], *, concurrency: int = 8
) -> list[WriteResult]:
    """Send `writes` to Huma; one result per write, in order."""
    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        return list(pool.map(lambda w: _apply_one(client, w), writes))


def _apply_one(client: HumaClient, write: PlannedWrite) -> WriteResult:
    try:
        if write.operation == "patch":
            return _patch(client, write)
        return _create(client, write)
    except (RemoteError, httpx.TransportError) as exc:  # refused, or Huma kept failing
        return _failure(write, exc)


def _patch(client: HumaClient, write: PlannedWrite) -> WriteResult:
    note = _send_or_settle(
        lambda: client.update_user(str(write.target_id), write.body),
        lambda: huma_applied(client, write)[0],
    )
    return WriteResult(write.change_id, "applied", after=write.body, note=note)


def _create(client: HumaClient, write: PlannedWrite) -> WriteResult:
    note = None
    try:
        created: dict[str, Any] | None = None

        def send() -> None:
            nonlocal created
            created = client.create_user(write.body)

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
            client.update_user(str(user_id), write.followup)
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
    """Send; if the answer is lost, re-read: applied means done, else send once more.

    Returns:
        A note when the outcome was established by re-reading, else None.

    Raises:
        httpx.TransportError: the answer was lost twice and the change is not in Huma.
    """
    for attempt in range(2):
        try:
            send()
            return None if attempt == 0 else "sent again after a lost answer (it was not applied)"
        except httpx.TransportError:
            logger.warning("a Huma write lost its answer; re-reading the user before deciding")
            if applied():
                return _LOST
    raise httpx.TransportError("the answer was lost twice and the change is not in Huma")


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

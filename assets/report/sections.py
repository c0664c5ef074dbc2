"""The report's listings, each made from the plan (with outcomes) or one of the engine's frames.

Every function returns a `Listing` whose `total` counts every matching row. Sections the CSV
attachment holds keep every row; the others convert only the rows the email shows, so a run
with a million updated fields costs no more to report than one with a few hundred.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any, Final, TypeVar

import polars as pl

from assets.report import commands
from assets.report.model import (
    BlockedChange,
    CreatedUser,
    Failure,
    Listing,
    Notice,
    PendingDecision,
    UpdatedField,
    ValidationProblem,
    WebhookDeletion,
)
from assets.report.values import field_value, parse_values, person_name, values_text
from reconcile.vocabulary import (
    AWAITING_DECISION,
    BLOCKED,
    CREATE_ACTIONS,
    ENTRA,
    FAILED,
    HUMA,
    PAIR_ACTIONS,
    RESOLVE_CONFLICT,
)

#: One row per user a `users-delete` webhook named, with what the run did about them.
WEBHOOK_DELETIONS_SCHEMA: Final = pl.Schema(
    {"huma_id": pl.String(), "email": pl.String(), "outcome": pl.String()}
)

_FOLLOW_UP_FAILED: Final = "created, but the update that follows the create failed (see failures)"

Row = TypeVar("Row")


def _listing(
    frame: pl.DataFrame, make: Callable[[dict[str, Any]], Row], limit: int, *, keep_all: bool
) -> Listing[Row]:
    kept = frame if keep_all else frame.head(limit)
    return Listing(tuple(make(row) for row in kept.iter_rows(named=True)), frame.height, limit)


def user_label(row: Mapping[str, Any]) -> str:
    """Who a row is about: the email key, else a side's id."""
    return row.get("email_key") or row.get("huma_id") or row.get("entra_id") or "(unknown)"


def created_users(plan: pl.DataFrame, done: Collection[str], limit: int) -> Listing[CreatedUser]:
    """Users created: creates in a `done` status, and creates whose follow-up update failed."""
    created = plan.filter(
        pl.col("action").is_in(CREATE_ACTIONS)
        & (pl.col("status").is_in(list(done)) | pl.col("created_id").is_not_null())
    )

    def make(row: dict[str, Any]) -> CreatedUser:
        name = person_name(*(parse_values(row[c]) for c in ("to_values", "huma_values")))
        notes = [row["note"]] if row["note"] else []
        if row["status"] == FAILED:
            notes.append(_FOLLOW_UP_FAILED)
        return CreatedUser(
            change_id=row["change_id"],
            action=row["action"],
            user=user_label(row),
            name=name,
            created_id=row["created_id"],
            note="; ".join(notes) or None,
        )

    return _listing(created, make, limit, keep_all=False)


def updated_fields(plan: pl.DataFrame, done: Collection[str], limit: int) -> Listing[UpdatedField]:
    """One row per field written to a linked user (updates and decided conflicts)."""
    updated = (
        plan.filter(pl.col("action").is_in(PAIR_ACTIONS) & pl.col("status").is_in(list(done)))
        .explode("fields")
        .rename({"fields": "field"})
    )

    def make(row: dict[str, Any]) -> UpdatedField:
        return UpdatedField(
            change_id=row["change_id"],
            user=user_label(row),
            field=row["field"],
            from_value=field_value(parse_values(row["from_values"]), row["field"]),
            to_value=field_value(parse_values(row["to_values"]), row["field"]),
            direction=row["direction"] or "",
        )

    return _listing(updated, make, limit, keep_all=False)


def failures(plan: pl.DataFrame, limit: int) -> Listing[Failure]:
    """Every failed change with its remote error (the attachment lists them all)."""

    def make(row: dict[str, Any]) -> Failure:
        return Failure(
            change_id=row["change_id"],
            action=row["action"],
            user=user_label(row),
            fields=", ".join(row["fields"]),
            error=row["error"] or "no error was reported",
            remote_status=row["remote_status"],
            remote_code=row["remote_code"],
            request_id=row["request_id"],
        )

    return _listing(plan.filter(pl.col("status") == FAILED), make, limit, keep_all=True)


def pending_decisions(plan: pl.DataFrame, connection: str, limit: int) -> Listing[PendingDecision]:
    """Every change waiting for a person, with its values and the commands that decide it."""

    def make(row: dict[str, Any]) -> PendingDecision:
        huma, entra = parse_values(row["huma_values"]), parse_values(row["entra_values"])
        fields = row["fields"]
        if row["action"] == RESOLVE_CONFLICT:
            approvals = tuple(
                commands.approve(connection, row["change_id"], winner=side)
                for side in (HUMA, ENTRA)
            )
        else:
            approvals = (commands.approve(connection, row["change_id"]),)
        return PendingDecision(
            change_id=row["change_id"],
            kind=row["decision_kind"] or "",
            action=row["action"],
            status=row["status"],
            user=user_label(row),
            name=person_name(huma, entra),
            fields=", ".join(fields),
            huma_values=values_text(huma, fields),
            entra_values=values_text(entra, fields),
            reason=row["reason"] or "",
            approve_commands=approvals,
            reject_command=commands.reject(connection, row["change_id"]),
        )

    waiting = plan.filter(pl.col("status").is_in(AWAITING_DECISION))
    return _listing(waiting, make, limit, keep_all=True)


def blocked_changes(plan: pl.DataFrame, limit: int) -> Listing[BlockedChange]:
    """Every change the run will not make, with the reason it is blocked."""

    def make(row: dict[str, Any]) -> BlockedChange:
        return BlockedChange(
            change_id=row["change_id"],
            action=row["action"],
            user=user_label(row),
            fields=", ".join(row["fields"]),
            reason=row["blocked_reason"] or row["reason"] or "",
        )

    return _listing(plan.filter(pl.col("status") == BLOCKED), make, limit, keep_all=True)


def validation_problems(frame: pl.DataFrame, limit: int) -> Listing[ValidationProblem]:
    """Validation failures (`VALIDATION_FAILURES_SCHEMA`), the first `limit` converted."""

    def make(row: dict[str, Any]) -> ValidationProblem:
        return ValidationProblem(
            side=row["side"],
            user_id=row["user_id"] or "",
            user=row["email_key"] or row["user_id"] or "(unknown)",
            field=row["field"] or "",
            value=row["value"] if row["value"] is not None else "",
            rule=row["rule"] or "",
            message=row["message"] or "",
        )

    return _listing(frame, make, limit, keep_all=False)


def notices(frame: pl.DataFrame, limit: int) -> Listing[Notice]:
    """Users left alone on purpose (`NOTICES_SCHEMA`), the first `limit` converted."""

    def make(row: dict[str, Any]) -> Notice:
        return Notice(kind=row["kind"], user=user_label(row), message=row["message"] or "")

    return _listing(frame, make, limit, keep_all=False)


def webhook_deletions(frame: pl.DataFrame, limit: int) -> Listing[WebhookDeletion]:
    """Users Huma's webhooks said were deleted (`WEBHOOK_DELETIONS_SCHEMA`), the first `limit`
    converted."""

    def make(row: dict[str, Any]) -> WebhookDeletion:
        return WebhookDeletion(
            user=row["email"] or row["huma_id"], huma_id=row["huma_id"], outcome=row["outcome"]
        )

    return _listing(frame, make, limit, keep_all=False)

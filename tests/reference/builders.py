"""Small, explicit builders of snapshots and state, for tests and examples of the engine.

A default Huma user and a default Entra user describe the same person with every field in
agreement, so a test states only what differs. Frames are built against their schemas (an
all-null column would otherwise get the wrong dtype) and `email_key` is derived the way the
clients derive it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any, Final

import polars as pl

from reconcile.frames import ENTRA_USERS_SCHEMA, HUMA_USERS_SCHEMA
from reconcile.state import BASELINE_SCHEMA, DECISIONS_SCHEMA, LINKS_SCHEMA, SyncState, empty_state

RUN_AT: Final = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)

SAME_PERSON: Final[Mapping[str, Any]] = {
    "given_name": "Ann",
    "family_name": "Lee",
    "phone": "+4790000001",
    "address_line1": "Storgata 1",
    "address_postal_code": "0155",
    "address_city": "Oslo",
    "address_country": "NO",
    "employment_id": "E1",
    "hire_date": date(2020, 1, 1),
    "job_title": "Engineer",
}


def huma_user(huma_id: str = "h1", email: str = "ann.lee@example.com", **fields: Any) -> dict:
    """One Huma snapshot row: active, every field as in `SAME_PERSON` unless given; the
    `email_key` is the case-folded email unless given."""
    row = {
        "huma_id": huma_id,
        "email": email,
        **SAME_PERSON,
        "active": True,
        "deactivated_at": None,
        "unknown_fields": [],
    }
    row.update(fields)
    if "email_key" not in fields:
        row["email_key"] = row["email"].casefold() if row["email"] is not None else None
    return row


def entra_user(
    entra_id: str = "e1", mail: str | None = "ann.lee@example.com", **fields: Any
) -> dict:
    """One Entra snapshot row: an enabled cloud member, every field as in `SAME_PERSON`; the
    `email_key` is the case-folded mail (else user principal name) unless given."""
    row = {
        "entra_id": entra_id,
        "user_principal_name": mail if mail is not None else f"{entra_id}@example.com",
        "mail": mail,
        **SAME_PERSON,
        "account_enabled": True,
        "user_type": "Member",
        "on_premises_sync_enabled": None,
        "unknown_fields": [],
    }
    row.update(fields)
    if "email_key" not in fields:
        key = row["mail"] if row["mail"] is not None else row["user_principal_name"]
        row["email_key"] = key.casefold() if key is not None else None
    return row


def _frame(users: Iterable[Mapping[str, Any]], schema: pl.Schema) -> pl.DataFrame:
    rows = [dict(user) for user in users]
    for row in rows:
        unknown = sorted(set(row) - set(schema))
        if unknown:
            raise ValueError(f"unknown snapshot columns {unknown}")
    return pl.DataFrame(rows, schema=schema)


def huma_frame(*users: Mapping[str, Any]) -> pl.DataFrame:
    """A Huma snapshot of the given rows (`HUMA_USERS_SCHEMA`); unknown keys are refused."""
    return _frame(users, HUMA_USERS_SCHEMA)


def entra_frame(*users: Mapping[str, Any]) -> pl.DataFrame:
    """An Entra snapshot of the given rows (`ENTRA_USERS_SCHEMA`); unknown keys are refused."""
    return _frame(users, ENTRA_USERS_SCHEMA)


def links_frame(*pairs: tuple[str, str], at: datetime = RUN_AT) -> pl.DataFrame:
    """Links (`LINKS_SCHEMA`) made by email at `at`."""
    rows = [{"huma_id": h, "entra_id": e, "linked_at": at, "linked_by": "email"} for h, e in pairs]
    return pl.DataFrame(rows, schema=LINKS_SCHEMA)


def baseline_frame(rows: Iterable[Mapping[str, Any]]) -> pl.DataFrame:
    """A baseline (`BASELINE_SCHEMA`); each row needs `huma_id`, `field`, and may give `agreed`
    (then `has_agreed` defaults to true), `huma_seen` and `entra_seen` (default: `agreed`)."""
    built = []
    for row in rows:
        agreed = row.get("agreed")
        has_agreed = row.get("has_agreed", "agreed" in row)
        built.append(
            {
                "huma_id": row["huma_id"],
                "field": row["field"],
                "has_agreed": has_agreed,
                "agreed": agreed if has_agreed else None,
                "huma_seen": row.get("huma_seen", agreed),
                "entra_seen": row.get("entra_seen", agreed),
            }
        )
    return pl.DataFrame(built, schema=BASELINE_SCHEMA)


def decisions_frame(rows: Iterable[Mapping[str, Any]]) -> pl.DataFrame:
    """Decisions (`DECISIONS_SCHEMA`) from plan-row-like mappings plus `verdict`/`winner`."""
    built = [
        {
            "change_id": row["change_id"],
            "action": row["action"],
            "huma_id": row.get("huma_id"),
            "entra_id": row.get("entra_id"),
            "fields": list(row["fields"]),
            "verdict": row["verdict"],
            "winner": row.get("winner"),
            "huma_values": row.get("huma_values"),
            "entra_values": row.get("entra_values"),
            "decided_at": row.get("decided_at", RUN_AT),
            "decided_by": row.get("decided_by", "admin@example.com"),
        }
        for row in rows
    ]
    return pl.DataFrame(built, schema=DECISIONS_SCHEMA)


def state_with(**frames: pl.DataFrame) -> SyncState:
    """The empty state with some frames replaced (`links=`, `baseline=`, `decisions=`, ...)."""
    empty = empty_state()
    parts = {name: getattr(empty, name) for name in empty.__dataclass_fields__}
    parts.update(frames)
    return SyncState(**parts)

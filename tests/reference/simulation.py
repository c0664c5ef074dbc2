"""A faithful stand-in for the apply step, over snapshots: for tests, demos and properties.

`apply_to_snapshots` writes a plan's rows into copies of the two snapshots exactly as Graph and
Huma would store them, and reports the outcomes the real apply step would. Created users get a
deterministic id (`created-` + the change id), so a simulated run is as reproducible as a plan.
It is row-by-row Python, meant for small frames.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date
from typing import Any

import polars as pl

from reconcile.fields import ADDRESS, ADDRESS_KEYS
from reconcile.frames import ENTRA_USERS_SCHEMA, HIRE_DATE, HUMA_USERS_SCHEMA
from reconcile.outputs import APPLY_OUTCOMES_SCHEMA
from reconcile.vocabulary import (
    APPLIED,
    CREATE_ENTRA,
    CREATE_HUMA_ACTIONS,
    ENTRA_TO_HUMA,
    HUMA_TO_ENTRA,
    WRITABLE_STATUSES,
)


def _columns(values: dict[str, Any]) -> dict[str, Any]:
    """Snapshot columns from a `to_values` object (address spread over its four columns)."""
    columns: dict[str, Any] = {}
    for field, value in values.items():
        if field == ADDRESS:
            parts = value or {}
            columns.update({column: parts.get(key) for column, key in ADDRESS_KEYS.items()})
        elif field == HIRE_DATE:
            columns[field] = date.fromisoformat(value) if value else None
        else:
            columns[field] = value
    return columns


def _new_entra_user(entra_id: str, values: dict[str, Any]) -> dict[str, Any]:
    email = values["email"]
    row = dict.fromkeys(ENTRA_USERS_SCHEMA.names())
    row.update(
        entra_id=entra_id,
        user_principal_name=email,
        email_key=email.casefold(),
        account_enabled=True,
        user_type="Member",
        unknown_fields=[],
    )
    mapped = {
        k: v for k, v in values.items() if k not in {"email", "display_name", "mail_nickname"}
    }
    row.update(_columns(mapped))
    return row


def _new_huma_user(huma_id: str, values: dict[str, Any]) -> dict[str, Any]:
    row = dict.fromkeys(HUMA_USERS_SCHEMA.names())
    row.update(
        huma_id=huma_id,
        email=values["email"],
        email_key=values["email"].casefold(),
        active=True,
        unknown_fields=[],
    )
    row.update(_columns({k: v for k, v in values.items() if k != "email"}))
    return row


def apply_to_snapshots(
    huma: pl.DataFrame,
    entra: pl.DataFrame,
    plan: pl.DataFrame,
    statuses: Iterable[str] = WRITABLE_STATUSES,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Write the plan rows with the given statuses into the snapshots.

    Args:
        huma: The Huma snapshot.
        entra: The Entra snapshot.
        plan: A `sync_plan` frame.
        statuses: Which rows to apply (default: `auto_approved` and `approved`).

    Returns:
        `(huma, entra, outcomes)`: the snapshots after the writes, and one `applied` outcome per
        row written (`APPLY_OUTCOMES_SCHEMA`).
    """
    humas = {row["huma_id"]: row for row in huma.iter_rows(named=True)}
    entras = {row["entra_id"]: row for row in entra.iter_rows(named=True)}
    outcomes = []
    for row in plan.filter(pl.col("status").is_in(list(statuses))).iter_rows(named=True):
        values = json.loads(row["to_values"])
        created = None
        if row["action"] == CREATE_ENTRA:
            created = f"created-{row['change_id']}"
            entras[created] = _new_entra_user(created, values)
        elif row["action"] in CREATE_HUMA_ACTIONS:
            created = f"created-{row['change_id']}"
            humas[created] = _new_huma_user(created, values)
        elif row["direction"] == HUMA_TO_ENTRA:
            entras[row["entra_id"]].update(_columns(values))
        elif row["direction"] == ENTRA_TO_HUMA:
            humas[row["huma_id"]].update(_columns(values))
        outcomes.append(
            {"change_id": row["change_id"], "status": APPLIED, "created_id": created, "error": None}
        )
    return (
        pl.DataFrame(list(humas.values()), schema=HUMA_USERS_SCHEMA),
        pl.DataFrame(list(entras.values()), schema=ENTRA_USERS_SCHEMA),
        pl.DataFrame(outcomes, schema=APPLY_OUTCOMES_SCHEMA),
    )

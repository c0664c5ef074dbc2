"""Shared helpers of the report's tests: small engine frames by hand, and a report made of them."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import polars as pl

from assets.apply.results import APPLY_RESULTS_SCHEMA
from assets.report.build import build_run_report
from assets.report.model import RunReport
from reconcile.outputs import (
    FIELD_DIFFS_SCHEMA,
    GUARD_TRIPS_SCHEMA,
    NOTICES_SCHEMA,
    SYNC_PLAN_SCHEMA,
    VALIDATION_FAILURES_SCHEMA,
)
from reconcile.vocabulary import (
    AUTO_APPROVED,
    CREATE_ENTRA,
    CREATE_HUMA,
    ENTRA_TO_HUMA,
    HUMA_TO_ENTRA,
    RECREATE_HUMA,
    UPDATE_HUMA,
)

STARTED: Final = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
ENDED: Final = STARTED + timedelta(minutes=2, seconds=5)
SCRIPT_NAME: Final = "<script>alert(1)</script>"


def values(mapping: Mapping[str, Any] | None) -> str | None:
    """A plan `*_values` JSON object, keys sorted, compact (as the engine writes them)."""
    if mapping is None:
        return None
    return json.dumps(dict(mapping), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def plan_row(
    change_id: str,
    action: str = "update_entra",
    status: str = AUTO_APPROVED,
    *,
    email: str | None = "ann.lee@example.com",
    fields: Iterable[str] = ("job_title",),
    huma: Mapping[str, Any] | None = None,
    entra: Mapping[str, Any] | None = None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    direction: str | None = None,
    kind: str | None = None,
    reason: str = "a reason",
    blocked_reason: str | None = None,
) -> dict[str, Any]:
    """One `SYNC_PLAN_SCHEMA` row; the direction follows the action unless given."""
    toward_huma = action in (UPDATE_HUMA, CREATE_HUMA, RECREATE_HUMA)
    if direction is None and action != "resolve_conflict":
        direction = ENTRA_TO_HUMA if toward_huma else HUMA_TO_ENTRA
    return {
        "change_id": change_id,
        "action": action,
        "direction": direction,
        "huma_id": None if action in (CREATE_HUMA, RECREATE_HUMA) else f"h-{change_id}",
        "entra_id": None if action == CREATE_ENTRA else f"e-{change_id}",
        "email_key": email,
        "fields": list(fields),
        "huma_values": values(huma),
        "entra_values": values(entra),
        "from_values": values(before),
        "to_values": values(after),
        "reason": reason,
        "status": status,
        "blocked_reason": blocked_reason,
        "decision_kind": kind,
        "decided_at": None,
        "decided_by": None,
    }


def plan(*rows: Mapping[str, Any]) -> pl.DataFrame:
    """A `sync_plan` frame of the given rows."""
    return pl.DataFrame([dict(row) for row in rows], schema=SYNC_PLAN_SCHEMA)


def outcome(change_id: str, status: str = "applied", **details: Any) -> dict[str, Any]:
    """One `APPLY_RESULTS_SCHEMA` row (`created_id`, `error`, `remote_status`, ... as given)."""
    row = dict.fromkeys(APPLY_RESULTS_SCHEMA.names())
    row.update(change_id=change_id, status=status, **details)
    return row


def outcomes(*rows: Mapping[str, Any]) -> pl.DataFrame:
    """An `APPLY_RESULTS_SCHEMA` frame of the given rows."""
    return pl.DataFrame([dict(row) for row in rows], schema=APPLY_RESULTS_SCHEMA)


def frame(schema: pl.Schema, *rows: Mapping[str, Any]) -> pl.DataFrame:
    """A frame of `schema` from rows (missing keys are null)."""
    return pl.DataFrame([{name: row.get(name) for name in schema} for row in rows], schema=schema)


def guard_trip(guard: str, *, overridden: bool = False, side: str | None = None) -> dict:
    """One `GUARD_TRIPS_SCHEMA` row."""
    return {
        "guard": guard,
        "side": side,
        "observed": 0.5,
        "threshold": 0.2,
        "message": f"the {guard} guard tripped",
        "overridden": overridden,
    }


def field_diff(
    field: str,
    huma_value: str | None,
    entra_value: str | None,
    *,
    email: str = "ann.lee@example.com",
    case: str = "huma_changed",
    outcome: str = "drift",
) -> dict[str, Any]:
    """One `FIELD_DIFFS_SCHEMA` row of the pair `h-<email>` ↔ `e-<email>`."""
    return {
        "huma_id": f"h-{email}",
        "entra_id": f"e-{email}",
        "email_key": email,
        "field": field,
        "huma_value": huma_value,
        "entra_value": entra_value,
        "has_agreed": case not in ("first_sync", "missing_value", "email_mismatch"),
        "agreed_value": None,
        "case": case,
        "outcome": outcome,
        "change_id": None,
    }


def report_of(
    sync_plan: pl.DataFrame | None = None,
    results: pl.DataFrame | None = None,
    *,
    trips: Iterable[Mapping[str, Any]] = (),
    failures: Iterable[Mapping[str, Any]] = (),
    left_alone: Iterable[Mapping[str, Any]] = (),
    diffs: Iterable[Mapping[str, Any]] = (),
    **options: Any,
) -> RunReport:
    """`build_run_report` with the connection `acme`, run `run-1`, and empty frames by default."""
    arguments: dict[str, Any] = {
        "connection": "acme",
        "run_id": "run-1",
        "mode": "apply",
        "started_at": STARTED,
        "ended_at": ENDED,
        "outcome": "completed",
        "plan": sync_plan if sync_plan is not None else plan(),
        "outcomes": results if results is not None else outcomes(),
        "validation_failures": frame(VALIDATION_FAILURES_SCHEMA, *failures),
        "notices": frame(NOTICES_SCHEMA, *left_alone),
        "guard_trips": frame(GUARD_TRIPS_SCHEMA, *trips),
        "field_diffs": frame(FIELD_DIFFS_SCHEMA, *diffs),
    }
    arguments.update(options)
    return build_run_report(**arguments)

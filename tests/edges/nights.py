"""Runs as the planning step makes them, against a history file: begin, keep both snapshots,
take the comparison sizes and the held guards from the history, plan, keep the plan."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import polars as pl

from reconcile.engine import PlanResult, plan_run
from reconcile.policy import Policy
from reconcile.state import RunContext, SyncState
from resources.history import HistoryStore
from resources.history.runs import FULL, TARGETED
from tests.reference.builders import (
    baseline_frame,
    entra_frame,
    entra_user,
    huma_frame,
    huma_user,
    links_frame,
    state_with,
)

T0 = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
POPULATION = 10


def old_phone(i: int) -> str:
    return f"+4790{i:05d}"


def new_phone(i: int) -> str:
    return f"+4799{i:05d}"


def linked_state(count: int = POPULATION) -> SyncState:
    """`count` linked pairs h{i} ↔ e{i} that agreed on their old phones."""
    return state_with(
        links=links_frame(*((f"h{i}", f"e{i}") for i in range(count))),
        baseline=baseline_frame(
            {"huma_id": f"h{i}", "field": "phone", "agreed": old_phone(i)} for i in range(count)
        ),
    )


def snapshots(
    read: Iterable[int], changed: Iterable[int] = ()
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The pairs `read`, agreeing on their old phones except those `changed` in Huma."""
    read, changed = list(read), set(changed)
    huma = huma_frame(
        *(
            huma_user(
                f"h{i}",
                f"u{i}@example.com",
                phone=new_phone(i) if i in changed else old_phone(i),
                employment_id=f"E{i}",
            )
            for i in read
        )
    )
    entra = entra_frame(
        *(
            entra_user(f"e{i}", f"u{i}@example.com", phone=old_phone(i), employment_id=f"E{i}")
            for i in read
        )
    )
    return huma, entra


def night(
    store: HistoryStore,
    run_id: str,
    day: int,
    *,
    read: Iterable[int],
    changed: Iterable[int] = (),
    targeted: bool = False,
    huma_partial: bool = False,
    policy: Policy | None = None,
) -> PlanResult:
    """One run of connection `acme` over `linked_state()`, kept in `store` as a run keeps it."""
    run_at = T0 + timedelta(days=day)
    store.begin_run(
        run_id=run_id,
        connection="acme",
        mode="apply",
        started_at=run_at,
        scope=TARGETED if targeted else FULL,
    )
    huma, entra = snapshots(read, changed)
    store.record_snapshot(run_id=run_id, side="huma", users=huma, complete=not huma_partial)
    store.record_snapshot(run_id=run_id, side="entra", users=entra)
    previous = store.previous_snapshots(connection="acme", before_run_id=run_id)
    context = RunContext(
        run_at=run_at,
        verified_domains=frozenset({"example.com"}),
        previous_huma_count=previous.huma_count,
        previous_entra_count=previous.entra_count,
        huma_partial=huma_partial,
        held_trips=store.held_guard_trips(connection="acme", before_run_id=run_id),
        targeted=targeted,
    )
    result = plan_run(huma, entra, linked_state(), policy or Policy(), context)
    store.record_plan(run_id=run_id, plan=result)
    return result

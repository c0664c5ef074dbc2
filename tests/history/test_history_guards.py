"""What the history hands a run's guards (SPEC §7): the sizes to compare with, and the guards
still tripped.

Pins: the sizes come only from runs that wrote or were let through, never from a run a guard
stopped (a run after a stopped one is judged against the last good sizes, so a shrink is not
accepted by being seen twice); the guards an earlier run was stopped by are held for the next
run, with when they first tripped; a run that overrode them (who and why kept with its trips)
releases them, and its sizes become the comparison.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import polars as pl

from reconcile.context import RunContext
from reconcile.engine import PlanResult, plan_run
from reconcile.policy import Policy
from reconcile.state import empty_state
from reconcile.vocabulary import GUARD_SNAPSHOT_SHRINK, HUMA
from resources.history import HistoryStore
from tests.reference.builders import entra_frame, entra_user, huma_frame, huma_user

T0 = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)


def _night(store: HistoryStore, run_id: str, day: int, *, huma: int, **override: str) -> PlanResult:
    """One run as the planning step makes it: begin, both snapshots, context from the history,
    plan, keep the plan."""
    run_at = T0 + timedelta(days=day)
    store.begin_run(run_id=run_id, connection="acme", mode="apply", started_at=run_at)
    humas = huma_frame(*(huma_user(f"h{i}", f"u{i}@example.com") for i in range(huma)))
    entras = entra_frame(*(entra_user(f"e{i}", f"u{i}@example.com") for i in range(10)))
    store.record_snapshot(run_id=run_id, side="huma", users=humas)
    store.record_snapshot(run_id=run_id, side="entra", users=entras)
    previous = store.previous_snapshots(connection="acme", before_run_id=run_id)
    context = RunContext(
        run_at=run_at,
        previous_huma_count=previous.huma_count,
        previous_entra_count=previous.entra_count,
        held_trips=store.held_guard_trips(connection="acme", before_run_id=run_id),
    )
    if override:
        context = replace(context, guard_overrides=frozenset({GUARD_SNAPSHOT_SHRINK}), **override)
    result = plan_run(humas, entras, empty_state(), Policy(), context)
    store.record_plan(run_id=run_id, plan=result)
    return result


def test_a_stopped_run_never_becomes_the_comparison(store: HistoryStore) -> None:
    _night(store, "n1", 0, huma=10)
    stopped = _night(store, "n2", 1, huma=5)
    assert stopped.writes_stopped

    again = _night(store, "n3", 2, huma=5)

    assert store.previous_snapshots(connection="acme", before_run_id="n3").huma_count == 10
    assert again.writes_stopped
    assert (
        again.guard_trips.get_column("message")
        .item(0)
        .startswith("the huma snapshot shrank from 10 to 5 users")
    )


def test_a_tripped_guard_is_held_until_a_run_overrides_it(store: HistoryStore) -> None:
    _night(store, "n1", 0, huma=10)
    _night(store, "n2", 1, huma=5)

    [held] = store.held_guard_trips(connection="acme", before_run_id="n3")
    assert (held.guard, held.side, held.tripped_at) == (
        GUARD_SNAPSHOT_SHRINK,
        HUMA,
        T0 + timedelta(1),
    )

    # Huma is back to ten users: the guard still stops the writes until someone overrides it.
    recovered = _night(store, "n3", 2, huma=10)
    assert recovered.writes_stopped
    assert store.held_guard_trips(connection="acme", before_run_id="n4")[0].tripped_at == (
        T0 + timedelta(1)
    )

    let_through = _night(store, "n4", 3, huma=8, overridden_by="kari", override_reason="leavers")
    assert not let_through.writes_stopped
    kept = store.run_frame(run_id="n4", table="guard_trips")
    assert kept.select("overridden", "overridden_by", "override_reason").rows() == [
        (True, "kari", "leavers")
    ]

    assert store.held_guard_trips(connection="acme", before_run_id="n5") == ()
    assert store.previous_snapshots(connection="acme", before_run_id="n5").huma_count == 8
    after = _night(store, "n5", 4, huma=8)
    assert after.guard_trips.filter(pl.col("guard") == GUARD_SNAPSHOT_SHRINK).height == 0

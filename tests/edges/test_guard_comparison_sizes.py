"""The sizes the snapshot guard compares with come only from runs that wrote or were let through
(SPEC §7): a run that read its snapshots and died before its plan was never judged by the
guards, so its sizes are never the comparison (else a shrunk read, seen once by a run that
failed, would be accepted by the next run as normal)."""

from __future__ import annotations

from datetime import timedelta

from resources.history import HistoryStore
from tests.history.test_history_guards import T0, _night
from tests.reference.builders import entra_frame, entra_user, huma_frame, huma_user


def _died_before_planning(store: HistoryStore, run_id: str, day: int, *, huma: int) -> None:
    """A run whose snapshot steps kept their snapshots and whose planning step then failed."""
    store.begin_run(
        run_id=run_id, connection="acme", mode="apply", started_at=T0 + timedelta(days=day)
    )
    humas = huma_frame(*(huma_user(f"h{i}", f"u{i}@example.com") for i in range(huma)))
    entras = entra_frame(*(entra_user(f"e{i}", f"u{i}@example.com") for i in range(10)))
    store.record_snapshot(run_id=run_id, side="huma", users=humas)
    store.record_snapshot(run_id=run_id, side="entra", users=entras)


def test_a_run_that_died_before_planning_never_becomes_the_comparison(
    store: HistoryStore,
) -> None:
    _night(store, "n1", 0, huma=10)
    _died_before_planning(store, "n2", 1, huma=3)

    assert store.previous_snapshots(connection="acme", before_run_id="n3").huma_count == 10
    shrunk = _night(store, "n3", 2, huma=3)
    assert shrunk.writes_stopped
    assert (
        shrunk.guard_trips.get_column("message")
        .item(0)
        .startswith("the huma snapshot shrank from 10 to 3 users")
    )

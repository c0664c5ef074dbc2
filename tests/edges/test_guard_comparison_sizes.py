"""The sizes the snapshot guard compares with come only from runs that wrote or were let through
(SPEC §7): a run that read its snapshots and died before its plan was never judged by the
guards, so its sizes are never the comparison (else a shrunk read, seen once by a run that
failed, would be accepted by the next run as normal)."""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from reconcile.vocabulary import GUARD_SNAPSHOT_SHRINK, HUMA
from resources.history import HistoryStore
from tests.edges.nights import POPULATION, T0, night, snapshots


def test_a_run_that_died_before_planning_never_becomes_the_comparison(
    store: HistoryStore,
) -> None:
    night(store, "n1", 0, read=range(POPULATION))
    # The next run's snapshot steps keep a Huma read of three users; its planning step fails.
    store.begin_run(run_id="n2", connection="acme", mode="apply", started_at=T0 + timedelta(1))
    huma = snapshots(range(3))[0]
    store.record_snapshot(run_id="n2", side="huma", users=huma)
    store.record_snapshot(run_id="n2", side="entra", users=snapshots(range(POPULATION))[1])

    assert store.previous_snapshots(connection="acme", before_run_id="n3").huma_count == POPULATION
    shrunk = night(store, "n3", 2, read=range(3))
    trips = shrunk.guard_trips.filter(
        (pl.col("guard") == GUARD_SNAPSHOT_SHRINK) & (pl.col("side") == HUMA)
    )
    assert shrunk.writes_stopped
    assert (
        trips.get_column("message")
        .item()
        .startswith(f"the huma snapshot shrank from {POPULATION} to 3 users")
    )

"""A targeted run never releases a tripped guard (SPEC §7): a webhook arriving while the snapshot
guard holds (a full run saw Huma shrink, or read it only in part) gets a run whose writes are
stopped too, the trip is carried on in its plan, so the next full run is still stopped, and its
few users never become the sizes the next full run is compared with."""

from __future__ import annotations

import polars as pl
import pytest

from reconcile.vocabulary import BLOCKED, GUARD_SNAPSHOT_PARTIAL, GUARD_SNAPSHOT_SHRINK, HUMA
from resources.history import HistoryStore
from tests.edges.nights import POPULATION, night


@pytest.mark.parametrize(
    ("bad_night", "guard"),
    [
        pytest.param({"read": range(POPULATION // 2)}, GUARD_SNAPSHOT_SHRINK, id="huma-shrank"),
        pytest.param(
            {"read": range(POPULATION), "huma_partial": True},
            GUARD_SNAPSHOT_PARTIAL,
            id="huma-partial",
        ),
    ],
)
def test_a_targeted_run_while_a_guard_holds_writes_nothing_and_keeps_it_held(
    store: HistoryStore, bad_night: dict, guard: str
) -> None:
    night(store, "n1", 0, read=range(POPULATION))
    assert night(store, "n2", 1, **bad_night).writes_stopped

    targeted = night(store, "t3", 2, read=[3], changed=[3], targeted=True)

    assert targeted.sync_plan.get_column("status").to_list() == [BLOCKED]
    carried = targeted.guard_trips.filter(pl.col("side") == HUMA)
    assert carried.select("guard", "overridden").rows() == [(guard, False)]
    assert (guard, HUMA) in {(t.guard, t.side) for t in store.held_guard_trips(connection="acme")}
    assert store.previous_snapshots(connection="acme").huma_count == POPULATION
    recovered = night(store, "n4", 3, read=range(POPULATION), changed=[3])
    assert recovered.writes_stopped
    assert set(recovered.sync_plan.get_column("status")) == {BLOCKED}
    assert (
        recovered.guard_trips.filter((pl.col("guard") == guard) & (pl.col("side") == HUMA)).height
        == 1
    )

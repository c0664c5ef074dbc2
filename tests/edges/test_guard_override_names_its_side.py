"""An override answers the guard a person saw, on the side they saw it (SPEC §7: a tripped guard
keeps stopping the writes until a person overrides it; an override lets through what the person
saw). The snapshot guard stopped a run because Huma's snapshot shrank (or came back partial); a
person looked at Huma and overrode the guard. If the next run finds Entra's snapshot shrunk or
partial as well, nobody has seen that: it used to be let through by the same override, and a
shrunk complete Entra snapshot reads the users it lacks as deleted in Entra (their links end).
It now waits for an override of its own. The side the person saw is still let through."""

from __future__ import annotations

from dataclasses import replace

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from reconcile.engine import plan_run
from reconcile.next_state import next_state
from reconcile.outputs import APPLY_OUTCOMES_SCHEMA
from reconcile.policy import Policy
from reconcile.state import HeldTrip, RunContext
from reconcile.vocabulary import (
    ENTRA,
    GUARD_SNAPSHOT_PARTIAL,
    GUARD_SNAPSHOT_SHRINK,
    HUMA,
    NOTICE_DELETED_IN_ENTRA,
)
from tests.edges.nights import POPULATION, T0, linked_state, snapshots

OVERRIDDEN = RunContext(
    run_at=T0,
    verified_domains=frozenset({"example.com"}),
    previous_huma_count=POPULATION,
    previous_entra_count=POPULATION,
    overridden_by="kari",
    override_reason="HR archived three people in Huma; checked",
)


def _held(guard: str, observed: float | None) -> HeldTrip:
    return HeldTrip(guard, HUMA, observed, None, f"{guard} on huma", T0)


def _plan(huma_read: int, entra_read: int, context: RunContext):
    huma = snapshots(range(huma_read))[0]
    entra = snapshots(range(entra_read))[1]
    return plan_run(huma, entra, linked_state(), Policy(mass_change_min_users=100), context)


def _trip(result, guard: str, side: str) -> dict:
    [trip] = result.guard_trips.filter(
        (pl.col("guard") == guard) & (pl.col("side") == side)
    ).to_dicts()
    return trip


def test_an_override_of_huma_s_shrink_does_not_let_an_unseen_entra_shrink_through() -> None:
    context = replace(
        OVERRIDDEN,
        held_trips=(_held(GUARD_SNAPSHOT_SHRINK, 0.3),),
        guard_overrides=frozenset({GUARD_SNAPSHOT_SHRINK}),
    )

    result = _plan(huma_read=7, entra_read=5, context=context)

    assert result.writes_stopped
    assert _trip(result, GUARD_SNAPSHOT_SHRINK, HUMA)["overridden"]
    entra = _trip(result, GUARD_SNAPSHOT_SHRINK, ENTRA)
    assert not entra["overridden"], entra
    assert "not overridden" in entra["message"], entra
    # The users Entra's snapshot lacks read as deleted there; the stopped run keeps nothing of it.
    assert result.notices.filter(pl.col("kind") == NOTICE_DELETED_IN_ENTRA).height == 2
    kept = next_state(
        state := linked_state(), result, pl.DataFrame(schema=APPLY_OUTCOMES_SCHEMA), context
    )
    assert_frame_equal(kept.links, state.links)


def test_an_override_of_huma_s_partial_snapshot_does_not_cover_a_partial_entra() -> None:
    context = replace(
        OVERRIDDEN,
        held_trips=(_held(GUARD_SNAPSHOT_PARTIAL, float(POPULATION)),),
        guard_overrides=frozenset({GUARD_SNAPSHOT_PARTIAL}),
        huma_partial=True,
        entra_partial=True,
    )

    result = _plan(huma_read=POPULATION, entra_read=POPULATION, context=context)

    assert result.writes_stopped
    assert _trip(result, GUARD_SNAPSHOT_PARTIAL, HUMA)["overridden"]
    assert not _trip(result, GUARD_SNAPSHOT_PARTIAL, ENTRA)["overridden"]


@pytest.mark.parametrize(
    ("guard", "observed", "huma_read", "partial"),
    [
        pytest.param(GUARD_SNAPSHOT_SHRINK, 0.3, 7, False, id="shrink-as-seen"),
        pytest.param(GUARD_SNAPSHOT_PARTIAL, float(POPULATION), POPULATION, True, id="partial"),
    ],
)
def test_the_side_the_person_saw_is_let_through(
    guard: str, observed: float, huma_read: int, partial: bool
) -> None:
    context = replace(
        OVERRIDDEN,
        held_trips=(_held(guard, observed),),
        guard_overrides=frozenset({guard}),
        huma_partial=partial,
    )

    result = _plan(huma_read=huma_read, entra_read=POPULATION, context=context)

    assert not result.writes_stopped
    assert _trip(result, guard, HUMA)["overridden"]

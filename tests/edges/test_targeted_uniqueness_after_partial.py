"""A partial read never becomes a write (SPEC §7), through a targeted run either: the users a
targeted run did not read keep their phones and employment IDs from the latest full snapshot of
each side that the guards accepted complete, never from a partial one (a person may let a run
with a partial snapshot through; the users it missed still hold their keys). Else a webhook for
one user gets a write that repeats the phone of a user the partial read missed, which a full
run would have blocked."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import polars as pl

from assets.targeting import unread_users
from reconcile.engine import plan_run
from reconcile.policy import Policy
from reconcile.state import RunContext
from reconcile.vocabulary import (
    BLOCKED,
    GUARD_SNAPSHOT_PARTIAL,
    GUARD_SNAPSHOT_SHRINK,
    UPDATE_ENTRA,
)
from resources.history import HistoryStore
from resources.history.runs import TARGETED
from tests.edges.nights import POPULATION, T0, linked_state, old_phone
from tests.reference.builders import entra_frame, entra_user, huma_frame, huma_user

#: The phone IT gave the last Entra user, which no Huma user holds.
ENTRA_ONLY_PHONE = "+4788800009"
LAST = POPULATION - 1


def _huma(ids: range, **phones: str) -> pl.DataFrame:
    return huma_frame(
        *(
            huma_user(
                f"h{i}",
                f"u{i}@example.com",
                phone=phones.get(f"h{i}", old_phone(i)),
                employment_id=f"E{i}",
            )
            for i in ids
        )
    )


def _entra(ids: range) -> pl.DataFrame:
    def phone(i: int) -> str:
        return ENTRA_ONLY_PHONE if i == LAST else old_phone(i)

    return entra_frame(
        *(
            entra_user(f"e{i}", f"u{i}@example.com", phone=phone(i), employment_id=f"E{i}")
            for i in ids
        )
    )


def _full_run(
    store: HistoryStore, run_id: str, day: int, entra_read: range, **context: object
) -> None:
    run_at = T0 + timedelta(days=day)
    store.begin_run(run_id=run_id, connection="acme", mode="apply", started_at=run_at)
    huma, entra = _huma(range(POPULATION)), _entra(entra_read)
    partial = len(entra_read) < POPULATION
    store.record_snapshot(run_id=run_id, side="huma", users=huma)
    store.record_snapshot(run_id=run_id, side="entra", users=entra, complete=not partial)
    previous = store.previous_snapshots(connection="acme", before_run_id=run_id)
    run = RunContext(
        run_at=run_at,
        previous_huma_count=previous.huma_count,
        previous_entra_count=previous.entra_count,
        entra_partial=partial,
        **context,
    )
    store.record_plan(run_id=run_id, plan=plan_run(huma, entra, linked_state(), Policy(), run))


def test_a_targeted_write_never_repeats_a_phone_a_partial_snapshot_missed(
    store: HistoryStore,
) -> None:
    _full_run(store, "n1", 0, range(POPULATION))
    # Graph's paging stopped halfway; a person let the run through anyway.
    _full_run(
        store,
        "n2",
        1,
        range(POPULATION // 2),
        guard_overrides=frozenset({GUARD_SNAPSHOT_PARTIAL, GUARD_SNAPSHOT_SHRINK}),
        overridden_by="kari",
        override_reason="paging bug, values are fine",
    )
    assert store.held_guard_trips(connection="acme") == ()

    # HR gives user 3 the phone only the last Entra user holds; a webhook names user 3.
    run_at = T0 + timedelta(days=2)
    store.begin_run(run_id="t3", connection="acme", mode="apply", started_at=run_at, scope=TARGETED)
    huma, entra = _huma(range(3, 4), h3=ENTRA_ONLY_PHONE), _entra(range(3, 4))
    context = SimpleNamespace(
        resources=SimpleNamespace(history=SimpleNamespace(store=lambda: store)),
        run=SimpleNamespace(run_id="t3"),
    )
    unread = unread_users(context, "acme", huma_read=huma, huma_planned=huma, entra_read=entra)
    targeted = RunContext(
        run_at=run_at,
        targeted=True,
        previous_huma_count=POPULATION,
        previous_entra_count=POPULATION,
    )
    result = plan_run(huma, entra, linked_state(), Policy(), targeted, unread=unread)

    [row] = result.sync_plan.filter(pl.col("action") == UPDATE_ENTRA).to_dicts()
    assert row["status"] == BLOCKED, row

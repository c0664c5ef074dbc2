"""The users a targeted run did not read, as the history gives them (`assets.targeting.unread_keys`)
and as the engine uses them: their ids and unique keys from the latest full snapshot of each side.

Pins: a named user's write of a phone an unread Entra user holds, and of a phone and an employment
ID an unread Huma user holds, is blocked with the reasons a full run reading everybody gives (so a
key column missing from the history read, or from what the engine takes, fails here); the snapshot
of an earlier targeted run, and of a full run begun after the asking run, are not "the latest full
snapshot"; with no full run yet, nobody is unread.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from assets.targeting import unread_keys
from reconcile.engine import plan_run
from reconcile.policy import Policy
from reconcile.state import empty_state
from reconcile.vocabulary import BLOCKED
from resources.history import HistoryStore
from tests.reconcile.plan_helpers import CONTEXT
from tests.reference.builders import (
    baseline_frame,
    entra_frame,
    entra_user,
    huma_frame,
    huma_user,
    links_frame,
    state_with,
)

CONNECTION = "acme"
NIGHT = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
POLICY = Policy()
#: Held only by the Entra user e8 (no Huma side), and only by the Huma user h9 (no Entra side).
ENTRA_HOLDER_PHONE = "+47 88 88 88 88"
HUMA_HOLDER_PHONE = "+47 99 99 99 99"
HUMA_HOLDER_EMPLOYMENT_ID = "E9"


def _huma(index: int, **fields: str) -> dict:
    values = {"phone": f"+47 {index}0 00 00 00", "employment_id": f"E{index}", **fields}
    return huma_user(f"h{index}", f"u{index}@example.com", **values)


def _entra(index: int, **fields: str) -> dict:
    values = {"phone": f"+47 {index}0 00 00 00", "employment_id": f"E{index}", **fields}
    return entra_user(f"e{index}", f"u{index}@example.com", **values)


#: The company as the nightly run saw it: pairs h0-e0 and h1-e1 agreeing, a Huma-only h9 and an
#: Entra-only e8 holding the keys the named users' writes will clash with.
NIGHTLY_HUMA = huma_frame(
    _huma(0),
    _huma(1),
    _huma(9, phone=HUMA_HOLDER_PHONE, employment_id=HUMA_HOLDER_EMPLOYMENT_ID),
)
NIGHTLY_ENTRA = entra_frame(_entra(0), _entra(1), _entra(8, phone=ENTRA_HOLDER_PHONE))
#: What the targeted run reads of the named users: h0's phone changed in Huma, e1's phone and
#: employment ID changed in Entra.
NAMED_HUMA = huma_frame(_huma(0, phone=ENTRA_HOLDER_PHONE), _huma(1))
NAMED_ENTRA = entra_frame(
    _entra(0),
    _entra(1, phone=HUMA_HOLDER_PHONE, employment_id=HUMA_HOLDER_EMPLOYMENT_ID),
)
STATE = state_with(
    links=links_frame(("h0", "e0"), ("h1", "e1")),
    baseline=baseline_frame(
        {"huma_id": f"h{i}", "field": field, "agreed": value}
        for i in (0, 1)
        for field, value in (("phone", f"+47 {i}0 00 00 00"), ("employment_id", f"E{i}"))
    ),
)


def _run(store: HistoryStore, run_id: str, hours: int, *, scope: str = "full") -> None:
    store.begin_run(
        run_id=run_id,
        connection=CONNECTION,
        mode="apply",
        started_at=NIGHT + timedelta(hours=hours),
        scope=scope,
    )


def _record(store: HistoryStore, run_id: str, huma: pl.DataFrame, entra: pl.DataFrame) -> None:
    store.record_snapshot(run_id=run_id, side="huma", users=huma)
    store.record_snapshot(run_id=run_id, side="entra", users=entra)
    # The run planned (no guard stopped it): only such a run's snapshot is taken as complete.
    store.record_plan(run_id=run_id, plan=plan_run(huma, entra, empty_state(), Policy(), CONTEXT))


@pytest.fixture
def store(tmp_path: Path) -> HistoryStore:
    """A history whose latest full snapshot before run `targeted` is the nightly one, with a
    targeted run's snapshot after it and a full run begun after `targeted`."""
    history = HistoryStore(tmp_path / "history.duckdb")
    _run(history, "nightly", 0)
    _record(history, "nightly", NIGHTLY_HUMA, NIGHTLY_ENTRA)
    _run(history, "earlier-targeted", 1, scope="targeted")
    _record(history, "earlier-targeted", NAMED_HUMA, NAMED_ENTRA)
    _run(history, "targeted", 2, scope="targeted")
    _run(history, "next-nightly", 3)
    _record(history, "next-nightly", huma_frame(), entra_frame())
    return history


def _blocked(plan: pl.DataFrame) -> dict[tuple[str, str], str]:
    """(user, fields) → blocked reason of each row of the named users (all blocked)."""
    rows = plan.filter(pl.col("huma_id").is_in(["h0", "h1"]))
    assert set(rows.get_column("status")) == {BLOCKED}, rows
    return {
        (huma_id, ",".join(fields)): reason
        for huma_id, fields, reason in rows.select("huma_id", "fields", "blocked_reason").rows()
    }


def test_writes_clashing_with_unread_users_are_blocked_as_a_full_run_blocks_them(
    store: HistoryStore,
) -> None:
    unread = unread_keys(
        store,
        CONNECTION,
        run_id="targeted",
        huma_read=NAMED_HUMA,
        huma_planned=NAMED_HUMA,
        entra_read=NAMED_ENTRA,
    )
    targeted = plan_run(
        NAMED_HUMA, NAMED_ENTRA, STATE, POLICY, replace(CONTEXT, targeted=True), unread=unread
    )
    everybody_huma = pl.concat([NAMED_HUMA, NIGHTLY_HUMA.filter(pl.col("huma_id") == "h9")])
    everybody_entra = pl.concat([NAMED_ENTRA, NIGHTLY_ENTRA.filter(pl.col("entra_id") == "e8")])
    full = plan_run(everybody_huma, everybody_entra, STATE, POLICY, CONTEXT)

    reasons = _blocked(targeted.sync_plan)
    assert reasons == _blocked(full.sync_plan)
    assert reasons == {
        ("h0", "phone"): f"phone {ENTRA_HOLDER_PHONE} is already used by Entra user e8",
        ("h1", "phone"): f"phone {HUMA_HOLDER_PHONE} is already used by Huma user h9",
        ("h1", "employment_id"): (
            f"employment_id {HUMA_HOLDER_EMPLOYMENT_ID} is already used by Huma user h9"
        ),
    }


def test_without_the_unread_users_the_same_writes_go_through(store: HistoryStore) -> None:
    """The control: read alone, the named users clash with nobody."""
    targeted = plan_run(NAMED_HUMA, NAMED_ENTRA, STATE, POLICY, replace(CONTEXT, targeted=True))
    assert BLOCKED not in set(targeted.sync_plan.get_column("status"))


def test_a_read_user_left_to_the_next_run_still_holds_its_keys(store: HistoryStore) -> None:
    """h0 was read but not planned (its Entra side unread): its new phone counts as held."""
    huma, _ = unread_keys(
        store,
        CONNECTION,
        run_id="targeted",
        huma_read=NAMED_HUMA,
        huma_planned=NAMED_HUMA.filter(pl.col("huma_id") == "h1"),
        entra_read=NAMED_ENTRA,
    )
    assert dict(huma.select("huma_id", "phone").rows()) == {
        "h9": HUMA_HOLDER_PHONE,
        "h0": ENTRA_HOLDER_PHONE,
    }


def test_before_any_full_run_nobody_is_unread(tmp_path: Path) -> None:
    history = HistoryStore(tmp_path / "history.duckdb")
    _run(history, "targeted", 0, scope="targeted")
    huma, entra = unread_keys(
        history,
        CONNECTION,
        run_id="targeted",
        huma_read=NAMED_HUMA,
        huma_planned=NAMED_HUMA,
        entra_read=NAMED_ENTRA,
    )
    assert huma.is_empty()
    assert entra.is_empty()
    context = replace(CONTEXT, targeted=True)
    plan = plan_run(NAMED_HUMA, NAMED_ENTRA, STATE, POLICY, context, unread=(huma, entra))
    assert BLOCKED not in set(plan.sync_plan.get_column("status"))

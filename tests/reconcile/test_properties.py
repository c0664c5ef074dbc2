"""Properties of planning over generated worlds (Hypothesis).

Pins, for any two small snapshots, kept state and policy: planning is deterministic (and depends
neither on row order nor on the baseline being held in memory or scanned lazily); applying the
auto-approved rows and planning again yields no auto-approved row (convergence); no row deletes
anything, writes `employeeId` to Entra, touches a locked user, or, approved as it stands, makes
two Huma users share an email, phone or employment ID; for linked users the engine plans exactly
what an independent plain-Python reading of the rules plans.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconcile.bodies import graph_create_body, graph_patch_body
from reconcile.builders import (
    baseline_frame,
    entra_frame,
    entra_user,
    huma_frame,
    huma_user,
    links_frame,
    state_with,
)
from reconcile.engine import PlanResult, plan_run
from reconcile.fields import UNITS
from reconcile.frames import EMPLOYMENT_ID
from reconcile.next_state import next_state
from reconcile.policy import Policy
from reconcile.reference import plan_linked
from reconcile.simulation import apply_to_snapshots
from reconcile.state import SyncState
from reconcile.vocabulary import (
    ACTIONS,
    APPROVED,
    ASK,
    AUTO_APPROVED,
    BLOCKED,
    CREATE_ENTRA,
    ENTRA_TO_HUMA,
    HUMA_TO_ENTRA,
    REJECTED,
    RESOLVE_CONFLICT,
    UPDATE_ENTRA,
    UPDATE_HUMA,
)
from tests.reconcile.plan_helpers import CONTEXT

_PEOPLE = ("ann", "bo", "cy", "di")


def _key(person: str, prefix: str) -> st.SearchStrategy[str | None]:
    """Mostly the person's own values (keys stay unique), now and then one everybody shares."""
    own = [f"{prefix}{person}1", f"{prefix}{person}2"]
    return st.sampled_from([None, *own, *own, f"{prefix}shared"])


_NAMES = st.sampled_from(["Ann", "Bjørn", "Åse"])
_COUNTRIES = st.sampled_from([None, "NO", "SE"])
_ENTRA_COUNTRIES = st.sampled_from([None, "NO", "SE", "Norway"])
_TITLES = st.sampled_from([None, "Engineer", "Lead"])
_UNKNOWN = st.lists(st.sampled_from(["phone", "job_title", "address_city"]), max_size=1)
pytestmark = pytest.mark.slow
_EXAMPLES = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def _huma(draw: st.DrawFn, person: str) -> dict[str, Any]:
    return huma_user(
        f"h-{person}",
        draw(st.sampled_from([f"{person}@example.com", f"{person}@gmail.com"])),
        given_name=draw(_NAMES),
        phone=draw(_key(person, "+47")),
        employment_id=draw(_key(person, "E")),
        address_country=draw(_COUNTRIES),
        address_city=draw(st.sampled_from(["Oslo", "Bergen"])),
        job_title=draw(_TITLES),
        active=draw(st.sampled_from([True, True, True, False])),
        unknown_fields=draw(_UNKNOWN),
    )


@st.composite
def _entra(draw: st.DrawFn, person: str) -> dict[str, Any]:
    return entra_user(
        f"e-{person}",
        f"{person}@example.com",
        given_name=draw(st.sampled_from(["Ann", "Bjørn", "Åse", None])),
        phone=draw(_key(person, "+47")),
        employment_id=draw(_key(person, "E")),
        address_country=draw(_ENTRA_COUNTRIES),
        address_city=draw(st.sampled_from(["Oslo", None])),
        job_title=draw(_TITLES),
        account_enabled=draw(st.sampled_from([True, True, True, False])),
        user_type=draw(st.sampled_from(["Member"] * 5 + ["Guest"])),
        on_premises_sync_enabled=draw(st.sampled_from([None, None, True])),
        unknown_fields=draw(_UNKNOWN),
    )


@st.composite
def _policy(draw: st.DrawFn) -> Policy:
    directions = {
        unit.name: draw(st.sampled_from(sorted({*unit.directions, ASK}))) for unit in UNITS
    }
    return Policy(
        initial_direction=directions,
        create_entra_users_automatically=draw(st.booleans()),
        auto_apply_entra_to_huma=draw(st.booleans()),
        backfill_positions=draw(st.booleans()),
        huma_default_group_id=draw(st.sampled_from([None, "group-1"])),
        mass_change_max_share=1.0,
    )


@st.composite
def worlds(draw: st.DrawFn) -> tuple[pl.DataFrame, pl.DataFrame, SyncState, Policy]:
    """Up to four people, each in Huma, Entra or both, some linked, with a partial baseline."""
    huma, entra, links, baseline = [], [], [], []
    for person in _PEOPLE[: draw(st.integers(1, len(_PEOPLE)))]:
        where = draw(st.sampled_from(["both", "both", "huma", "entra"]))
        if where in ("both", "huma"):
            huma.append(draw(_huma(person)))
        if where in ("both", "entra"):
            entra.append(draw(_entra(person)))
        if draw(st.booleans()):
            links.append((f"h-{person}", f"e-{person}"))
            for field in draw(st.lists(st.sampled_from(["phone", "job_title", "given_name"]))):
                value = draw(st.one_of(_key(person, "+47"), _TITLES, _NAMES))
                baseline.append({"huma_id": f"h-{person}", "field": field, "agreed": value})
    unique_baseline = list({(row["huma_id"], row["field"]): row for row in baseline}.values())
    state = state_with(links=links_frame(*links), baseline=baseline_frame(unique_baseline))
    return huma_frame(*huma), entra_frame(*entra), state, draw(_policy())


def _plan(world: tuple[pl.DataFrame, pl.DataFrame, SyncState, Policy]) -> PlanResult:
    huma, entra, state, policy = world
    return plan_run(huma, entra, state, policy, CONTEXT)


@_EXAMPLES
@given(worlds())
def test_planning_is_deterministic(world: Any) -> None:
    first, second = _plan(world), _plan(world)
    huma, entra, state, policy = world
    reversed_rows = plan_run(huma.reverse(), entra.reverse(), state, policy, CONTEXT)
    lazy_state = replace(state, baseline=state.baseline.lazy())
    from_storage = plan_run(huma, entra, lazy_state, policy, CONTEXT)

    for name in ("validation_failures", "field_diffs", "conflicts", "sync_plan", "notices"):
        assert getattr(first, name).equals(getattr(second, name)), name
    assert first.sync_plan.equals(reversed_rows.sync_plan)
    assert first.sync_plan.equals(from_storage.sync_plan)


@_EXAMPLES
@given(worlds())
def test_applying_the_automatic_rows_converges(world: Any) -> None:
    huma, entra, state, policy = world
    result = _plan(world)

    huma_after, entra_after, outcomes = apply_to_snapshots(huma, entra, result.sync_plan)
    later = next_state(state, result, outcomes, CONTEXT)
    again = plan_run(huma_after, entra_after, later, policy, CONTEXT)

    assert again.sync_plan.filter(pl.col("status") == AUTO_APPROVED).height == 0, again.sync_plan


@_EXAMPLES
@given(worlds())
def test_no_row_deletes_writes_employee_id_to_entra_or_touches_a_locked_user(world: Any) -> None:
    huma, _, state, _ = world
    plan = _plan(world).sync_plan
    locked = set(huma.filter(~pl.col("active")).get_column("huma_id"))
    locked_entra = set(
        state.links.filter(pl.col("huma_id").is_in(sorted(locked))).get_column("entra_id")
    )

    assert set(plan.get_column("action")) <= set(ACTIONS)
    for row in plan.iter_rows(named=True):
        assert row["huma_id"] not in locked
        assert row["entra_id"] not in locked_entra
        if row["direction"] == HUMA_TO_ENTRA or row["action"] == RESOLVE_CONFLICT:
            assert EMPLOYMENT_ID not in row["fields"]
        if row["direction"] == HUMA_TO_ENTRA:
            body = (
                graph_create_body(row, password="x")
                if row["action"] == CREATE_ENTRA
                else graph_patch_body(row)
            )
            assert "employeeId" not in body


def _holders(huma: pl.DataFrame) -> dict[tuple[str, str], set[str]]:
    holders: dict[tuple[str, str], set[str]] = defaultdict(set)
    for row in huma.iter_rows(named=True):
        for key in ("email_key", "phone", EMPLOYMENT_ID):
            if row[key] is not None:
                holders[key, row[key]].add(row["huma_id"])
    return holders


@_EXAMPLES
@given(worlds())
def test_approving_the_plan_as_it_stands_never_makes_huma_users_share_a_key(world: Any) -> None:
    huma, entra, _, _ = world
    plan = _plan(world).sync_plan.filter(~pl.col("status").is_in([BLOCKED, REJECTED]))
    # Every question answered in Entra's favour: the most Huma writes the plan can lead to.
    approved = plan.with_columns(
        status=pl.lit(APPROVED),
        direction=pl.coalesce("direction", pl.lit(ENTRA_TO_HUMA)),
        to_values=pl.coalesce("to_values", "entra_values"),
    ).filter(pl.col("direction") == ENTRA_TO_HUMA)

    huma_after, _, _ = apply_to_snapshots(huma, entra, approved)

    before = _holders(huma)
    for key, users in _holders(huma_after).items():
        if len(users) > 1:
            assert users == before[key], (key, users)


@st.composite
def linked_worlds(draw: st.DrawFn) -> tuple[pl.DataFrame, pl.DataFrame, SyncState, Policy]:
    """Everyone in both systems and linked, with a baseline for a random part of the fields."""
    huma, entra, baseline = [], [], []
    people = _PEOPLE[: draw(st.integers(1, len(_PEOPLE)))]
    for person in people:
        huma.append(draw(_huma(person)))
        entra.append(draw(_entra(person)))
        for field in draw(st.lists(st.sampled_from([u.name for u in UNITS]), unique=True)):
            value = draw(st.one_of(_key(person, "+47"), _TITLES, _NAMES, st.just("2020-01-01")))
            seen = draw(st.one_of(st.just(value), _TITLES))
            baseline.append(
                {
                    "huma_id": f"h-{person}",
                    "field": field,
                    "has_agreed": draw(st.booleans()),
                    "agreed": value,
                    "huma_seen": seen,
                }
            )
    links = links_frame(*((f"h-{p}", f"e-{p}") for p in people))
    state = state_with(links=links, baseline=baseline_frame(baseline))
    return huma_frame(*huma), entra_frame(*entra), state, draw(_policy())


@_EXAMPLES
@given(linked_worlds())
def test_the_engine_agrees_with_the_plain_python_reading_of_the_rules(world: Any) -> None:
    huma, entra, state, policy = world
    pair_actions = [UPDATE_ENTRA, UPDATE_HUMA, RESOLVE_CONFLICT]

    engine = _plan(world).sync_plan.filter(pl.col("action").is_in(pair_actions))
    reference = plan_linked(
        huma.to_dicts(), entra.to_dicts(), state.links.to_dicts(), state.baseline.to_dicts(), policy
    )

    assert sorted(engine.select("change_id", "action", "status").rows()) == sorted(
        (row["change_id"], row["action"], row["status"]) for row in reference
    )

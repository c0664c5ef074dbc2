"""Hypothesis strategies of small worlds: two snapshots, kept state and a policy.

People (`ann`, `bo`, ...) appear in Huma, Entra or both, with values drawn from small pools so
that differences, empty values, shared keys, guests, locked and disabled users and unknown fields
all turn up, while keys stay unique often enough for plans to be non-empty.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import polars as pl
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from reconcile.fields import UNITS
from reconcile.policy import Policy
from reconcile.state import ACTIVATION_SCHEMA, SyncState
from reconcile.vocabulary import ASK
from tests.reference.builders import (
    RUN_AT,
    baseline_frame,
    entra_frame,
    entra_user,
    huma_frame,
    huma_user,
    links_frame,
    state_with,
)

#: Settings of every property over these worlds.
EXAMPLES = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
World = tuple[pl.DataFrame, pl.DataFrame, SyncState, Policy]

_PEOPLE = ("ann", "bo", "cy", "di")
#: The activation of an activated connection in `linked_worlds`: a month before the run.
ACTIVATED_AT = RUN_AT - timedelta(days=28)


def _key(person: str, prefix: str) -> st.SearchStrategy[str | None]:
    """Mostly the person's own values (keys stay unique), now and then one everybody shares."""
    own = [f"{prefix}{person}1", f"{prefix}{person}2"]
    return st.sampled_from([None, *own, *own, f"{prefix}shared"])


_NAMES = st.sampled_from(["Ann", "Bjørn", "Åse"])
_COUNTRIES = st.sampled_from([None, "NO", "SE"])
_ENTRA_COUNTRIES = st.sampled_from([None, "NO", "SE", "Norway"])
_TITLES = st.sampled_from([None, "Engineer", "Lead"])
_UNKNOWN = st.lists(st.sampled_from(["phone", "job_title", "address_city"]), max_size=1)


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
def worlds(draw: st.DrawFn) -> World:
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


@st.composite
def linked_worlds(draw: st.DrawFn) -> World:
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
    # Before activation, or after it with the pairs linked at activation or later (new pairs).
    activated = draw(st.sampled_from([None, ACTIVATED_AT]))
    linked_at = draw(st.sampled_from([ACTIVATED_AT, RUN_AT]))
    links = links_frame(*((f"h-{p}", f"e-{p}") for p in people), at=linked_at)
    activation = pl.DataFrame({"activated_at": [activated] if activated else []}, ACTIVATION_SCHEMA)
    state = state_with(links=links, baseline=baseline_frame(baseline), activation=activation)
    return huma_frame(*huma), entra_frame(*entra), state, draw(_policy())

"""A seeded mid-size world (thousands of users) where every case the engine handles turns up.

Linked pairs that agree, differ on one side, on both (conflicts) or before any agreement; email
matches of unlinked users (case aside); users on one side only; links whose Huma or Entra user is
gone; known deletions; guests, disabled, on-premises, deactivated users; shared phones, employment
ids and email keys; invalid values (country, lengths, missing names); empty and unknown values;
a partial baseline; an activation with pairs linked before and after it; and decisions on part
of a first plan. The same seed gives equal frames.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

import polars as pl

from reconcile.fields import UNITS, unit_text
from reconcile.state import (
    ACTIVATION_SCHEMA,
    BASELINE_SCHEMA,
    DELETED_HUMA_USERS_SCHEMA,
    LINKS_SCHEMA,
    SyncState,
)
from tests.reference.builders import (
    RUN_AT,
    decisions_frame,
    entra_frame,
    entra_user,
    huma_frame,
    huma_user,
    state_with,
)

_GIVEN = ["Anna", "Bjørn", "Åse", "Dag", None]
_FAMILY = ["Hansen", "Berg", "Olsen", None]
_CITIES = ["Oslo", "Bergen", None]
_COUNTRIES = ["NO", "NO", "SE", None]
_TITLES = ["Engineer", "Lead", None]
_UNKNOWN = ["phone", "job_title", "address_city", "given_name", "email", "on_premises_sync_enabled"]
ACTIVATED_AT = RUN_AT - timedelta(days=28)


def _maybe(rng: random.Random, share: float, value: Any, otherwise: Any) -> Any:
    return value if rng.random() < share else otherwise


def _fields(rng: random.Random, person: int) -> dict[str, Any]:
    """One side's values of a person: mostly the person's own, now and then shared or empty."""
    long = "x" * 70
    return {
        "given_name": _maybe(rng, 0.01, long, rng.choice(_GIVEN[:-1] * 20 + [None])),
        "family_name": rng.choice(_FAMILY[:-1] * 30 + [None]),
        "phone": _maybe(rng, 0.02, "+4799999999", _maybe(rng, 0.9, f"+47{person:08d}", None)),
        "address_line1": _maybe(rng, 0.9, f"Storgata {person % 50}", None),
        "address_postal_code": _maybe(rng, 0.9, f"{person % 9000 + 1000}", None),
        "address_city": rng.choice(_CITIES),
        "address_country": rng.choice(_COUNTRIES * 10 + ["Norway"]) if rng.random() < 0.9 else None,
        "employment_id": _maybe(
            rng, 0.01, "E-SHARED", _maybe(rng, 0.01, f"E{person:020d}", f"E{person:06d}")
        ),
        "hire_date": _maybe(rng, 0.9, date(2015, 1, 1) + timedelta(days=person % 900), None),
        "job_title": rng.choice(_TITLES),
    }


def _drift(rng: random.Random, values: dict[str, Any], share: float) -> dict[str, Any]:
    """`values` with about `share` of them redrawn (the other side's own view of the person)."""
    other = _fields(rng, rng.randrange(10**6))
    return {name: other[name] if rng.random() < share else value for name, value in values.items()}


def _unknown(rng: random.Random) -> list[str]:
    return [rng.choice(_UNKNOWN)] if rng.random() < 0.02 else []


def _people(rng: random.Random, n: int) -> tuple[list[dict], list[dict], list[tuple], list[dict]]:
    huma, entra, links, deleted = [], [], [], []
    for person in range(n):
        kind = rng.choices(
            ["linked", "unlinked", "huma", "entra", "huma_gone", "entra_gone", "guest"],
            weights=[80, 6, 4, 4, 2, 2, 2],
        )[0]
        hid, eid = f"h-{person:06d}", f"e-{person:06d}"
        email = _maybe(rng, 0.005, "shared@example.com", f"user{person}@example.com")
        mail = email.upper() if rng.random() < 0.1 else email
        values = _fields(rng, person)
        h = huma_user(
            hid,
            email,
            **values,
            active=rng.random() > 0.03,
            unknown_fields=_unknown(rng),
        )
        e = entra_user(
            eid,
            _maybe(rng, 0.97, mail, None),
            **_drift(rng, values, rng.choice([0.0, 0.0, 0.0, 0.1, 0.3])),
            account_enabled=_maybe(rng, 0.97, True, rng.choice([False, None])),
            user_type="Guest" if kind == "guest" else "Member",
            on_premises_sync_enabled=_maybe(rng, 0.03, True, None),
            unknown_fields=_unknown(rng),
        )
        if kind != "entra" and kind != "huma_gone":
            huma.append(h)
        if kind != "huma" and kind != "entra_gone":
            entra.append(e)
        if kind in ("linked", "huma_gone", "entra_gone", "guest"):
            links.append((hid, eid, RUN_AT - timedelta(days=rng.choice([60, 60, 60, 3]))))
        if kind == "unlinked" and rng.random() < 0.2:
            deleted.append({"huma_id": f"h-old-{person:06d}", "entra_id": eid})
    return huma, entra, links, deleted


def _baseline(
    rng: random.Random, huma: pl.DataFrame, entra: pl.DataFrame, links: pl.DataFrame
) -> pl.DataFrame:
    """A baseline for part of the linked fields: agreed on Huma's value, Entra's, or another."""
    entra_prefixed = entra.select(pl.all().name.prefix("e_"))
    pairs = links.join(huma, on="huma_id").join(
        entra_prefixed, left_on="entra_id", right_on="e_entra_id"
    )
    texts = pl.concat(
        pairs.select(
            "huma_id",
            pl.lit(unit.name).alias("field"),
            unit_text(unit).alias("h"),
            unit_text(unit, "e_").alias("e"),
        )
        for unit in UNITS
    )
    rows = []
    for huma_id, field, h, e in texts.iter_rows():
        draw = rng.random()
        if draw < 0.15:
            continue
        other = rng.choice([None, "Lead", "+4790000000"])
        agreed = h if draw < 0.6 else e if draw < 0.85 else other
        has_agreed = rng.random() > 0.05
        rows.append(
            {
                "huma_id": huma_id,
                "field": field,
                "has_agreed": has_agreed,
                "agreed": agreed if has_agreed else None,
                "huma_seen": _maybe(rng, 0.9, agreed, "Engineer"),
                "entra_seen": agreed,
            }
        )
    return pl.DataFrame(rows, schema=BASELINE_SCHEMA)


def mid_world(n: int, seed: int) -> tuple[pl.DataFrame, pl.DataFrame, SyncState]:
    """Snapshots of about `n` people and the kept state (no decisions yet)."""
    rng = random.Random(seed)
    huma_rows, entra_rows, link_rows, deleted_rows = _people(rng, n)
    huma, entra = huma_frame(*huma_rows), entra_frame(*entra_rows)
    links = pl.DataFrame(
        [
            {"huma_id": h, "entra_id": e, "linked_at": at, "linked_by": "email"}
            for h, e, at in link_rows
        ],
        schema=LINKS_SCHEMA,
    )
    deleted = pl.DataFrame(
        [{**row, "email_key": None, "detected_at": ACTIVATED_AT} for row in deleted_rows],
        schema=DELETED_HUMA_USERS_SCHEMA,
    )
    state = state_with(
        links=links,
        baseline=_baseline(rng, huma, entra, links),
        activation=pl.DataFrame({"activated_at": [ACTIVATED_AT]}, schema=ACTIVATION_SCHEMA),
        deleted_huma_users=deleted,
    )
    return huma, entra, state


def decisions_on(plan: pl.DataFrame, seed: int) -> pl.DataFrame:
    """Decisions on about a tenth of `plan`'s rows: approvals, rejections, conflict winners,
    and stale ones (values moved since)."""
    rng = random.Random(seed)
    rows = []
    for row in plan.iter_rows(named=True):
        if rng.random() > 0.1:
            continue
        verdict = rng.choice(["approve", "approve", "reject"])
        winner = rng.choice(["huma", "entra"]) if row["action"] == "resolve_conflict" else None
        stale = rng.random() < 0.1
        rows.append(
            {
                **row,
                "verdict": verdict,
                "winner": winner if verdict == "approve" else None,
                "huma_values": '{"x":"moved"}' if stale else row["huma_values"],
            }
        )
    return decisions_frame(rows)

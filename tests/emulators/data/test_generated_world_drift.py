"""The drift of a generated world is exactly what its manifest says.

Pinned: each manifest key lists as many people as its share asks for; a person listed under a
data drift differs in exactly that mapped field and in no other, everybody else on both sides is
in sync; the presence and status lists are exactly the people who are one-sided, deactivated,
disabled or synced; `Drift.none()` gives a perfectly synced world; shares that cannot be met are
refused.
"""

from __future__ import annotations

from dataclasses import fields

import pytest

from emulators.data import MANIFEST_KEYS, Drift, World, generate_world
from emulators.data.drift import BASELINE_KEYS, DUPLICATE_KEYS
from emulators.data.places import COUNTRY_NAMES
from tests.emulators.data.views import (
    differing_fields,
    entra_fields,
    entra_users,
    huma_fields,
    job_titles,
    pairs,
)

USERS = 2_000
# Three times the default shares: every category gets enough people to mean something.
HEAVY = Drift(**{f.name: 3 * getattr(Drift(), f.name) for f in fields(Drift)})
DATA_DRIFT = {
    "differs:given_name": {"given_name"},
    "differs:family_name": {"family_name"},
    "differs:phone": {"phone"},
    "differs:address": {"address"},
    "differs:employment_id": {"employment_id"},
    "differs:hire_date": {"hire_date"},
    "differs:job_title": {"job_title"},
    "missing:phone:huma": {"phone"},
    "missing:phone:entra": {"phone"},
    "email_case": {"email"},
    "non_iso_country": {"address"},
    "long_employment_id": {"employment_id"},
}


@pytest.fixture(scope="module")
def world() -> World:
    return generate_world(users=USERS, seed=11, drift=HEAVY)


def _claims(world: World) -> dict[str, str]:
    """Huma id → the data drift the manifest claims for that person."""
    return {pid: key for key in DATA_DRIFT for pid in world.manifest[key]}


@pytest.mark.parametrize(
    ("drift", "users"),
    [
        pytest.param(Drift(), 20_000, id="default-shares"),
        pytest.param(HEAVY, USERS, id="heavy-shares"),
    ],
)
def test_each_category_holds_as_many_people_as_its_share_asks(drift: Drift, users: int) -> None:
    world = generate_world(users=users, seed=5, drift=drift)

    for key in MANIFEST_KEYS:
        if key in BASELINE_KEYS:
            continue
        per_unit = 2 if key in DUPLICATE_KEYS else 1
        assert len(world.manifest[key]) == per_unit * drift.count(key, users), key
        assert drift.count(key, users) > 0, key


def test_every_person_on_both_sides_differs_in_exactly_the_claimed_field(world: World) -> None:
    claims, titles = _claims(world), job_titles(world)
    matched = pairs(world)

    for huma, entra in matched:
        claim = claims.get(huma["id"])
        expected = DATA_DRIFT[claim] if claim else set()
        assert differing_fields(huma_fields(huma, titles), entra_fields(entra)) == expected, claim
    assert {h["id"] for h, _ in matched} >= set(claims)


@pytest.mark.parametrize(
    ("key", "check"),
    [
        pytest.param(
            "missing:phone:huma", lambda h, e: h["phone"] is None and e["phone"], id="huma-phone"
        ),
        pytest.param(
            "missing:phone:entra", lambda h, e: h["phone"] and e["phone"] is None, id="entra-phone"
        ),
        pytest.param(
            "email_case",
            lambda h, e: h["email"].casefold() == e["email"].casefold(),
            id="email-only-by-case",
        ),
        pytest.param(
            "non_iso_country",
            lambda h, e: (
                h["address"][:3] == e["address"][:3]
                and e["address"][3] in COUNTRY_NAMES[h["address"][3]]
            ),
            id="country-spelled-out",
        ),
        pytest.param(
            "long_employment_id",
            lambda h, e: len(h["employment_id"]) > 16 and e["employment_id"] is None,
            id="long-id-only-in-huma",
        ),
    ],
)
def test_special_drift_takes_its_documented_form(world: World, key: str, check) -> None:
    titles = job_titles(world)
    carriers = set(world.manifest[key])
    found = [
        (huma_fields(h, titles), entra_fields(e)) for h, e in pairs(world) if h["id"] in carriers
    ]

    assert len(found) == len(carriers) > 0
    assert all(check(h, e) for h, e in found)


@pytest.mark.parametrize(
    ("key", "field"),
    [
        pytest.param("duplicate:email", "email", id="email"),
        pytest.param("duplicate:phone", "phone", id="phone"),
        pytest.param("duplicate:employment_id", "employmentId", id="employment-id"),
    ],
)
def test_duplicates_come_in_pairs_sharing_one_huma_value(world: World, key: str, field) -> None:
    users = {u["id"]: u for u in world.huma["users"]}
    listed = world.manifest[key]
    values = [users[pid][field] for pid in listed]

    assert len(listed) > 0
    assert values[::2] == values[1::2]
    holders = {}
    for user in world.huma["users"]:
        if user[field] is not None:  # an empty value is no key
            holders.setdefault(user[field].casefold(), []).append(user["id"])
    assert {pid for ids in holders.values() if len(ids) > 1 for pid in ids} == set(listed)


def test_presence_lists_are_exactly_the_one_sided_people(world: World) -> None:
    domain = world.entra["tenants"][0]["domains"][0]["id"]
    in_entra = {u["mail"].casefold() for u in entra_users(world)}
    in_huma = {u["email"].casefold() for u in world.huma["users"]}
    seconds = set(world.manifest["duplicate:email"][1::2])
    huma_only = {
        u["id"]
        for u in world.huma["users"]
        if u["email"].casefold() not in in_entra and u["id"] not in seconds
    }
    members = [u for u in entra_users(world) if u["userType"] == "Member"]

    assert huma_only == set(world.manifest["huma_only"]) | set(world.manifest["private_email"])
    assert {u["id"] for u in world.huma["users"] if not u["email"].endswith(f"@{domain}")} == set(
        world.manifest["private_email"]
    )
    assert {u["id"] for u in members if u["mail"].casefold() not in in_huma} == set(
        world.manifest["entra_only"]
    )
    assert {u["id"] for u in entra_users(world) if u["userType"] == "Guest"} == set(
        world.manifest["guests"]
    )


def test_status_lists_are_exactly_the_deactivated_disabled_and_synced(world: World) -> None:
    huma_of_entra = {e["id"]: h["id"] for h, e in pairs(world)}
    members = [u for u in entra_users(world) if u["id"] in huma_of_entra]

    assert {u["id"] for u in world.huma["users"] if not u["status"]["active"]} == set(
        world.manifest["deactivated"]
    )
    assert all(
        u["status"]["deactivatedAt"] for u in world.huma["users"] if not u["status"]["active"]
    )
    assert {huma_of_entra[u["id"]] for u in members if not u["accountEnabled"]} == set(
        world.manifest["disabled"]
    )
    assert {huma_of_entra[u["id"]] for u in entra_users(world) if u["onPremisesSyncEnabled"]} == (
        set(world.manifest["on_prem_synced"])
    )


def test_a_world_without_drift_is_perfectly_in_sync() -> None:
    world = generate_world(users=1_000, seed=2, drift=Drift.none())
    titles = job_titles(world)
    matched = pairs(world)

    assert len(matched) == len(world.huma["users"]) == len(entra_users(world)) == 1_000
    assert all(
        huma_fields(h, titles) == entra_fields(e)
        and h["status"]["active"]
        and e["accountEnabled"]
        and e["onPremisesSyncEnabled"] is None
        for h, e in matched
    )
    assert all(not ids for key, ids in world.manifest.items() if key not in BASELINE_KEYS)


@pytest.mark.parametrize(
    ("drift", "message"),
    [
        pytest.param(lambda: Drift(huma_only=1.5), "between 0 and 1", id="share-above-one"),
        pytest.param(lambda: Drift(deactivated=-0.1), "between 0 and 1", id="negative-share"),
        pytest.param(
            lambda: Drift(differs_phone=0.5, differs_address=0.5, huma_only=0.1),
            "more people",
            id="too-many-on-both-sides",
        ),
        pytest.param(
            lambda: Drift(huma_only=0.6, entra_only=0.6), "more people", id="too-many-one-sided"
        ),
    ],
)
def test_impossible_drift_is_refused(drift, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        generate_world(users=100, seed=1, drift=drift())

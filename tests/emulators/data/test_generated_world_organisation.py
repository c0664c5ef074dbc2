"""A generated world's Huma organisation: preferred names, teams, locations and supervisors.

Pinned: supervisors name Huma users and never form a loop; the company has a head without a
supervisor and a few more people without one; some supervisors are deactivated; some people are
in two teams, some in none, some in no location; some go by a preferred name; and the
organisation changes no other field of the world (names, positions, drift, Entra, manifest).
"""

from __future__ import annotations

from collections import Counter

import pytest

from emulators.data import World, generate_world
from emulators.data import world as world_module
from emulators.data.hierarchy import Organisation, preferred_name

USERS = 2_000
_ORGANISATION_KEYS = ("groups", "preferredName", "supervisor")


@pytest.fixture(scope="module")
def world() -> World:
    return generate_world(users=USERS, seed=31)


def _supervisors(world: World) -> dict[str, str | None]:
    return {u["id"]: u.get("supervisor") for u in world.huma["users"]}


def test_supervisors_are_huma_users_in_a_tree(world: World) -> None:
    supervisors = _supervisors(world)

    assert set(filter(None, supervisors.values())) <= set(supervisors)
    for user_id in supervisors:
        line: list[str] = []
        current: str | None = user_id
        while current is not None:
            assert current not in line, f"a loop of supervisors through {current}"
            line.append(current)
            current = supervisors[current]
    # A few levels: the head, the heads of departments, team leads, their people.
    depths = Counter(len(_line(supervisors, u)) for u in supervisors)
    assert max(depths) >= 3


def _line(supervisors: dict[str, str | None], user_id: str) -> list[str]:
    line = [user_id]
    while supervisors[line[-1]] is not None:
        line.append(supervisors[line[-1]])
    return line


def test_some_people_have_no_supervisor_and_some_supervisors_are_deactivated(
    world: World,
) -> None:
    supervisors = _supervisors(world)
    active = {u["id"]: u["status"]["active"] for u in world.huma["users"]}
    bosses = set(filter(None, supervisors.values()))
    unsupervised = [u for u, s in supervisors.items() if s is None]

    assert 1 < len(unsupervised) < 0.1 * USERS
    assert any(not active[b] for b in bosses)
    assert 0.05 * USERS < len(bosses) < 0.3 * USERS


def test_teams_and_locations_vary(world: World) -> None:
    kinds = {g["id"]: g["type"] for g in world.huma["groups"]}
    counts = [Counter(kinds[g] for g in u["groups"]) for u in world.huma["users"]]

    assert sum(c["team"] == 2 for c in counts) > 0.03 * USERS
    assert sum(c["team"] == 0 for c in counts) > 0.01 * USERS
    assert sum(c["location"] == 0 for c in counts) > 0.01 * USERS
    assert sum(c["team"] == 1 and c["location"] == 1 for c in counts) > 0.75 * USERS


def test_some_people_go_by_a_preferred_name_they_could_have(world: World) -> None:
    preferred = [u for u in world.huma["users"] if "preferredName" in u]

    assert 0.02 * USERS < len(preferred) < 0.2 * USERS
    for user in preferred:
        assert user["preferredName"] == preferred_name(user["givenName"])
        assert user["preferredName"] != user["givenName"]


def test_the_organisation_leaves_every_other_field_as_it_was(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(world_module, "organise", lambda *_: Organisation({}, {}))
    without = generate_world(users=USERS, seed=31)

    assert without.entra == world.entra
    assert without.manifest == world.manifest
    assert {k: v for k, v in without.huma.items() if k != "users"} == {
        k: v for k, v in world.huma.items() if k != "users"
    }
    for plain, organised in zip(without.huma["users"], world.huma["users"], strict=True):
        assert _without_organisation(plain) == _without_organisation(organised)
        # Memberships are the baseline's, give or take a team or location.
        assert plain["groups"][0] == organised["groups"][0]


def _without_organisation(user: dict) -> dict:
    return {k: v for k, v in user.items() if k not in _ORGANISATION_KEYS}

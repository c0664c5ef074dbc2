"""The organisation around a generated world's Huma users: preferred names, teams and locations
beyond the baseline, and who supervises whom.

Drawn from its own seeded stream after the people and their drift, so adding it changed none of
the draws (names, addresses, positions, drift) that came before. What it gives a world of the
default size:

- some people go by a preferred name: a short form (`Lars` → `Lasse`) or the first part of a
  double name (`Anne-Lise` → `Anne`), for about 40 % of those whose name has one;
- everyone starts in one team and the location of their country's office; about 10 % are in a
  second team, 4 % in no team and 3 % in no location (people working remotely);
- supervisors form a tree: the first person of a seeded shuffle heads the company, about one in
  seven people supervise others, each supervisor reports to someone earlier in that order (so
  there is never a cycle), and about 3 % of the others have no supervisor yet. A person
  deactivated in Huma may still be someone's supervisor (HR has not reassigned the team yet): the
  first such person in the shuffle always is, when there is one.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from emulators.data.company import Company
from emulators.data.people import Person

_SHARE_PREFERRED = 0.4
_SHARE_SECOND_TEAM = 0.10
_SHARE_NO_TEAM = 0.04
_SHARE_NO_LOCATION = 0.03
_SHARE_SUPERVISORS = 1 / 7
_SHARE_UNSUPERVISED = 0.03

#: Short forms people go by, for given names of `emulators.data.names`.
SHORT_FORMS: dict[str, str] = {
    "Ingeborg": "Inga", "Sigrid": "Siri", "Synnøve": "Synne", "Torbjørn": "Tobben",
    "Kristoffer": "Kris", "Magnus": "Mange", "Fredrik": "Fred", "Mikael": "Micke",
    "Lars": "Lasse", "Nils": "Nisse", "Karl": "Kalle", "Birgitta": "Gittan", "Annika": "Annie",
    "Lovisa": "Lova", "Henrik": "Henke", "Mattias": "Matte", "Gustav": "Gurra",
    "Anders": "Adde", "Birgitte": "Gitte", "Jesper": "Jeppe", "Camilla": "Milla",
    "Susanne": "Sanne", "Frederik": "Frede", "Thomas": "Tom", "Johanna": "Jonna",
    "Jaakko": "Jaska", "Heikki": "Hessu", "Matti": "Masa", "Antti": "Antsa",
    "Mohammed": "Mo", "Katarzyna": "Kasia", "Agnieszka": "Aga", "Tomasz": "Tomek", "José": "Pepe",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Organisation:
    """Per Huma id: the preferred name and the supervisor of those who have one."""

    preferred_names: dict[str, str]
    supervisors: dict[str, str]


def organise(people: list[Person], company: Company, rng: random.Random) -> Organisation:
    """Draw the organisation of the people in Huma; adjusts their `groups` (new lists)."""
    in_huma = [p for p in people if p.in_huma]
    preferred: dict[str, str] = {}
    for p in in_huma:
        name = preferred_name(p.given)
        if rng.random() < _SHARE_PREFERRED and name is not None:
            preferred[p.huma_id] = name
        p.groups = _memberships(p, company, rng)
    return Organisation(preferred, _supervisors(in_huma, rng))


def preferred_name(given: str) -> str | None:
    """A name someone called `given` may go by instead, or None."""
    if given in SHORT_FORMS:
        return SHORT_FORMS[given]
    return given.split("-")[0] if "-" in given else None


def _memberships(p: Person, company: Company, rng: random.Random) -> list[str]:
    teams = set(company.team_groups)
    groups = list(p.groups)
    if rng.random() < _SHARE_NO_TEAM:
        groups = [g for g in groups if g not in teams]
    elif rng.random() < _SHARE_SECOND_TEAM:
        current = next(g for g in groups if g in teams)
        others = [t for t in company.team_groups if t != current]
        groups.append(others[int(rng.random() * len(others))])
    if rng.random() < _SHARE_NO_LOCATION:
        offices = set(company.office_groups[p.country])
        groups = [g for g in groups if g not in offices]
    return groups


def _supervisors(people: list[Person], rng: random.Random) -> dict[str, str]:
    order = list(people)
    rng.shuffle(order)
    if len(order) < 2:
        return {}
    count = max(1, round(len(order) * _SHARE_SUPERVISORS))
    inactive = next((i for i, p in enumerate(order) if not p.active), None)
    if inactive is not None and inactive >= count:
        # Swap the first deactivated person in among the supervisors.
        at = int(rng.random() * count)
        order[at], order[inactive] = order[inactive], order[at]
    head, managers, staff = order[0], order[:count], order[count:]
    supervisors: dict[str, str] = {}
    for index, manager in enumerate(managers[1:], start=1):
        # Earlier supervisors only, favouring the first ones: a tree a few levels deep.
        boss = managers[int(rng.random() ** 2 * index)]
        supervisors[manager.huma_id] = boss.huma_id
    for p in staff:
        if rng.random() >= _SHARE_UNSUPERVISED:
            supervisors[p.huma_id] = managers[int(rng.random() * len(managers))].huma_id
    supervisors.pop(head.huma_id, None)
    return supervisors

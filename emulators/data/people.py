"""The people of a generated world, as their HR record has them, before any drift.

A `Person` holds Huma's view of one person (every mapped field) and `entra`, the values that
Entra holds differently (empty for a person in sync). Every person gets every draw, whichever
side they end up on, so the people stay the same when only the drift shares change.
"""

from __future__ import annotations

import random
from typing import Any

from emulators.data.company import CONTRACT_TYPES, JOB_TITLES, PRIVATE_DOMAINS, Company
from emulators.data.names import (
    APOSTROPHE_FAMILY_NAMES,
    FAMILY_NAMES,
    GIVEN_NAMES,
    NEWER_FAMILY_NAMES,
    NEWER_GIVEN_NAMES,
    email_local_part,
)
from emulators.data.places import COUNTRY_WEIGHTS, PhoneBook, random_address
from emulators.data.randomness import REFERENCE_DATE, UuidSource, Weighted, iso_date, recent_day

FIRST_HIRE = REFERENCE_DATE.replace(year=2000).toordinal()
LAST_START = REFERENCE_DATE.toordinal() - 32
TENANT_CREATED = REFERENCE_DATE.replace(year=2015, month=3, day=2).toordinal()
# Upcoming positions start years after the reference date so they stay UPCOMING for the
# emulators, which judge position status by today's date.
UPCOMING_FIRST = REFERENCE_DATE.replace(year=2030).toordinal()

_SHARE_NEWER_NAMES = 0.08
_SHARE_HYPHENATED = 0.03
_SHARE_APOSTROPHE = 0.003
_SHARE_ENDED_POSITION = 0.2
_SHARE_UPCOMING_POSITION = 0.03
_SHARE_CARE_OF = 0.01


class Position:
    """One Huma position: `start` and `end` are day ordinals, `title` an index of `JOB_TITLES`."""

    __slots__ = ("contract", "end", "id", "percentage", "start", "title")

    def __init__(
        self, position_id: str, start: int, end: int | None, title: int, rng: random.Random
    ) -> None:
        self.id, self.start, self.end, self.title = position_id, start, end, title
        roll = rng.random()
        self.percentage = 100 if roll < 0.85 else 80 if roll < 0.93 else 60 if roll < 0.97 else 50
        self.contract = _CONTRACTS.draw(rng)


_CONTRACTS = Weighted(CONTRACT_TYPES)
_COUNTRIES = Weighted(COUNTRY_WEIGHTS)
# When accounts get made: a minute of the working morning, to the second (drawn whole: cheaper).
_MORNING = tuple(f"T{7 + m // 60:02d}:{m % 60:02d}:{m * 37 % 60:02d}Z" for m in range(180))


class Person:
    """One person of the world: Huma's values, Entra's differing values, presence and status."""

    __slots__ = (
        "active",
        "address",
        "country",
        "created",
        "current",
        "deactivated_at",
        "email",
        "employment_id",
        "enabled",
        "entra",
        "entra_id",
        "family",
        "given",
        "groups",
        "guest",
        "hire_day",
        "huma_id",
        "in_entra",
        "in_huma",
        "line2",
        "on_prem",
        "phone",
        "positions",
    )

    address: tuple[str, str, str, str]  # line1, postalCode, city, country (ISO alpha-2)
    created: str  # Entra's createdDateTime
    current: Position
    hire_day: int  # the earliest contract start: Huma's firstContractStartDate, Entra's hire date
    phone: str | None
    employment_id: str | None
    entra: dict[str, Any]


class PeopleFactory:
    """Makes people for one company, keeping emails, phones and employment ids unique."""

    def __init__(self, company: Company, seed_streams: dict[str, random.Random]) -> None:
        self.company = company
        self.rng = seed_streams["people"]
        self.new_id = UuidSource(seed_streams["ids"])
        self.phones = PhoneBook(seed_streams["phones"])
        self._numbers = seed_streams["numbers"]
        self._numbers_taken: set[int] = set()
        self._emails_taken: dict[str, int] = {}
        self._local_parts: dict[tuple[str, str], str] = {}

    def person(self) -> Person:
        rng = self.rng
        p = Person()
        p.country = country = _COUNTRIES.draw(rng)
        p.given, p.family = self.name(country)
        p.email = self.unique_email(p.given, p.family, self.company.domain)
        p.phone = self.phones.new_number(country)
        line1, postal_code, city = random_address(country, rng)
        p.address = (line1, postal_code, city, country)
        p.line2 = f"c/o {p.family}" if rng.random() < _SHARE_CARE_OF else None
        p.employment_id = self.employment_number()
        p.positions, p.current = self.positions()
        p.hire_day = p.positions[0].start
        offices, teams = self.company.office_groups[country], self.company.team_groups
        p.groups = [
            self.company.company_group,
            offices[int(rng.random() * len(offices))],
            teams[int(rng.random() * len(teams))],
        ]
        p.huma_id, p.entra_id = self.new_id(), self.new_id()
        created = max(p.hire_day - 1 - int(rng.random() * 30), TENANT_CREATED)
        p.created = iso_date(created) + _MORNING[int(rng.random() * len(_MORNING))]
        p.entra = {}
        p.in_huma = p.in_entra = p.active = p.enabled = True
        p.guest = p.on_prem = False
        p.deactivated_at = None
        return p

    def name(self, country: str) -> tuple[str, str]:
        rng = self.rng
        newer = rng.random() < _SHARE_NEWER_NAMES
        givens = NEWER_GIVEN_NAMES if newer else GIVEN_NAMES[country]
        families = NEWER_FAMILY_NAMES if newer else FAMILY_NAMES[country]
        given = givens[int(rng.random() * len(givens))]
        family = families[int(rng.random() * len(families))]
        roll = rng.random()
        if roll < _SHARE_APOSTROPHE:
            family = rng.choice(APOSTROPHE_FAMILY_NAMES)
        elif roll < _SHARE_HYPHENATED:
            other = rng.choice(FAMILY_NAMES[country])
            if other != family:
                family = f"{family}-{other}"
        return given, family

    def unique_email(self, given: str, family: str, domain: str) -> str:
        """`given.family@domain`, with 2, 3, … appended when the address is taken."""
        base = self._local_parts.get((given, family))
        if base is None:
            base = self._local_parts[given, family] = email_local_part(given, family)
        key = f"{base}@{domain}"
        count = self._emails_taken.get(key, 0) + 1
        self._emails_taken[key] = count
        # Names hold no digits, so a numbered address never meets an unnumbered one.
        return key if count == 1 else f"{base}{count}@{domain}"

    def private_email(self, given: str, family: str) -> str:
        return self.unique_email(given, family, self.rng.choice(PRIVATE_DOMAINS))

    def employment_number(self) -> str:
        """A new `E` + digits employment id, unique in the world (at most 9 characters)."""
        while True:
            n = 10_000 + int(self._numbers.random() * 90_000_000)
            if n not in self._numbers_taken:
                self._numbers_taken.add(n)
                return f"E{n}"

    def positions(self) -> tuple[list[Position], Position]:
        """The person's positions, oldest first, and the current one.

        Everyone has one current position; some have an ended one before it (their hire date is
        the ended one's start, their job title the current one's) and some an upcoming one after
        it (then the current one ends the day before).
        """
        rng, new_id = self.rng, self.new_id
        hire = recent_day(rng, FIRST_HIRE, LAST_START)
        title = int(rng.random() * len(JOB_TITLES))
        positions = []
        if LAST_START - hire > 365 and rng.random() < _SHARE_ENDED_POSITION:
            end = hire + 180 + int(rng.random() * (LAST_START - hire - 180))
            positions.append(Position(new_id(), hire, end, title, rng))
            hire, title = end + 1, another_index(rng, title, len(JOB_TITLES))
        current = Position(new_id(), hire, None, title, rng)
        positions.append(current)
        if rng.random() < _SHARE_UPCOMING_POSITION:
            start = UPCOMING_FIRST + int(rng.random() * 365)
            next_title = another_index(rng, title, len(JOB_TITLES))
            positions.append(Position(new_id(), start, None, next_title, rng))
            current.end = start - 1
        return positions, current


def another_index(rng: random.Random, index: int, size: int) -> int:
    """An index in `range(size)` other than `index`."""
    return (index + 1 + int(rng.random() * (size - 1))) % size

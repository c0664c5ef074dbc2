"""Deal the drift categories out to the people and make each one true of their records.

`deal_drift` picks who carries which drift (see `emulators.data.drift` for the families and how
they may overlap) and changes those people so that the drift holds and nothing else differs.
It returns, per manifest key, the people concerned (duplicates as holder, second holder, …).
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from collections.abc import Callable, Iterator

from emulators.data.company import JOB_TITLES
from emulators.data.drift import (
    DUPLICATE_KEYS,
    FIELD_DRIFT_KEYS,
    OTHER_DATA_KEYS,
    PRESENCE_KEYS,
    STATUS_KEYS,
    Drift,
)
from emulators.data.names import FAMILY_NAMES, GIVEN_NAMES, NEWER_GIVEN_NAMES, ascii_fold
from emulators.data.people import (
    FIRST_HIRE,
    LAST_START,
    PeopleFactory,
    Person,
    another_index,
)
from emulators.data.places import COUNTRY_NAMES, random_address
from emulators.data.randomness import REFERENCE_DATE, iso_instant

_DEACTIVATED_FROM = REFERENCE_DATE.replace(year=REFERENCE_DATE.year - 1).toordinal()


def deal_drift(
    people: list[Person], drift: Drift, factory: PeopleFactory, rng: random.Random
) -> dict[str, list[Person]]:
    """Give `drift` to `people` in place; the people per manifest key (without baseline keys).

    Raises:
        ValueError: when the shares need more people than there are.
    """
    users = len(people)
    one_sided = {key: drift.count(key, users) for key in PRESENCE_KEYS}
    second_email_holders = drift.count("duplicate:email", users)  # in Huma only
    on_both = {key: drift.count(key, users) for key in FIELD_DRIFT_KEYS + OTHER_DATA_KEYS}
    on_both["duplicate:email"] = second_email_holders
    on_both.update((key, 2 * drift.count(key, users)) for key in DUPLICATE_KEYS[1:])
    status = {key: drift.count(key, users) for key in STATUS_KEYS}
    off_both = sum(one_sided.values()) + second_email_holders
    if off_both + max(sum(on_both.values()), sum(status.values())) > users:
        raise ValueError(f"the drift shares need more people than the {users} users")

    # Only the people who drift are drawn: shuffling everyone costs seconds at a million.
    drawn = rng.sample(range(users), off_both + sum(on_both.values()))
    deck = (people[i] for i in drawn)
    dealt = {key: list(itertools.islice(deck, count)) for key, count in one_sided.items()}
    seconds = list(itertools.islice(deck, second_email_holders))
    dealt |= {key: list(itertools.islice(deck, count)) for key, count in on_both.items()}
    dealt["duplicate:email"] = _pairs(dealt["duplicate:email"], seconds)
    status_deck = (people[i] for i in _distinct_indices(rng, users, set(drawn[:off_both])))
    dealt |= {key: list(itertools.islice(status_deck, count)) for key, count in status.items()}

    changes = _Applier(factory, rng).changes
    for key, carriers in dealt.items():
        if key in DUPLICATE_KEYS:
            for holder, second in zip(carriers[::2], carriers[1::2], strict=True):
                changes[key](holder, second)
        else:
            for person in carriers:
                changes[key](person)
    return dealt


def _pairs(holders: list[Person], second_holders: list[Person]) -> list[Person]:
    return [p for pair in zip(holders, second_holders, strict=True) for p in pair]


def _distinct_indices(rng: random.Random, size: int, excluded: set[int]) -> Iterator[int]:
    """Indices of `range(size)` in random order, each once, none of `excluded` (which grows)."""
    while len(excluded) < size:
        index = int(rng.random() * size)
        if index not in excluded:
            excluded.add(index)
            yield index


class _Applier:
    """How each manifest key changes the people who carry it."""

    def __init__(self, factory: PeopleFactory, rng: random.Random) -> None:
        self.factory, self.rng = factory, rng
        self.changes: dict[str, Callable[..., None]] = {
            "huma_only": self.huma_only,
            "private_email": self.private_email,
            "entra_only": self.entra_only,
            "guests": self.guest,
            "differs:given_name": self.given_name,
            "differs:family_name": self.family_name,
            "differs:phone": self.phone,
            "differs:address": self.address,
            "differs:employment_id": self.employment_id,
            "differs:hire_date": self.hire_date,
            "differs:job_title": self.job_title,
            "missing:phone:huma": self.missing_phone_huma,
            "missing:phone:entra": self.missing_phone_entra,
            "email_case": self.email_case,
            "non_iso_country": self.non_iso_country,
            "long_employment_id": self.long_employment_id,
            "duplicate:email": self.duplicate_email,
            "duplicate:phone": self.duplicate_phone,
            "duplicate:employment_id": self.duplicate_employment_id,
            "deactivated": self.deactivated,
            "disabled": self.disabled,
            "on_prem_synced": self.on_prem_synced,
        }

    # -- presence -------------------------------------------------------------------------------

    def huma_only(self, p: Person) -> None:
        p.in_entra = False

    def private_email(self, p: Person) -> None:
        p.in_entra = False
        p.email = self.factory.private_email(p.given, p.family)

    def entra_only(self, p: Person) -> None:
        p.in_huma = False

    def guest(self, p: Person) -> None:
        p.in_huma, p.guest = False, True
        p.email = self.factory.private_email(p.given, p.family)

    # -- one differing field: Entra keeps the value from before --------------------------------

    def given_name(self, p: Person) -> None:
        folded = ascii_fold(p.given)  # an old system that could not store the letter
        if folded == p.given:
            pool = GIVEN_NAMES.get(p.country, ())
            pool = pool if p.given in pool else NEWER_GIVEN_NAMES
            folded = pool[another_index(self.rng, pool.index(p.given), len(pool))]
        p.entra["given"] = folded

    def family_name(self, p: Person) -> None:
        pool = FAMILY_NAMES[p.country]
        before = pool[int(self.rng.random() * len(pool))]
        p.entra["family"] = before if before != p.family else f"{before}-{pool[0]}"

    def phone(self, p: Person) -> None:
        p.entra["phone"] = self.factory.phones.new_number(p.country)

    def address(self, p: Person) -> None:
        line1, postal_code, city = random_address(p.country, self.rng)
        if line1 == p.address[0]:
            line1 = f"{line1}B"
        p.entra["address"] = (line1, postal_code, city, p.country)

    def employment_id(self, p: Person) -> None:
        p.entra["employment_id"] = self.factory.employment_number()

    def hire_date(self, p: Person) -> None:
        hire, shift = p.hire_day, 30 + int(self.rng.random() * 670)
        shift = shift if self.rng.random() < 0.5 else -shift
        p.entra["hire"] = hire + shift if FIRST_HIRE <= hire + shift <= LAST_START else hire - shift

    def job_title(self, p: Person) -> None:
        first = p.positions[0]  # an ended position before the current one: the title before
        title = first.title if first is not p.current else p.current.title
        if title == p.current.title:
            title = another_index(self.rng, title, len(JOB_TITLES))
        p.entra["title"] = title

    # -- other data drift -----------------------------------------------------------------------

    def missing_phone_huma(self, p: Person) -> None:
        p.entra["phone"], p.phone = p.phone, None

    def missing_phone_entra(self, p: Person) -> None:
        p.entra["phone"] = None

    def email_case(self, p: Person) -> None:
        local, domain = p.email.split("@")
        p.entra["email"] = ".".join(s.capitalize() for s in local.split(".")) + "@" + domain

    def non_iso_country(self, p: Person) -> None:
        p.entra["country"] = self.rng.choice(COUNTRY_NAMES[p.country])

    def long_employment_id(self, p: Person) -> None:
        # Huma takes up to 255 characters, Graph's employeeId 16: this one never reached Entra.
        year = dt.date.fromordinal(p.hire_day).year
        p.employment_id = f"{p.country}-EXT-{year}-{p.employment_id[1:]:0>8}"
        p.entra["employment_id"] = None

    def duplicate_email(self, holder: Person, second: Person) -> None:
        second.in_entra = False  # a second HR profile: Entra cannot hold a second such address
        second.email = holder.email

    def duplicate_phone(self, holder: Person, second: Person) -> None:
        second.phone = holder.phone  # on both sides: Graph does not require unique phones

    def duplicate_employment_id(self, holder: Person, second: Person) -> None:
        second.employment_id = holder.employment_id  # nor unique employee ids

    # -- status ---------------------------------------------------------------------------------

    def deactivated(self, p: Person) -> None:
        day = _DEACTIVATED_FROM + int(self.rng.random() * 365)
        p.active, p.deactivated_at = False, iso_instant(day, int(self.rng.random() * 86_400))

    def disabled(self, p: Person) -> None:
        p.enabled = False

    def on_prem_synced(self, p: Person) -> None:
        p.on_prem = True

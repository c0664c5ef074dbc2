"""Where the generated people live and how they are called: addresses and mobile numbers.

Street names, cities and postal-code ranges are real-looking for each country; numbers follow
each country's mobile numbering in the grouping people write them in (`+47 912 34 567`,
`+46 70 123 45 67`, `+45 21 23 45 67`, `+358 40 123 4567`).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from emulators.data.names import words
from emulators.data.randomness import Weighted

#: Where the generated people live, and their shares of the workforce (the company is Norwegian).
COUNTRY_WEIGHTS: dict[str, float] = {"NO": 0.55, "SE": 0.2, "DK": 0.15, "FI": 0.1}

#: How people also write the country: what the non-ISO drift puts in Entra's free-text `country`.
COUNTRY_NAMES: dict[str, tuple[str, ...]] = {
    "NO": ("Norway", "Norge"),
    "SE": ("Sweden", "Sverige"),
    "DK": ("Denmark", "Danmark"),
    "FI": ("Finland", "Suomi"),
}


@dataclass(frozen=True, slots=True)
class City:
    """A city and the span of postal codes drawn for it (`first`..`last`, every `step`)."""

    name: str
    first: int
    last: int
    step: int
    weight: float


CITIES: dict[str, tuple[City, ...]] = {
    "NO": (
        City("Oslo", 150, 1295, 1, 0.45),
        City("Bergen", 5003, 5098, 1, 0.15),
        City("Trondheim", 7010, 7099, 1, 0.12),
        City("Stavanger", 4005, 4099, 1, 0.1),
        City("Tromsø", 9006, 9020, 1, 0.05),
        City("Kristiansand", 4608, 4639, 1, 0.05),
        City("Drammen", 3011, 3048, 1, 0.04),
        City("Fredrikstad", 1601, 1641, 1, 0.04),
    ),
    "SE": (
        City("Stockholm", 11120, 11895, 5, 0.45),
        City("Göteborg", 41101, 41879, 5, 0.2),
        City("Malmö", 21115, 21774, 5, 0.15),
        City("Uppsala", 75220, 75758, 5, 0.08),
        City("Linköping", 58222, 58937, 5, 0.06),
        City("Västerås", 72210, 72481, 5, 0.06),
    ),
    "DK": (
        City("København", 1050, 2450, 1, 0.5),
        City("Aarhus", 8000, 8270, 10, 0.2),
        City("Odense", 5000, 5270, 10, 0.12),
        City("Aalborg", 9000, 9220, 10, 0.1),
        City("Esbjerg", 6700, 6715, 5, 0.08),
    ),
    "FI": (
        City("Helsinki", 100, 990, 10, 0.45),
        City("Espoo", 2100, 2940, 10, 0.15),
        City("Tampere", 33100, 33900, 10, 0.15),
        City("Turku", 20100, 20900, 10, 0.13),
        City("Oulu", 90100, 90940, 10, 0.12),
    ),
}

STREETS: dict[str, tuple[str, ...]] = {
    "NO": words(
        """
        Storgata Kirkegata Parkveien Skolegata Strandgata Sjøgata Fjellveien Kongens_gate
        Dronningens_gate Thorvald_Meyers_gate Bjørnstjerne_Bjørnsons_gate Markveien Løkkeveien
        Solbakken Granveien Bjørkeveien Eikelundveien Ringveien Nedre_Slottsgate Øvre_Torggate
        Tollbugata Havnegata Nygårdsgaten Åsveien
        """
    ),
    "SE": words(
        """
        Drottninggatan Storgatan Kungsgatan Vasagatan Sveavägen Götgatan Linnégatan Skolgatan
        Järnvägsgatan Hantverkargatan Folkungagatan Södra_Förstadsgatan Tegnérgatan Odengatan
        Björkvägen Ekvägen Ringvägen Kyrkogatan Åsögatan Nybrogatan
        """
    ),
    "DK": words(
        """
        Vesterbrogade Nørrebrogade Østerbrogade Strandvejen Algade Jernbanegade Søndergade
        Nørregade Vestergade Amagerbrogade Frederiksberg_Allé Gammel_Kongevej Skolevej
        Kirkevej Bredgade Åboulevarden Ryesgade Klostergade
        """
    ),
    "FI": words(
        """
        Mannerheimintie Aleksanterinkatu Hämeenkatu Kauppakatu Puistokatu Rantakatu Koulukatu
        Itäinen_Pitkäkatu Kirkkokatu Satamakatu Runeberginkatu Fredrikinkatu Hämeentie
        Mäkelänkatu Länsiväylä Koivukuja Pihlajatie
        """
    ),
}


def postal_code(country: str, code: int) -> str:
    """The code as the country writes it (`0155`, `111 20`, `2100`, `00100`)."""
    if country == "SE":
        return f"{code // 100} {code % 100:02d}"
    if country == "FI":
        return f"{code:05d}"
    return f"{code:04d}"


# Every postal code of every city, each city's weight spread over its codes.
_POSTAL_AREAS = {
    country: Weighted(
        [
            ((postal_code(country, code), city.name), city.weight / len(codes))
            for city in cities
            for codes in [range(city.first, city.last + 1, city.step)]
            for code in codes
        ],
        resolution=16384,
    )
    for country, cities in CITIES.items()
}
_STREET_NAMES = {
    country: tuple(street.replace("_", " ") for street in streets)
    for country, streets in STREETS.items()
}


def street_line(country: str, rng: random.Random) -> str:
    """A `line1` as people of `country` write it (Danish floors, Finnish stairways and flats)."""
    streets = _STREET_NAMES[country]
    street = streets[int(rng.random() * len(streets))]
    number = 1 + int(rng.random() ** 2 * 140)
    roll = rng.random()
    if roll < 0.12 and country in ("NO", "SE"):
        return f"{street} {number}{'ABC'[int(roll * 25)]}"
    if roll < 0.35 and country == "DK":
        return f"{street} {number}, {1 + int(roll * 14)}. {('tv', 'th', 'mf')[int(roll * 400) % 3]}"
    if roll < 0.4 and country == "FI":
        return f"{street} {number} {'ABCD'[int(roll * 10)]} {1 + int(rng.random() * 40)}"
    return f"{street} {number}"


def random_address(country: str, rng: random.Random) -> tuple[str, str, str]:
    """`(line1, postalCode, city)` somewhere in `country`."""
    code, city = _POSTAL_AREAS[country].draw(rng)
    return street_line(country, rng), code, city


@dataclass(frozen=True, slots=True)
class MobilePlan:
    """A country's mobile numbers: `size` numbers, the `index`-th spelled by `spell`."""

    size: int
    spell: Callable[[int], str]


def _norway(n: int) -> str:
    d = f"{'49'[n // 10**7]}{n % 10**7:07d}"
    return f"+47 {d[:3]} {d[3:5]} {d[5:]}"


def _sweden(n: int) -> str:
    d = f"7{'02369'[n // 10**7]}{n % 10**7:07d}"
    return f"+46 {d[:2]} {d[2:5]} {d[5:7]} {d[7:]}"


def _denmark(n: int) -> str:
    d = f"{'234569'[n // 10**7]}{n % 10**7:07d}"
    return f"+45 {d[:2]} {d[2:4]} {d[4:6]} {d[6:]}"


def _finland(n: int) -> str:
    d = f"4{'0123456'[n // 10**7]}{n % 10**7:07d}"
    return f"+358 {d[:2]} {d[2:5]} {d[5:]}"


MOBILE_PLANS: dict[str, MobilePlan] = {
    "NO": MobilePlan(2 * 10**7, _norway),
    "SE": MobilePlan(5 * 10**7, _sweden),
    "DK": MobilePlan(6 * 10**7, _denmark),
    "FI": MobilePlan(7 * 10**7, _finland),
}


class PhoneBook:
    """Hands out mobile numbers, never the same one twice (phones are unique in Huma)."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._taken: dict[str, set[int]] = {country: set() for country in MOBILE_PLANS}

    def new_number(self, country: str) -> str:
        plan, taken = MOBILE_PLANS[country], self._taken[country]
        while True:
            n = int(self._rng.random() * plan.size)
            if n not in taken:
                taken.add(n)
                return plan.spell(n)

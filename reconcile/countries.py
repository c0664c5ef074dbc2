"""The 249 officially assigned ISO 3166-1 alpha-2 country codes, and the address rule built on them.

Huma's `homeAddress.country` must be one of them, and Entra's free-text `country` is synchronised to
Huma only when it is one (SPEC §3). A static set keeps the rules free of a country-data dependency;
codes are upper case, exactly as ISO writes them, so `"no"` is not accepted.

`huma_address_refusal` is the one rule for an address going from Entra into Huma (an update of a
linked pair, or a create in Huma): Huma's `AddressUpdateInput` takes every part with an ISO
country, and has no way to clear an address.
"""

from __future__ import annotations

from typing import Final

import polars as pl

# fmt: off
ISO_3166_ALPHA2: Final[frozenset[str]] = frozenset((
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
    "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
    "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
    "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
    "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
    "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
    "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
    "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
    "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
    "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
    "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW",
))
# fmt: on


def is_iso_country(country: pl.Expr) -> pl.Expr:
    """Whether the value is one of the codes (false, never null, for an empty one)."""
    return country.is_in(sorted(ISO_3166_ALPHA2)).fill_null(value=False)


def huma_address_refusal(*, country: pl.Expr, complete: pl.Expr, empty: pl.Expr) -> pl.Expr:
    """Why Huma cannot take an address from Entra; null when it can.

    Args:
        country: Entra's country.
        complete: Whether every part (line 1, postal code, city, country) is filled.
        empty: Whether every part is empty (the address was cleared in Entra).

    Returns:
        A String expression: the reason, or null for an address Huma takes.
    """
    return (
        pl.when(empty)
        .then(pl.lit("the address is empty in Entra ID, and Huma cannot clear an address"))
        .when(country.is_not_null() & ~is_iso_country(country))
        .then(
            pl.format(
                "Entra's country {} is not an ISO 3166-1 alpha-2 code; Huma takes no such address",
                country,
            )
        )
        .when(~complete)
        .then(pl.lit("Huma needs line 1, postal code, city and country of an address"))
        .otherwise(pl.lit(None, pl.String))
    )

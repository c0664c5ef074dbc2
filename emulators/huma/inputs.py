"""Checks of what clients send: query parameters and the `UserDetailsInput` / `UserInput` bodies.

Each check returns the accepted values and the names of the fields that failed, so the caller can
answer one 400 `field:invalid-format` naming all of them, as Huma's spec shapes it. Properties
of the inputs that the emulator does not model (birthDate, bankAccount, invite, …) are checked for
their JSON type and otherwise ignored; unknown properties are ignored (Spring's Jackson default),
except the group lists `UserDetails` serves but `UserDetailsInput` lacks (`teams`, `locations`,
`companies`, `groups`): a client sending them means to change memberships, which `PATCH` cannot
do (Huma changes them through `POST`/`DELETE /users/{id}/groups`), so they are refused by name
rather than silently dropped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from emulators.huma.records import ADDRESS_KEYS, parse_uuid

INT32_MAX = 2**31 - 1
MAX_TEXT = 255
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_TRUE = frozenset({"true", "on", "yes", "1"})
_FALSE = frozenset({"false", "off", "no", "0"})
#: The 249 officially assigned ISO 3166-1 alpha-2 codes.
COUNTRIES = frozenset(
    """AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ
    BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO
    DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU
    GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW
    KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU
    MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW
    PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF
    TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA
    ZM ZW""".split()  # noqa: SIM905 - a list literal of 249 strings would be unreadable
)
#: Served by `UserDetails`, absent from `UserDetailsInput`: refused in `PATCH /users/{id}`.
GROUP_LISTS = ("teams", "locations", "companies", "groups")
_IGNORED_TYPES: dict[str, type | tuple[type, ...]] = {
    "nationality": str,
    "birthDate": str,
    "civilStatus": str,
    "gender": str,
    "dietaryRequirements": str,
    "interests": list,
    "funfacts": str,
    "bankAccount": dict,
    "relevantExperienceInMonths": int,
    "relevantExperienceInYears": int,
    "seniorityNote": str,
    "excludeFromInsights": bool,
    "excludeFromSurveys": bool,
    "privateEmail": str,
    "custom": dict,
    "invite": bool,
    "inviteSubject": str,
    "inviteMessage": str,
    "inviteLanguage": str,
}


def query_int(raw: str | None, default: int, *, maximum: int = INT32_MAX) -> int | None:
    """An integer query parameter in [0, maximum], the default when absent, None when invalid."""
    if raw is None:
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        return None
    return value if 0 <= value <= maximum else None


def query_bool(raw: str | None) -> tuple[bool | None, bool]:
    """(value, ok) of a boolean query parameter (Spring's spellings); (None, True) when absent."""
    if raw is None or raw == "":
        return None, True
    lowered = raw.strip().lower()
    if lowered in _TRUE:
        return True, True
    if lowered in _FALSE:
        return False, True
    return None, False


def query_list(values: list[str], *, uuids: bool) -> list[str] | None:
    """A multi-valued query parameter (repeated or comma-separated), maxItems 25; None if bad."""
    items = [part.strip() for value in values for part in value.split(",") if part.strip()]
    if len(items) > 25:
        return None
    if uuids:
        parsed = [parse_uuid(item) for item in items]
        return None if None in parsed else [p for p in parsed if p is not None]
    return items


def _text_ok(value: Any) -> bool:
    return isinstance(value, str) and len(value) <= MAX_TEXT


def _ignored_ok(name: str, value: Any) -> bool:
    expected = _IGNORED_TYPES[name]
    if value is None:
        return True
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, expected)


def check_name_and_email(body: Mapping[str, Any], names: tuple[str, ...]) -> tuple[dict, list]:
    """givenName, familyName (non-blank, ≤255) and email (an address, ≤255) among `names`."""
    accepted: dict[str, Any] = {}
    bad: list[str] = []
    for name in names:
        value = body[name]
        valid = _text_ok(value) and value.strip() != ""
        if name == "email":
            valid = valid and _EMAIL.fullmatch(value.strip()) is not None
        if valid:
            accepted[name] = value
        else:
            bad.append(name)
    return accepted, bad


def check_optional_text(body: Mapping[str, Any], name: str) -> tuple[dict, list]:
    """preferredName, phone, employmentId: a string ≤255; "" or null clears the field."""
    value = body[name]
    if value is None or value == "":
        return {name: None}, []
    return ({name: value}, []) if _text_ok(value) else ({}, [name])


def check_supervisor(body: Mapping[str, Any]) -> tuple[dict, list]:
    """supervisor: a user id (format uuid); null clears it (that the user exists, and that the
    line of supervisors stays free of cycles, is the caller's to check)."""
    value = body["supervisor"]
    if value is None:
        return {"supervisor": None}, []
    parsed = parse_uuid(value)
    return ({"supervisor": parsed}, []) if parsed else ({}, ["supervisor"])


def check_address_input(value: Any) -> tuple[dict[str, Any] | None, list[str]]:
    """`AddressUpdateInput`: all six properties present as strings (≤255); line1, postalCode and
    city not blank (a stored `Address` requires them); country an ISO 3166-1 alpha-2 code.
    null clears the address. Returns (address, bad field names like `homeAddress.country`)."""
    if value is None:
        return None, []
    if not isinstance(value, Mapping):
        return None, ["homeAddress"]
    bad = []
    for key in ADDRESS_KEYS:
        text = value.get(key)
        blank = (
            key in ("line1", "postalCode", "city") and isinstance(text, str) and not text.strip()
        )
        if not _text_ok(text) or blank or (key == "country" and text not in COUNTRIES):
            bad.append(f"homeAddress.{key}")
    if bad:
        return None, bad
    return {key: value[key] for key in ADDRESS_KEYS}, []


def check_details_input(body: Any) -> tuple[dict[str, Any], list[str]]:
    """`PATCH /users/{id}` body: the modelled changes, and the bad fields."""
    if not isinstance(body, Mapping):
        return {}, []
    names = tuple(n for n in ("givenName", "familyName", "email") if n in body)
    changes, bad = check_name_and_email(body, names)
    for name in ("preferredName", "phone", "employmentId"):
        if name in body:
            accepted, failed = check_optional_text(body, name)
            changes.update(accepted)
            bad += failed
    if "supervisor" in body:
        accepted, failed = check_supervisor(body)
        changes.update(accepted)
        bad += failed
    bad += [name for name in GROUP_LISTS if name in body]
    if "homeAddress" in body:
        address, failed = check_address_input(body["homeAddress"])
        if failed:
            bad += failed
        else:
            changes["homeAddress"] = address
    bad += [n for n in _IGNORED_TYPES if n in body and not _ignored_ok(n, body[n])]
    return changes, bad


def check_user_input(body: Any) -> tuple[dict[str, Any], list[str]]:
    """`POST /users` body (`UserInput`): the new user's fields (groups as UUIDs), and bad fields."""
    if not isinstance(body, Mapping):
        return {}, []
    required = ("givenName", "familyName", "email")
    bad = [n for n in required if n not in body]
    accepted, failed = check_name_and_email(body, tuple(n for n in required if n in body))
    bad += failed
    for name in ("preferredName", "phone"):
        if name in body:
            value, failed = check_optional_text(body, name)
            accepted.update(value)
            bad += failed
    if "supervisor" in body:
        value, failed = check_supervisor(body)
        accepted.update(value)
        bad += failed
    groups = body.get("groups")
    parsed = [parse_uuid(g) for g in groups] if isinstance(groups, list) else None
    if not parsed or None in parsed or len(set(parsed)) != len(parsed):
        bad.append("groups")
    else:
        accepted["groups"] = parsed
    bad += [n for n in _IGNORED_TYPES if n in body and not _ignored_ok(n, body[n])]
    return accepted, list(dict.fromkeys(bad))

"""Huma `UserDetails` payloads -> the `huma_users` frame (`reconcile.frames.HUMA_USERS_SCHEMA`).

Huma wraps most fields as `{"value": …, "editable": …}`. A wrapper without `value` is an empty
field; a wrapper that is absent altogether was not returned (the key may not read it): the field
is *unknown* and listed in `unknown_fields`, so it is never written and never clears anything.

A user whose id is not a UUID was never requested (`huma_client`): its payload is its list entry
(plain `email` and names), every other field is unknown, and so is `huma_id`, which validation
holds out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

import polars as pl

from reconcile.frames import (
    ADDRESS_FIELDS,
    EMPLOYMENT_ID,
    FAMILY_NAME,
    GIVEN_NAME,
    HIRE_DATE,
    HUMA_USERS_SCHEMA,
    JOB_TITLE,
    PHONE,
)
from resources.normalise import email_key, iso_date, iso_datetime, rows_to_frame, text
from resources.remote_ids import huma_id_problem

_ABSENT = object()
#: Plain wrapped string fields: UserDetails property -> concept name.
_WRAPPED_TEXT = {
    "givenName": GIVEN_NAME,
    "familyName": FAMILY_NAME,
    "phone": PHONE,
    "employmentId": EMPLOYMENT_ID,
}
#: Huma address properties -> concept names, in `ADDRESS_FIELDS` order.
_ADDRESS_PARTS = dict(zip(("line1", "postalCode", "city", "country"), ADDRESS_FIELDS, strict=True))


def huma_users_frame(payloads: Iterable[Mapping[str, Any]]) -> pl.DataFrame:
    """One row per `UserDetails` payload, normalised, with exactly `HUMA_USERS_SCHEMA`."""
    return rows_to_frame((huma_user_row(p) for p in payloads), HUMA_USERS_SCHEMA)


def huma_user_row(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The normalised row of one `GET /users/{id}` payload."""
    if huma_id_problem(payload.get("id")) is not None:
        return _unrequested_row(payload)
    unknown: list[str] = []
    row: dict[str, Any] = {"huma_id": payload["id"]}

    email = _unwrap(payload, "email")
    row["email"] = None if email is _ABSENT else text(email)
    row["email_key"] = email_key(row["email"])

    for prop, concept in _WRAPPED_TEXT.items():
        value = _unwrap(payload, prop)
        if value is _ABSENT:
            unknown.append(concept)
        row[concept] = None if value is _ABSENT else text(value)

    address = _unwrap(payload, "homeAddress")
    for part, concept in _ADDRESS_PARTS.items():
        if address is _ABSENT:
            unknown.append(concept)
            row[concept] = None
        else:
            row[concept] = text((address or {}).get(part))

    hire_date = _unwrap(payload, "firstContractStartDate")
    if hire_date is _ABSENT:
        unknown.append(HIRE_DATE)
    row[HIRE_DATE] = None if hire_date is _ABSENT else iso_date(hire_date)

    positions = payload.get("currentPositions", _ABSENT)
    if positions is _ABSENT:
        unknown.append(JOB_TITLE)
        row[JOB_TITLE] = None
    else:
        row[JOB_TITLE] = current_job_title(positions or [])

    status = payload.get("status") or {}
    row["active"] = bool(status.get("active", True))
    row["deactivated_at"] = iso_datetime(status.get("deactivatedAt"))
    row["unknown_fields"] = unknown
    return row


def _unrequested_row(entry: Mapping[str, Any]) -> dict[str, Any]:
    """The row of a listed user whose id may not be requested: what the list entry says, the
    rest unknown."""
    email = text(entry.get("email"))
    known = {"email", GIVEN_NAME, FAMILY_NAME}
    concepts = [*_WRAPPED_TEXT.values(), *_ADDRESS_PARTS.values(), HIRE_DATE, JOB_TITLE]
    return {
        "huma_id": str(entry.get("id")),
        "email": email,
        "email_key": email_key(email),
        GIVEN_NAME: text(entry.get("givenName")),
        FAMILY_NAME: text(entry.get("familyName")),
        **{concept: None for concept in concepts if concept not in known},
        "active": True,
        "deactivated_at": None,
        "unknown_fields": ["huma_id", *(c for c in concepts if c not in known)],
    }


def current_job_title(positions: Iterable[Mapping[str, Any]]) -> str | None:
    """The title of the CURRENT position; with several, the one that started last."""
    current = [p for p in positions if p.get("status") == "CURRENT"]
    if not current:
        return None
    latest = max(
        current,
        key=lambda p: (iso_date(p.get("contractStartDate")) or dt.date.min, str(p.get("id"))),
    )
    return text((latest.get("title") or {}).get("name"))


def _unwrap(payload: Mapping[str, Any], prop: str) -> Any:
    """The `value` of a wrapped field; None when the wrapper has none; `_ABSENT` without wrapper."""
    wrapper = payload.get(prop, _ABSENT)
    if wrapper is _ABSENT:
        return _ABSENT
    return None if wrapper is None else wrapper.get("value")

"""Graph user objects -> the `entra_users` frame (`reconcile.frames.ENTRA_USERS_SCHEMA`).

With an explicit `$select`, Graph returns every selected property, `null` when empty; a property
missing from the object altogether was not returned and is *unknown* (`unknown_fields`). An
object id that is not a GUID is unknown too (`entra_id` in `unknown_fields`): validation holds
that user out, and no request ever carries the id.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import polars as pl

from reconcile.frames import (
    ADDRESS_CITY,
    ADDRESS_COUNTRY,
    ADDRESS_LINE1,
    ADDRESS_POSTAL_CODE,
    EMPLOYMENT_ID,
    ENTRA_USERS_SCHEMA,
    FAMILY_NAME,
    GIVEN_NAME,
    HIRE_DATE,
    JOB_TITLE,
    PHONE,
)
from resources.normalise import email_key, iso_date, rows_to_frame, text
from resources.remote_ids import graph_id_problem

#: Graph property -> concept name, for the mapped fields.
GRAPH_PROPERTIES = {
    "givenName": GIVEN_NAME,
    "surname": FAMILY_NAME,
    "mobilePhone": PHONE,
    "streetAddress": ADDRESS_LINE1,
    "postalCode": ADDRESS_POSTAL_CODE,
    "city": ADDRESS_CITY,
    "country": ADDRESS_COUNTRY,
    "employeeId": EMPLOYMENT_ID,
    "employeeHireDate": HIRE_DATE,
    "jobTitle": JOB_TITLE,
}


def entra_users_frame(users: Iterable[Mapping[str, Any]]) -> pl.DataFrame:
    """One row per Graph user object, normalised, with exactly `ENTRA_USERS_SCHEMA`."""
    return rows_to_frame((entra_user_row(u) for u in users), ENTRA_USERS_SCHEMA)


def entra_user_row(user: Mapping[str, Any]) -> dict[str, Any]:
    """The normalised row of one Graph user object."""
    mail = text(user.get("mail"))
    upn = text(user.get("userPrincipalName"))
    entra_id = user.get("id")
    row: dict[str, Any] = {
        "entra_id": entra_id if isinstance(entra_id, str) else str(entra_id),
        "user_principal_name": upn,
        "mail": mail,
        "email_key": email_key(mail or upn),
        "account_enabled": user.get("accountEnabled"),
        "user_type": text(user.get("userType")),
        "on_premises_sync_enabled": bool(user.get("onPremisesSyncEnabled")),
    }
    unknown = [] if graph_id_problem(entra_id) is None else ["entra_id"]
    for prop, concept in GRAPH_PROPERTIES.items():
        if prop not in user:
            unknown.append(concept)
            row[concept] = None
        elif concept == HIRE_DATE:
            row[concept] = iso_date(user[prop])
        else:
            row[concept] = text(user[prop])
    row["unknown_fields"] = unknown
    return row

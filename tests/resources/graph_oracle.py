"""What an Entra snapshot must hold, computed straight from the emulator's state file."""

from __future__ import annotations

import datetime as dt
from typing import Any

_TEXT = {
    "given_name": "givenName",
    "family_name": "surname",
    "phone": "mobilePhone",
    "address_line1": "streetAddress",
    "address_postal_code": "postalCode",
    "address_city": "city",
    "address_country": "country",
    "employment_id": "employeeId",
    "job_title": "jobTitle",
}


def expected_entra_rows(tenant: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Entra object id -> the snapshot row its stored user must produce."""
    rows = {}
    for user in tenant["users"]:
        hire = user.get("employeeHireDate")
        row = {
            "entra_id": user["id"],
            "user_principal_name": user["userPrincipalName"],
            "mail": user.get("mail") or None,
            "email_key": (user.get("mail") or user["userPrincipalName"]).casefold(),
            **{concept: user.get(prop) or None for concept, prop in _TEXT.items()},
            "hire_date": dt.date.fromisoformat(hire[:10]) if hire else None,
            "account_enabled": user["accountEnabled"],
            "user_type": user["userType"],
            "on_premises_sync_enabled": bool(user.get("onPremisesSyncEnabled")),
            "unknown_fields": [],
        }
        rows[user["id"]] = row
    return rows

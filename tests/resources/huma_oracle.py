"""What a Huma snapshot must hold, computed straight from the emulator's state file.

An independent reading of the state (not of the API answers), so a test comparing it with the
client's frame checks the whole path: listing, details, unwrapping and normalising.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

HIDDEN_TO_CONCEPTS = {
    "phone": ["phone"],
    "employmentId": ["employment_id"],
    "homeAddress": ["address_line1", "address_postal_code", "address_city", "address_country"],
    "firstContractStartDate": ["hire_date"],
    "currentPositions": ["job_title"],
}


def expected_huma_rows(state: dict[str, Any], today: dt.date) -> dict[str, dict[str, Any]]:
    """Huma id -> the snapshot row its state record must produce."""
    titles = {t["id"]: t["name"] for t in state["jobTitles"]}
    rows = {}
    for user in state["users"]:
        positions = user.get("positions") or []
        starts = [dt.date.fromisoformat(p["contractStartDate"]) for p in positions]
        current = [
            p
            for p in positions
            if dt.date.fromisoformat(p["contractStartDate"]) <= today
            and (
                p.get("contractEndDate") is None
                or dt.date.fromisoformat(p["contractEndDate"]) >= today
            )
        ]
        latest = max(current, key=lambda p: (p["contractStartDate"], p["id"]), default=None)
        address = user.get("homeAddress") or {}
        status = user.get("status") or {}
        deactivated_at = status.get("deactivatedAt")
        row = {
            "huma_id": user["id"],
            "email": user["email"],
            "email_key": user["email"].casefold(),
            "given_name": user["givenName"],
            "family_name": user["familyName"],
            "phone": user.get("phone") or None,
            "address_line1": address.get("line1") or None,
            "address_postal_code": address.get("postalCode") or None,
            "address_city": address.get("city") or None,
            "address_country": address.get("country") or None,
            "employment_id": user.get("employmentId") or None,
            "hire_date": min(starts) if starts else None,
            "job_title": titles[latest["titleId"]] if latest else None,
            "active": status.get("active", True),
            "deactivated_at": (
                dt.datetime.fromisoformat(deactivated_at.replace("Z", "+00:00"))
                if deactivated_at
                else None
            ),
            "unknown_fields": [],
        }
        for hidden in user.get("hiddenFields") or []:
            for concept in HIDDEN_TO_CONCEPTS.get(hidden, []):
                row[concept] = None
                row["unknown_fields"].append(concept)
        rows[user["id"]] = row
    return rows

"""Is a write already in its target? Re-reading instead of resending when an answer was lost.

Used when a connection broke after a request left (the write may or may not have been applied)
and when the next run settles the journal of a run that was killed mid-apply. A patch is applied
when the target holds every value sent; a create when a user with its key (UPN or email) exists.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from assets.apply.writes import PlannedWrite
from resources.graph_client import GraphClient
from resources.huma_client import HumaClient


def graph_applied(client: GraphClient, write: PlannedWrite) -> tuple[bool, str | None]:
    """(applied, id of the user) for a Graph write."""
    if write.operation == "create":
        found = client.get_user(str(write.lookup), ("id",))
        return found is not None, found["id"] if found else None
    current = client.get_user(str(write.target_id), tuple(write.body))
    if current is None:
        return False, None
    return all(current.get(k) == v for k, v in write.body.items()), write.target_id


def huma_applied(client: HumaClient, write: PlannedWrite) -> tuple[bool, str | None]:
    """(applied, id of the user) for a Huma write."""
    if write.operation == "create":
        found = client.find_user_id_by_email(str(write.lookup))
        return found is not None, found
    details = client.get_user(str(write.target_id))
    if details is None:
        return False, None
    return huma_holds(details, write.body), write.target_id


def huma_holds(details: Mapping[str, Any], body: Mapping[str, Any]) -> bool:
    """Whether a `UserDetails` payload holds every value of a `UserDetailsInput` body."""
    for prop, sent in body.items():
        value = (details.get(prop) or {}).get("value")
        if prop == "homeAddress":
            if sent is None:
                held = value is None
            else:
                held = value is not None and all(
                    (value.get(part) or "") == (part_sent or "") for part, part_sent in sent.items()
                )
        else:  # Huma's strings come back without `value` when empty, and are sent as ""
            held = (value or "") == (sent or "")
        if not held:
            return False
    return True

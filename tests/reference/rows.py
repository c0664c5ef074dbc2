"""Plan assembly of the plain-Python reference planner: uniqueness, grouping, change ids.

The same rules as `reconcile.uniqueness` and `reconcile.rows`, written with dicts and loops.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict


def block_clashes(
    rows: list[dict],
    snapshot: list[dict],
    id_key: str,
    target_side: str,
    keys: tuple[str, ...],
    value_key: str,
) -> None:
    """Block, in place, the writes to one side that would make two of its users share a key.

    Args:
        rows: Candidate rows (one field each; `h`/`e` hold the two sides' values).
        snapshot: The side's whole snapshot (every current holder of a value counts).
        id_key: The side's id column.
        target_side: The direction of writes to that side (a conflict may write either side).
        keys: The side's unique fields.
        value_key: `e` when writing Huma (Entra's value goes there), `h` when writing Entra.
    """
    holders: dict[tuple[str, str], set[str]] = defaultdict(set)
    for row in snapshot:
        for key in keys:
            if row[key] is not None:
                holders[key, row[key]].add(row[id_key])
    writes = [
        (row, row["fields"][0], row[value_key])
        for row in rows
        if row["status"] != "blocked"
        and row["direction"] in (target_side, None)
        and row["fields"][0] in keys
        and row[value_key] is not None
    ]
    counts = Counter((key, value) for _, key, value in writes)
    for row, key, value in writes:
        if holders[key, value] - {row[id_key]} or counts[key, value] > 1:
            row["status"] = "blocked"


def _sha(*parts: str | None) -> str:
    text = "\x1f".join(part or "" for part in parts)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def identified(rows: list[dict]) -> list[dict]:
    """Automatic updates merged per user and direction; every row with its change id.

    Args:
        rows: Candidate rows, one field each.

    Returns:
        The plan rows.
    """
    plan, grouped = [], defaultdict(list)
    for row in rows:
        key = (row["action"], row["direction"], row["huma_id"], row["entra_id"], row["email_key"])
        if row["status"] == "auto_approved":
            grouped[key].append(row)
            continue
        conflict = f"{row['huma_values']}\x1f{row['entra_values']}"
        written = row["to_values"] if row["direction"] else conflict
        plan.append({**row, "change_id": _sha(*key, row["fields"][0], written)})
    for key, members in grouped.items():
        members.sort(key=lambda member: member["fields"][0])
        fields = [member["fields"][0] for member in members]
        to_values = "{" + ",".join(member["to_values"][1:-1] for member in members) + "}"
        action, direction, huma_id, entra_id, email_key = key
        plan.append(
            {
                "action": action,
                "direction": direction,
                "huma_id": huma_id,
                "entra_id": entra_id,
                "email_key": email_key,
                "fields": fields,
                "to_values": to_values,
                "status": "auto_approved",
                "change_id": _sha(*key, ",".join(fields), to_values),
            }
        )
    return plan

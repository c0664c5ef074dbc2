"""A plain-Python planner of the linked-pair rules: a second, independent reading of SPEC §3-5.

It serves two purposes: the benchmark's straightforward baseline (dicts and loops, no frames), and
an oracle the engine is checked against. It covers what happens to users already linked when no
decision is pending: validation, the three-way table with the direction, position and address
rules, blocks, uniqueness on both sides, grouping of automatic updates, change ids and the
mass-change guard. Creates, lifecycle notices, decisions and the snapshot guard are not repeated.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from typing import Any

from reconcile.fields import ADDRESS, ADDRESS_KEYS, UNITS, Unit
from reconcile.mapping import ISO_3166_ALPHA2
from reconcile.policy import Policy
from reconcile.vocabulary import ASK, ENTRA_TO_HUMA, HUMA_TO_ENTRA
from tests.reference.rows import block_clashes, identified

# Per side: required columns, unique columns (over non-null values), length limits, ISO country.
# fmt: off
_RULES: dict[str, tuple[tuple[str, ...], tuple[str, ...], dict[str, int], bool]] = {
    "huma": (
        ("huma_id", "email", "email_key", "given_name", "family_name", "active"),
        ("huma_id", "email_key", "phone", "employment_id"),
        {"given_name": 64, "family_name": 64, "phone": 64, "address_line1": 1024,
         "address_postal_code": 40, "address_city": 128, "job_title": 128, "employment_id": 16},
        True,
    ),
    "entra": (
        ("entra_id", "user_principal_name", "email_key"),
        ("entra_id", "email_key", "phone", "employment_id"),
        {"employment_id": 16},
        False,
    ),
}
# fmt: on
_ACTIONS = {"write_entra": "update_entra", "write_huma": "update_huma", "ask": "resolve_conflict"}
_DIRECTIONS = {"write_entra": HUMA_TO_ENTRA, "write_huma": ENTRA_TO_HUMA}


def _valid(rows: list[dict], side: str) -> list[dict]:
    """The rows breaking none of the side's rules."""
    required, unique, limits, iso = _RULES[side]
    counts = {key: Counter(row[key] for row in rows if row[key] is not None) for key in unique}

    def breaks(row: dict) -> bool:
        country = row.get("address_country")
        return (
            any(row[key] is None for key in required)
            or any(row[key] is not None and counts[key][row[key]] > 1 for key in unique)
            or any(row[key] is not None and len(row[key]) > cap for key, cap in limits.items())
            or (iso and country is not None and country not in ISO_3166_ALPHA2)
        )

    return [row for row in rows if not breaks(row)]


def _in_scope(row: dict, policy: Policy) -> bool:
    upn = row["user_principal_name"] or ""
    # Members only: a userType other than Member (a guest, or one Graph does not document).
    if (row["user_type"] or "member").lower() != "member" or "#EXT#" in upn.upper():
        return False
    domain = row["email_key"].rpartition("@")[2] if row["email_key"] else None
    return not policy.entra_scope_domains or domain in policy.entra_scope_domains


def _text(row: dict, unit: Unit) -> str | None:
    if unit.name == ADDRESS:
        parts = {key: row[column] for column, key in ADDRESS_KEYS.items()}
        if all(value is None for value in parts.values()):
            return None
        return json.dumps(parts, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    value = row[unit.columns[0]]
    return value.isoformat() if hasattr(value, "isoformat") else value


def _literal(unit: Unit, text: str | None) -> str:
    if unit.name == ADDRESS:
        return text or "null"
    return json.dumps(text, ensure_ascii=False)


def _known(row: dict, unit: Unit) -> bool:
    return not ({unit.name, *unit.columns} & set(row["unknown_fields"] or ()))


def _outcome(
    unit: Unit, h: Any, e: Any, base: dict | None, policy: Policy, *, new_pair: bool
) -> tuple[str, bool]:
    """`(outcome, asks_person)` of one differing field: the SPEC §5 table, then §3's rules."""
    has_b = bool(base and base["has_agreed"])
    to_entra, to_huma = HUMA_TO_ENTRA in unit.directions, ENTRA_TO_HUMA in unit.directions
    if unit.position and not policy.backfill_positions and not has_b:
        if base is None and not new_pair:
            return "position_recorded", False
        if h is None or (base is not None and h == base["huma_seen"]):
            return "position_not_pushed", False
        return "write_entra", False
    initial = policy.initial_direction[unit.name]
    one_way = "write_entra" if to_entra else "write_huma"
    if not has_b:
        if h is None or e is None:
            if e is None:
                return ("write_entra" if to_entra else "drift"), False
            return ("write_huma" if to_huma else "drift"), False
        if initial == ASK:
            return ("ask" if to_entra and to_huma else one_way), True
        return ("write_entra" if initial == HUMA_TO_ENTRA else "write_huma"), False
    if e == base["agreed"]:
        return ("write_entra" if to_entra else "drift"), False
    if h == base["agreed"]:
        return ("write_huma" if to_huma else "drift"), False
    return ("ask" if to_entra and to_huma else one_way), True


def _blocks(unit: Unit, entra: dict, e: Any) -> tuple[str | None, str | None]:
    """Why Entra, and why Huma, cannot take this field's write (None when they can)."""
    entra_block = "on-premises" if entra["on_premises_sync_enabled"] else None
    huma_block = None
    if unit.name == ADDRESS:
        parts = ("address_line1", "address_postal_code", "address_city", "address_country")
        if entra["address_country"] not in ISO_3166_ALPHA2 or any(entra[p] is None for p in parts):
            huma_block = "address"
    elif unit.name in ("given_name", "family_name") and e is None:
        huma_block = "required"
    return entra_block, huma_block


def _row(
    h_row: dict, e_row: dict, unit: Unit, outcome: str, status: str, h: str | None, e: str | None
) -> dict:
    huma_values = f'{{"{unit.name}":{_literal(unit, h)}}}'
    entra_values = f'{{"{unit.name}":{_literal(unit, e)}}}'
    written = {"write_entra": huma_values, "write_huma": entra_values}
    return {
        "action": _ACTIONS[outcome],
        "direction": _DIRECTIONS.get(outcome),
        "huma_id": h_row["huma_id"],
        "entra_id": e_row["entra_id"],
        "email_key": h_row["email_key"],
        "fields": [unit.name],
        "status": status,
        "huma_values": huma_values,
        "entra_values": entra_values,
        "to_values": written.get(outcome),
        "h": h,
        "e": e,
    }


def _status(outcome: str, asks: bool, blocked: str | None, policy: Policy) -> str:
    if blocked:
        return "blocked"
    if asks or outcome == "ask":
        return "pending"
    if outcome == "write_huma" and not policy.auto_apply_entra_to_huma:
        return "pending"
    return "auto_approved"


def _candidates(
    huma: list[dict],
    entra: list[dict],
    links: list[dict],
    baseline: dict[tuple[str, str], dict],
    policy: Policy,
    activated_at: datetime | None,
) -> list[dict]:
    humas = {row["huma_id"]: row for row in huma}
    entras = {row["entra_id"]: row for row in entra}
    rows = []
    for link in links:
        h_row, e_row = humas.get(link["huma_id"]), entras.get(link["entra_id"])
        if h_row is None or e_row is None or not h_row["active"]:
            continue
        new_pair = activated_at is not None and link["linked_at"] > activated_at
        for unit in UNITS:
            h, e = _text(h_row, unit), _text(e_row, unit)
            if h == e or not (_known(h_row, unit) and _known(e_row, unit)):
                continue
            base = baseline.get((h_row["huma_id"], unit.name))
            outcome, asks = _outcome(unit, h, e, base, policy, new_pair=new_pair)
            if outcome not in ("write_entra", "write_huma", "ask"):
                continue
            entra_block, huma_block = _blocks(unit, e_row, e)
            if outcome == "ask" and entra_block and not huma_block:
                outcome = "write_huma"
            elif outcome == "ask" and huma_block and not entra_block:
                outcome = "write_entra"
            blocked = {"write_entra": entra_block, "write_huma": huma_block}.get(
                outcome, entra_block and huma_block
            )
            status = _status(outcome, asks, blocked, policy)
            rows.append(_row(h_row, e_row, unit, outcome, status, h, e))
    return rows


def plan_linked(
    huma_rows: list[dict],
    entra_rows: list[dict],
    links: list[dict],
    baseline_rows: list[dict],
    policy: Policy,
    activated_at: datetime | None = None,
) -> list[dict]:
    """Plan the linked users: `change_id`, `action`, `direction`, `fields`, `status` per row.

    Args:
        huma_rows: The Huma snapshot as dicts (`HUMA_USERS_SCHEMA` keys).
        entra_rows: The Entra snapshot as dicts.
        links: Kept links (`huma_id`, `entra_id`, `linked_at`).
        baseline_rows: The kept baseline as dicts (`BASELINE_SCHEMA` keys).
        policy: The connection's policy.
        activated_at: When the connection was activated (None before its first run): a pair
            linked after it is new and pushes its position values.

    Returns:
        The plan rows, in no particular order.
    """
    huma = _valid(huma_rows, "huma")
    entra = _valid([row for row in entra_rows if _in_scope(row, policy)], "entra")
    baseline = {(row["huma_id"], row["field"]): row for row in baseline_rows}
    rows = _candidates(huma, entra, links, baseline, policy, activated_at)
    block_clashes(rows, huma_rows, "huma_id", ENTRA_TO_HUMA, ("phone", "employment_id"), "e")
    block_clashes(rows, entra_rows, "entra_id", HUMA_TO_ENTRA, ("phone",), "h")
    plan = identified(rows)
    # Users on one side only would count too; this planner sees linked users alone.
    valid_h, valid_e = {row["huma_id"] for row in huma}, {row["entra_id"] for row in entra}
    in_scope = sum(link["huma_id"] in valid_h and link["entra_id"] in valid_e for link in links)
    changed = {row["huma_id"] for row in plan if row["status"] == "auto_approved"}
    if (
        len(changed) > policy.mass_change_min_users
        and len(changed) > policy.mass_change_max_share * in_scope
    ):
        for row in plan:
            if row["status"] == "auto_approved":
                row["status"] = "blocked"
    return plan

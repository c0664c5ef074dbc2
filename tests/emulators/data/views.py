"""Reading a generated world the way the product compares it: the SPEC §3 fields of each side."""

from __future__ import annotations

import datetime as dt
from typing import Any

from emulators.data import World

# Not the generator's: position status is what the emulators derive from today's date.
TODAY = dt.date.today().isoformat()


def current_positions(user: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        pos
        for pos in user["positions"]
        if pos["contractStartDate"] <= TODAY
        and (pos["contractEndDate"] is None or pos["contractEndDate"] >= TODAY)
    ]


def huma_fields(user: dict[str, Any], titles: dict[str, str]) -> dict[str, Any]:
    """The mapped fields of a Huma user (hire date: earliest start; title: the CURRENT one's)."""
    address = user["homeAddress"]
    (current,) = current_positions(user)
    return {
        "email": user["email"],
        "given_name": user["givenName"],
        "family_name": user["familyName"],
        "phone": user["phone"],
        "address": (address["line1"], address["postalCode"], address["city"], address["country"]),
        "employment_id": user["employmentId"],
        "hire_date": min(pos["contractStartDate"] for pos in user["positions"]),
        "job_title": titles[current["titleId"]],
    }


def entra_fields(user: dict[str, Any]) -> dict[str, Any]:
    hire = user["employeeHireDate"]
    return {
        "email": user["mail"] or user["userPrincipalName"],
        "given_name": user["givenName"],
        "family_name": user["surname"],
        "phone": user["mobilePhone"],
        "address": (user["streetAddress"], user["postalCode"], user["city"], user["country"]),
        "employment_id": user["employeeId"],
        "hire_date": hire[:10] if hire else None,
        "job_title": user["jobTitle"],
    }


def differing_fields(huma: dict[str, Any], entra: dict[str, Any]) -> set[str]:
    """The mapped fields whose values differ; `email` when the emails differ at all (even case)."""
    return {name for name, value in huma.items() if entra[name] != value}


def entra_users(world: World) -> list[dict[str, Any]]:
    return world.entra["tenants"][0]["users"]


def job_titles(world: World) -> dict[str, str]:
    return {title["id"]: title["name"] for title in world.huma["jobTitles"]}


def pairs(world: World) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(Huma user, Entra member) matched on case-folded email, as SPEC §4 matches them; a Huma
    user whose email another Huma user also holds is left out (both would be held out)."""
    members = {u["mail"].casefold(): u for u in entra_users(world) if u["userType"] == "Member"}
    holders: dict[str, int] = {}
    for user in world.huma["users"]:
        holders[user["email"].casefold()] = holders.get(user["email"].casefold(), 0) + 1
    return [
        (user, members[key])
        for user in world.huma["users"]
        if holders[key := user["email"].casefold()] == 1 and key in members
    ]

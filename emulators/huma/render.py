"""How a stored user looks in Huma's answers: `User` (list item), `UserDetails`, `PositionSummary`.

Shapes follow the published spec (v1.53.2):
- `UserDetails` wraps most fields as `{"value": …, "editable": …}`. An empty field is the wrapper
  without `value` (the spec's `value` is a non-nullable string); a field in the user's
  `hiddenFields` is left out altogether (unknown to this API key, which is not the same as empty);
  a property in its `servedFields` is served as given there, whatever its shape (for clients'
  tests of answers that do not keep to the published shapes).
- List items carry `status.active` only: `deactivatedAt` is "Not returned in user lists".
- `preferredName` is plain text in list items (`User`) and wrapped in `UserDetails`; an empty one
  is left out of list items, like an empty phone.
- `supervisor` is a `FieldSimpleUser` (the `SimpleUser` wrapped) and `subordinatesCount` counts
  the stored users who name the user as supervisor. A supervisor id naming no stored user (a
  deleted supervisor, or a state staging one) reads as no supervisor.
- A position's status follows from its dates and today's (UTC) date: UPCOMING before the contract
  start, ENDED after the contract end date (the end date itself is still CURRENT).
  `currentPositions` holds the positions that have not ended, earliest first.
Answers are rendered per request (a few microseconds per user): caching them would cost about a
kilobyte per user, a gigabyte at 1,000,000 users, to save little next to the HTTP work.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from emulators.huma.records import ADDRESS_KEYS
from emulators.huma.store import Organization, UserStore

_GROUP_LISTS = {"team": "teams", "location": "locations", "company": "companies"}


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def position_status(position: dict[str, Any], on: dt.date) -> str:
    if dt.date.fromisoformat(position["contractStartDate"]) > on:
        return "UPCOMING"
    end = position["contractEndDate"]
    if end is not None and dt.date.fromisoformat(end) < on:
        return "ENDED"
    return "CURRENT"


def position_summary(position: dict[str, Any], org: Organization, on: dt.date) -> dict[str, Any]:
    """A position as `PositionSummary`."""
    summary: dict[str, Any] = {
        "id": position["id"],
        "title": dict(org.job_titles[position["titleId"]]),
        "contractStartDate": position["contractStartDate"],
    }
    if position["contractEndDate"] is not None:
        summary["contractEndDate"] = position["contractEndDate"]
    if position["percentage"] is not None:
        summary["percentage"] = position["percentage"]
    summary["contractType"] = position["contractType"]
    summary["status"] = position_status(position, on)
    return summary


def positions_in_order(user: dict[str, Any]) -> list[dict[str, Any]]:
    """A user's positions, earliest contract first (id as tie-break)."""
    return sorted(user["positions"], key=lambda p: (p["contractStartDate"], p["id"]))


def _wrapped(value: Any, *, editable: bool = True) -> dict[str, Any]:
    if value is None or value == "":
        return {"editable": editable}
    return {"value": value, "editable": editable}


def _address(address: dict[str, Any] | None) -> dict[str, Any] | None:
    if address is None:
        return None
    return {k: address[k] for k in ADDRESS_KEYS if address[k] not in (None, "")}


class Renderer:
    """Renders users of one store and organisation."""

    def __init__(self, store: UserStore, org: Organization) -> None:
        self.store = store
        self.org = org

    def list_item(self, user_id: str, on: dt.date) -> dict[str, Any]:
        """The user as a `PageUser` item (`User`)."""
        user = self.store.users[user_id]
        hidden = user["hiddenFields"]
        item: dict[str, Any] = {
            "id": user["id"],
            "givenName": user["givenName"],
            "familyName": user["familyName"],
        }
        if user.get("preferredName") and "preferredName" not in hidden:
            item["preferredName"] = user.get("preferredName")
        item["email"] = user["email"]
        if user["phone"] and "phone" not in hidden:
            item["phone"] = user["phone"]
        item["jobTitles"] = self._current_titles(user, on)
        for name, groups in self._group_lists(user).items():
            if name not in hidden:
                item[name] = groups
        item["type"] = "user"
        item["status"] = {"active": user["status"]["active"]}
        return item

    def details(self, user: dict[str, Any], on: dt.date) -> dict[str, Any]:
        """The user as `UserDetails`."""
        positions = positions_in_order(user)
        status: dict[str, Any] = {"active": user["status"]["active"]}
        if user["status"]["deactivatedAt"] is not None:
            status["deactivatedAt"] = user["status"]["deactivatedAt"]
        first_start = positions[0]["contractStartDate"] if positions else None
        details: dict[str, Any] = {
            "id": user["id"],
            "givenName": _wrapped(user["givenName"]),
            "familyName": _wrapped(user["familyName"]),
            "preferredName": _wrapped(user.get("preferredName")),
            "email": {"value": user["email"], "editable": True},
            "phone": _wrapped(user["phone"]),
            "homeAddress": _wrapped(_address(user["homeAddress"])),
            "employmentId": _wrapped(user["employmentId"]),
            # Derived from the positions: not editable through the user.
            "firstContractStartDate": _wrapped(first_start, editable=False),
            "currentPositions": [
                position_summary(p, self.org, on)
                for p in positions
                if position_status(p, on) != "ENDED"
            ],
        }
        for name, groups in self._group_lists(user).items():
            details[name] = _wrapped(groups)
        supervisor = self.store.supervisor_of(user)
        details["supervisor"] = _wrapped(
            None if supervisor is None else self.simple_user(supervisor, on)
        )
        details["subordinatesCount"] = self.store.subordinate_count(user["id"])
        details["status"] = status
        details["type"] = "user"
        for name in user["hiddenFields"]:
            details.pop(name, None)
        # What a state asks to be served instead, verbatim: another shape, another format.
        details.update(user.get("servedFields") or {})
        return details

    def simple_user(self, user: dict[str, Any], on: dt.date) -> dict[str, Any]:
        """The user as `SimpleUser` (a supervisor or subordinate), with `status.active` as in
        list items, so a client sees an inactive supervisor."""
        simple: dict[str, Any] = {
            "id": user["id"],
            "givenName": user["givenName"],
            "familyName": user["familyName"],
        }
        if user.get("preferredName"):
            simple["preferredName"] = user.get("preferredName")
        simple["email"] = user["email"]
        if user["phone"]:
            simple["phone"] = user["phone"]
        simple["jobTitles"] = self._current_titles(user, on)
        simple["type"] = "user"
        simple["status"] = {"active": user["status"]["active"]}
        return simple

    def supervisor(self, supervisor: dict[str, Any], on: dt.date) -> dict[str, Any]:
        """A user's supervisor as `Supervisor`: their list item with their `subordinates`."""
        view = self.list_item(supervisor["id"], on)
        view.pop("type", None)
        view.pop("status", None)
        view["subordinates"] = [
            self.simple_user(u, on) for u in self.store.subordinates(supervisor["id"])
        ]
        return view

    def _current_titles(self, user: dict[str, Any], on: dt.date) -> list[dict[str, str]]:
        titles: dict[str, dict[str, str]] = {}
        for position in positions_in_order(user):
            if position_status(position, on) == "CURRENT":
                title = self.org.job_titles[position["titleId"]]
                titles.setdefault(title["id"], {"id": title["id"], "name": title["name"]})
        return list(titles.values())

    def _group_lists(self, user: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
        lists: dict[str, list[dict[str, Any]]] = {"teams": [], "locations": [], "companies": []}
        everything = []
        for group_id in user["groups"]:
            group = self.org.groups[group_id]
            everything.append(group)
            if group["type"] in _GROUP_LISTS:
                lists[_GROUP_LISTS[group["type"]]].append(group)
        lists["groups"] = everything
        return lists

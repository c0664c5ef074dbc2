"""`GET /users`: the query parameters of Huma's list, and the filter they select.

Modelled filters: `isActive`, `search` (case-insensitive substring of the full name or email),
`orderDirection`, `jobTitle[]` (a CURRENT position with that title), `team[]`, `location[]`,
`company[]` (membership), `id[]`, `excludeId[]` (the alias `me` names the API key's service user,
who is never listed), `supervisor` (a user id: that user's direct subordinates; `none`: users
without a supervisor, or whose supervisor is no longer stored; `me`: no one, the service user
supervises nobody) and `isSupervisor` (whether someone stored names the user as supervisor).
`notRecursivelySupervisorOf`, `notRecursivelySubordinateOf` and `permission` are checked for
their format and otherwise have no effect.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any

from emulators.huma.inputs import query_bool, query_int, query_list
from emulators.huma.records import parse_uuid
from emulators.huma.render import position_status

if TYPE_CHECKING:
    from starlette.datastructures import QueryParams

    from emulators.huma.store import UserStore

DEFAULT_LIMIT = 25
MAX_LIMIT = 50
_GROUP_FILTERS = ("team", "location", "company")


@dataclasses.dataclass(frozen=True)
class ListQuery:
    """A checked `GET /users` query."""

    limit: int
    offset: int
    descending: bool
    #: Hashable description of the filter, the key of the cached id list.
    key: Hashable
    keep: Callable[[dict[str, Any]], bool] | None


def parse_list_query(
    params: QueryParams, *, me: str, on: dt.date, store: UserStore
) -> tuple[ListQuery | None, list[str]]:
    """The query, or None and the names of the invalid parameters."""
    bad: list[str] = []
    limit = query_int(params.get("limit"), DEFAULT_LIMIT, maximum=MAX_LIMIT)
    offset = query_int(params.get("offset"), 0)
    for name, value in (("limit", limit), ("offset", offset)):
        if value is None:
            bad.append(name)
    booleans = {}
    for name in ("isActive", "isSupervisor"):
        booleans[name], ok = query_bool(params.get(name))
        if not ok:
            bad.append(name)
    direction = params.get("orderDirection")
    if direction not in (None, "ASC", "DESC"):
        bad.append("orderDirection")
    lists: dict[str, list[str] | None] = {}
    for name in ("jobTitle", *_GROUP_FILTERS):
        lists[name] = query_list(params.getlist(name), uuids=True)
    for name in ("id", "excludeId"):
        values = query_list(params.getlist(name), uuids=False)
        if values is not None:
            values = [me if v == "me" else parse_uuid(v) or v for v in values]
        lists[name] = values
    bad += [name for name, value in lists.items() if value is None]
    supervisor = params.get("supervisor")
    if supervisor not in (None, "none", "me") and parse_uuid(supervisor) is None:
        bad.append("supervisor")
    for name in ("notRecursivelySupervisorOf", "notRecursivelySubordinateOf"):
        if params.get(name) is not None and parse_uuid(params[name]) is None:
            bad.append(name)
    if bad:
        return None, bad

    search = (params.get("search") or "").strip().casefold() or None
    nobody = supervisor == "me"
    chosen = {name: frozenset(value or ()) for name, value in lists.items()}
    supervised_by = None if supervisor in (None, "me") else parse_uuid(supervisor) or "none"
    key = (
        booleans["isActive"],
        search,
        nobody,
        supervised_by,
        booleans["isSupervisor"],
        tuple(sorted((name, tuple(sorted(v))) for name, v in chosen.items() if v)),
        on if chosen["jobTitle"] else None,
    )
    keep = _filter(booleans["isActive"], search, nobody, chosen, on)
    keep = _and(keep, _hierarchy_filter(supervised_by, booleans["isSupervisor"], store))
    query = ListQuery(
        limit=limit or 0,
        offset=offset or 0,
        descending=direction == "DESC",
        key=key,
        keep=keep,
    )
    return query, []


def _filter(
    is_active: bool | None,
    search: str | None,
    nobody: bool,
    chosen: dict[str, frozenset[str]],
    on: dt.date,
) -> Callable[[dict[str, Any]], bool] | None:
    if nobody:
        return lambda user: False
    tests: list[Callable[[dict[str, Any]], bool]] = []
    if is_active is not None:
        tests.append(lambda u: u["status"]["active"] is is_active)
    if search is not None:
        tests.append(
            lambda u: (
                search in f"{u['givenName']} {u['familyName']}".casefold()
                or search in u["email"].casefold()
            )
        )
    if chosen["id"]:
        tests.append(lambda u: u["id"] in chosen["id"])
    if chosen["excludeId"]:
        tests.append(lambda u: u["id"] not in chosen["excludeId"])
    for name in _GROUP_FILTERS:
        # Membership of any of the named groups (a team filter does not check the group type).
        if chosen[name]:
            wanted = chosen[name]
            tests.append(lambda u, wanted=wanted: not wanted.isdisjoint(u["groups"]))
    if chosen["jobTitle"]:
        titles = chosen["jobTitle"]
        tests.append(
            lambda u: any(
                p["titleId"] in titles and position_status(p, on) == "CURRENT"
                for p in u["positions"]
            )
        )
    if not tests:
        return None
    if len(tests) == 1:
        return tests[0]
    return lambda user: all(test(user) for test in tests)


def _hierarchy_filter(
    supervised_by: str | None, is_supervisor: bool | None, store: UserStore
) -> Callable[[dict[str, Any]], bool] | None:
    tests: list[Callable[[dict[str, Any]], bool]] = []
    if supervised_by == "none":
        tests.append(lambda u: store.supervisor_of(u) is None)
    elif supervised_by is not None:
        tests.append(lambda u: u.get("supervisor") == supervised_by)
    if is_supervisor is not None:
        tests.append(lambda u: store.supervises(u["id"]) is is_supervisor)
    if not tests:
        return None
    return tests[0] if len(tests) == 1 else lambda u: all(test(u) for test in tests)


def _and(
    first: Callable[[dict[str, Any]], bool] | None, second: Callable[[dict[str, Any]], bool] | None
) -> Callable[[dict[str, Any]], bool] | None:
    if first is None or second is None:
        return first or second
    return lambda u: first(u) and second(u)

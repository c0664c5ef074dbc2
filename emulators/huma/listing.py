"""`GET /users`: the query parameters of Huma's list, and the filter they select.

Modelled filters: `isActive`, `search` (case-insensitive substring of the full name or email),
`orderDirection`, `jobTitle[]` (a CURRENT position with that title), `team[]`, `location[]`,
`company[]` (membership), `id[]`, `excludeId[]` (the alias `me` names the API key's service user,
who is never listed), `supervisor` and `isSupervisor` (nobody has a supervisor in the emulator:
`supervisor=none` and `isSupervisor=false` keep everyone, a supervisor id or `isSupervisor=true`
keeps no one). `notRecursivelySupervisorOf`, `notRecursivelySubordinateOf` and `permission` are
checked for their format and otherwise have no effect, for the same reason.
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
    params: QueryParams, *, me: str, on: dt.date
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
    nobody = supervisor not in (None, "none") or booleans["isSupervisor"] is True
    chosen = {name: frozenset(value or ()) for name, value in lists.items()}
    key = (
        booleans["isActive"],
        search,
        nobody,
        tuple(sorted((name, tuple(sorted(v))) for name, v in chosen.items() if v)),
        on if chosen["jobTitle"] else None,
    )
    keep = _filter(booleans["isActive"], search, nobody, chosen, on)
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

"""Huma's group endpoints, read side: `GET /groups` and `GET /groups/{id}` (teams, locations,
companies; Huma has no `/teams` or `/locations` paths, its spec lists them as groups by `type`).

- `GET /groups`: `PageGroup`, offset paging with `limit` 0 to 25 (default 10, as the spec declares),
  `offset`, `type[]` (`team`, `location`, `company`), `search` (case-insensitive part of the
  name) and `orderDirection`; ordered by name, id as tie-break. Items are `Group`, `Location`
  (with `address`) or `Company` (with `organizationNumber`, `address`) by type.
- `GET /groups/{id}`: `GroupDetails` with `members` as `User` list items in list order; a
  malformed id is a 400 naming `id`, an unknown one a 404 `{"type": "group", ...}`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.routing import Route

from emulators.core import JSONResponse
from emulators.huma import errors, inputs
from emulators.huma.records import parse_uuid
from emulators.huma.render import today

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from emulators.huma.app import HumaEmulator, HumaWorld

DEFAULT_LIMIT = 10
MAX_LIMIT = 25
LISTED_TYPES = ("team", "location", "company")


def group_view(group: dict[str, Any]) -> dict[str, Any]:
    """A stored group as `Group`, `Location` or `Company` (its optional parts when set)."""
    view = {"id": group["id"], "name": group["name"], "type": group["type"]}
    for name in ("organizationNumber", "address"):
        if group.get(name) is not None:
            view[name] = group[name]
    return view


def _authorised(emulator: HumaEmulator, request: Request) -> tuple[HumaWorld, Response | None]:
    world = emulator.world
    token, refusal = emulator.tokens.check(request, world.org)
    if token is not None:
        request.state.client_id = token.client_id
    return world, refusal


def group_routes(emulator: HumaEmulator) -> list[Route]:
    """The routes, bound to `emulator` (whose world a state load may replace at any time)."""

    async def list_groups(request: Request) -> Response:
        world, refusal = _authorised(emulator, request)
        if refusal is not None:
            return refusal
        params = request.query_params
        limit = inputs.query_int(params.get("limit"), DEFAULT_LIMIT, maximum=MAX_LIMIT)
        offset = inputs.query_int(params.get("offset"), 0)
        types = inputs.query_list(params.getlist("type"), uuids=False)
        bad = [n for n, v in (("limit", limit), ("offset", offset)) if v is None]
        if types is None or not set(types) <= set(LISTED_TYPES):
            bad.append("type")
        direction = params.get("orderDirection")
        if direction not in (None, "ASC", "DESC"):
            bad.append("orderDirection")
        if bad:
            return errors.invalid_fields(bad)
        wanted = set(types or LISTED_TYPES)
        search = (params.get("search") or "").strip().casefold()
        groups = sorted(
            (
                g
                for g in world.org.groups.values()
                if g["type"] in wanted and search in g["name"].casefold()
            ),
            key=lambda g: (g["name"].casefold(), g["id"]),
            reverse=direction == "DESC",
        )
        page = groups[offset : offset + limit]
        items = [group_view(g) for g in page]
        return JSONResponse({"total": len(groups), "items": items, "filters": {}, "meta": {}})

    async def get_group(request: Request) -> Response:
        world, refusal = _authorised(emulator, request)
        if refusal is not None:
            return refusal
        group_id = parse_uuid(request.path_params["id"])
        if group_id is None:
            return errors.invalid_fields(["id"])
        group = world.org.groups.get(group_id)
        if group is None:
            return errors.not_found("group", group_id)
        on = today()
        members = world.store.ordered_ids(("group", group_id), lambda u: group_id in u["groups"])
        details = {
            "id": group["id"],
            "name": group["name"],
            "members": [world.renderer.list_item(uid, on) for uid in members],
        }
        return JSONResponse(details)

    return [
        Route("/groups", list_groups, methods=["GET"]),
        Route("/groups/{id}", get_group, methods=["GET"]),
    ]

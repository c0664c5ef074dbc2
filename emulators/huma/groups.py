"""Huma's group endpoints: `GET /groups`, `GET /groups/{id}` (teams, locations, companies; Huma
has no `/teams` or `/locations` paths, its spec lists them as groups by `type`) and a user's
memberships, `POST|DELETE /users/{id}/groups`.

- `GET /groups`: `PageGroup`, offset paging with `limit` 0 to 25 (default 10, as the spec declares),
  `offset`, `type[]` (`team`, `location`, `company`), `search` (case-insensitive part of the
  name) and `orderDirection`; ordered by name, id as tie-break. Items are `Group`, `Location`
  (with `address`) or `Company` (with `organizationNumber`, `address`) by type.
- `GET /groups/{id}`: `GroupDetails` with `members` as `User` list items in list order; a
  malformed id is a 400 naming `id`, an unknown one a 404 `{"type": "group", ...}`.
- `POST /users/{id}/groups` adds the user to the groups of its body (a JSON array of group ids),
  `DELETE` removes them (200, no body, as the spec declares). A body that is not an array of
  UUIDs is a 400 (no field named, as for any unreadable body), an unknown user or group a 404
  (`user` first); joining a group the user is in, or leaving one they are not, changes nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson
from starlette.responses import Response
from starlette.routing import Route

from emulators.core import JSONResponse
from emulators.huma import errors, inputs
from emulators.huma.records import parse_uuid
from emulators.huma.render import today

if TYPE_CHECKING:
    from starlette.requests import Request

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

    async def change_memberships(request: Request) -> Response:
        raw = await request.body()
        world, refusal = _authorised(emulator, request)
        if refusal is not None:
            return refusal
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            body = None
        ids = [parse_uuid(g) for g in body] if isinstance(body, list) else [None]
        if None in ids:
            return errors.invalid_fields([])
        raw_id = request.path_params["id"]
        if raw_id == "me":  # the API key's service user, who has no profile
            return errors.not_found("user", raw_id)
        user_id = parse_uuid(raw_id)
        if user_id is None:
            return errors.invalid_fields(["id"])
        user = world.store.get(user_id)
        if user is None:
            return errors.not_found("user", user_id)
        unknown = [g for g in ids if g not in world.org.groups]
        if unknown:
            return errors.not_found("group", unknown[0])
        if request.method == "POST":
            groups = list(dict.fromkeys([*user["groups"], *ids]))
        else:
            groups = [g for g in user["groups"] if g not in set(ids)]
        if groups != user["groups"]:
            world.store.put({**user, "groups": groups})
        return Response(status_code=200)

    return [
        Route("/groups", list_groups, methods=["GET"]),
        Route("/groups/{id}", get_group, methods=["GET"]),
        Route("/users/{id}/groups", change_memberships, methods=["POST", "DELETE"]),
    ]

"""Huma's user endpoints: `GET|POST /users`, `GET|PATCH /users/{id}`, `GET /users/{id}/positions`,
`GET /users/{id}/supervisor` and `GET /users/{id}/subordinates`.

Every call checks the bearer token first (401), then the query or body (400 naming the fields),
then the path id (400 when it is not a UUID, 404 when no such user), as a Spring service does
(validation before the handler). Choices where the spec and Huma's pages are silent:
- `me` is the API key's service user, which has no user profile: `GET /users/me` is a 404.
- Email, phone and employment ID stay unique in the organisation (Huma's help pages): a write
  that would duplicate one is a 400 `field:invalid-format` naming the field.
- An unknown group in `POST /users` is a 404 `{"type": "group", ...}`; `groups` must not be empty.
- Deactivated users can be read and written through the API (the "locked for updates" rule of
  Huma's Entra integration is the integration's, not the API's).
- `PATCH` changes exactly the properties sent; `""` or `null` clears preferred name, phone,
  employment ID and (`null`) the home address and the supervisor.
- A `supervisor` naming no user is a 404 `{"type": "user", ...}`; one that would close a loop in
  the line of supervisors (the user themself, or someone they are above) is a 400
  `field:invalid-format` naming `supervisor`.
- `GET /users/{id}/supervisor` of a user without one is a 404 `{"type": "supervisor", ...}`.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import orjson
from starlette.responses import Response
from starlette.routing import Route

from emulators.core import JSONResponse
from emulators.huma import errors, inputs
from emulators.huma.auth import service_user_id
from emulators.huma.listing import DEFAULT_LIMIT, parse_list_query
from emulators.huma.records import drop_empty_optionals, parse_uuid
from emulators.huma.render import position_summary, positions_in_order, today

if TYPE_CHECKING:
    from starlette.requests import Request

    from emulators.huma.app import HumaEmulator, HumaWorld

_UNIQUE_FIELDS = ("email", "phone", "employmentId")


def user_routes(emulator: HumaEmulator) -> list[Route]:
    """The routes, bound to `emulator` (whose world a state load may replace at any time)."""

    def authorised(request: Request) -> tuple[HumaWorld, Response | None]:
        world = emulator.world
        token, refusal = emulator.tokens.check(request, world.org)
        if token is not None:
            request.state.client_id = token.client_id
        return world, refusal

    def find_user(world: HumaWorld, raw_id: str, field: str) -> tuple[Any, Response | None]:
        if raw_id == "me":
            return None, errors.not_found("user", raw_id)
        user_id = parse_uuid(raw_id)
        if user_id is None:
            return None, errors.invalid_fields([field])
        user = world.store.get(user_id)
        return (user, None) if user is not None else (None, errors.not_found("user", user_id))

    async def list_users(request: Request) -> Response:
        world, refusal = authorised(request)
        if refusal is not None:
            return refusal
        on = today()
        me = service_user_id(request.state.client_id)
        query, bad = parse_list_query(request.query_params, me=me, on=on, store=world.store)
        if query is None:
            return errors.invalid_fields(bad)
        ids = world.store.ordered_ids(query.key, query.keep, descending=query.descending)
        page = ids[query.offset : query.offset + query.limit]
        items = [world.renderer.list_item(uid, on) for uid in page]
        return JSONResponse({"total": len(ids), "items": items, "filters": {}, "meta": {}})

    async def get_user(request: Request) -> Response:
        world, refusal = authorised(request)
        if refusal is not None:
            return refusal
        user, refusal = find_user(world, request.path_params["id"], "id")
        if refusal is not None:
            return refusal
        details = world.renderer.details(user, today())
        charset = user.get("servedCharset")
        if charset is not None:  # a state's misbehaving answer: JSON, but not in UTF-8
            body = orjson.dumps(details).decode().encode(charset, "replace")
            return Response(body, media_type="application/json")
        return JSONResponse(details)

    async def patch_user(request: Request) -> Response:
        # The body is read first: after this await, nothing yields until the write is done, so
        # concurrent writes to one user cannot interleave.
        body, ok = await _json_body(request)
        world, refusal = authorised(request)
        if refusal is not None:
            return refusal
        # Spring checks the body before the handler looks the user up.
        changes, bad = inputs.check_details_input(body) if ok else ({}, [])
        if not ok or bad:
            return errors.invalid_fields(bad)
        user, refusal = find_user(world, request.path_params["id"], "id")
        if refusal is not None:
            return refusal
        taken = _duplicates(world, changes, user["id"])
        if taken:
            return errors.invalid_fields(taken)
        supervisor = changes.get("supervisor")
        if supervisor is not None:
            if world.store.get(supervisor) is None:
                return errors.not_found("user", supervisor)
            if world.store.is_above(user["id"], supervisor):
                return errors.invalid_fields(["supervisor"])
        if changes:
            user = drop_empty_optionals({**user, **changes})
            world.store.put(user)
        return JSONResponse(world.renderer.details(user, today()))

    async def create_user(request: Request) -> Response:
        body, ok = await _json_body(request)
        world, refusal = authorised(request)
        if refusal is not None:
            return refusal
        fields, bad = inputs.check_user_input(body) if ok else ({}, [])
        if not ok or bad:
            return errors.invalid_fields(bad)
        taken = _duplicates(world, fields, None)
        if taken:
            return errors.invalid_fields(taken)
        unknown = [g for g in fields["groups"] if g not in world.org.groups]
        if unknown:
            return errors.not_found("group", unknown[0])
        supervisor = fields.get("supervisor")
        if supervisor is not None and world.store.get(supervisor) is None:
            return errors.not_found("user", supervisor)
        user = {
            "id": str(uuid.uuid4()),
            "givenName": fields["givenName"],
            "familyName": fields["familyName"],
            "email": fields["email"],
            "phone": fields.get("phone"),
            "homeAddress": None,
            "employmentId": None,
            "status": {"active": True, "deactivatedAt": None},
            "groups": fields["groups"],
            "positions": [],
            "hiddenFields": [],
            "preferredName": fields.get("preferredName"),
            "supervisor": supervisor,
        }
        user = drop_empty_optionals(user)
        world.store.put(user)
        return JSONResponse(world.renderer.list_item(user["id"], today()))

    async def list_positions(request: Request) -> Response:
        world, refusal = authorised(request)
        if refusal is not None:
            return refusal
        limit = inputs.query_int(request.query_params.get("limit"), DEFAULT_LIMIT)
        offset = inputs.query_int(request.query_params.get("offset"), 0)
        if limit is None or offset is None:
            return errors.invalid_fields(
                name for name, v in (("limit", limit), ("offset", offset)) if v is None
            )
        user, refusal = find_user(world, request.path_params["userId"], "userId")
        if refusal is not None:
            return refusal
        on = today()
        positions = positions_in_order(user)
        items = [position_summary(p, world.org, on) for p in positions[offset : offset + limit]]
        return JSONResponse({"total": len(positions), "items": items, "filters": {}, "meta": {}})

    async def get_supervisor(request: Request) -> Response:
        world, refusal = authorised(request)
        if refusal is not None:
            return refusal
        user, refusal = find_user(world, request.path_params["id"], "id")
        if refusal is not None:
            return refusal
        supervisor = world.store.supervisor_of(user)
        if supervisor is None:
            return errors.not_found("supervisor", user["id"])
        return JSONResponse(world.renderer.supervisor(supervisor, today()))

    async def list_subordinates(request: Request) -> Response:
        world, refusal = authorised(request)
        if refusal is not None:
            return refusal
        user, refusal = find_user(world, request.path_params["id"], "id")
        if refusal is not None:
            return refusal
        on = today()
        subordinates = world.store.subordinates(user["id"])
        return JSONResponse([world.renderer.simple_user(u, on) for u in subordinates])

    return [
        Route("/users", list_users, methods=["GET"]),
        Route("/users", create_user, methods=["POST"]),
        Route("/users/{id}", get_user, methods=["GET"]),
        Route("/users/{id}", patch_user, methods=["PATCH"]),
        Route("/users/{userId}/positions", list_positions, methods=["GET"]),
        Route("/users/{id}/supervisor", get_supervisor, methods=["GET"]),
        Route("/users/{id}/subordinates", list_subordinates, methods=["GET"]),
    ]


async def _json_body(request: Request) -> tuple[Any, bool]:
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        return None, False
    return body, isinstance(body, dict)


def _duplicates(world: HumaWorld, fields: dict[str, Any], own_id: str | None) -> list[str]:
    """The unique fields among `fields` whose value another user already holds."""
    return [
        name
        for name in _UNIQUE_FIELDS
        if fields.get(name) and world.store.holders(name, fields[name]) - {own_id}
    ]

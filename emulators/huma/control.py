"""Control routes of the Huma emulator, under `/_emulator`: what Huma's administrators do in its
UI and its API cannot (deactivating, deleting, changing a login email, positions), for tests and
the demo. Bodies and answers are JSON in the state-file format; errors are `{"error": "..."}`.

- `GET /_emulator/users/{id}`: the stored record.
- `PATCH /_emulator/users/{id}`: merge top-level properties into the record, checked like a
  state file; uniqueness is not enforced, so tests can stage duplicates, and `servedFields` /
  `servedCharset` stage answers that break the published shapes (see `emulators/README.md`).
- `DELETE /_emulator/users/{id}`: delete the user; it vanishes from the API (204).
- `POST /_emulator/users/{id}/deactivate`: `status.active=false`, `deactivatedAt` =
  `{"at": …}` or now. `POST /_emulator/users/{id}/reactivate` undoes it.
- `PUT /_emulator/users/{id}/email`: `{"email": …}` changes the login email (409 when another
  user has it).
- `POST /_emulator/users/{id}/positions`: add a position (`titleId`, `contractStartDate`,
  optional `contractEndDate`, `percentage`, `contractType` (default Permanent), `id`); 201.
- `POST /_emulator/users/{id}/positions/{positionId}/end`: `contractEndDate` =
  `{"contractEndDate": …}` or yesterday, so the position is ENDED today.
- `PUT /_emulator/users/{id}/teams`: `{"teams": [group ids]}` makes these the user's teams
  (other memberships stay); `PUT /_emulator/users/{id}/location`: `{"location": id or null}` the
  user's one location, or none. Each id must name a group of that type (400), which exists (404).
- `PUT /_emulator/users/{id}/preferred-name`: `{"preferredName": text or null}`.
- `PUT /_emulator/users/{id}/supervisor`: `{"supervisor": id or null}`; 404 for an unknown user,
  409 when it would close a loop of supervisors (a loop can still be staged with `PATCH`).
- `POST /_emulator/groups`: `{"name", "type": "team" | "location" | "company", "id"?}` adds a
  group; 201 with it.
- `PATCH /_emulator/api-keys/{clientId}`: `{"active": false}` deactivates an API key; its tokens
  stop working at once.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING, Any

import orjson
from starlette.responses import Response
from starlette.routing import Route

from emulators.core import JSONResponse
from emulators.huma import records
from emulators.huma.render import today

if TYPE_CHECKING:
    from starlette.requests import Request

    from emulators.huma.app import HumaEmulator


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _now() -> str:
    now = dt.datetime.now(dt.UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def control_routes(emulator: HumaEmulator) -> list[Route]:
    """The control routes, bound to `emulator`."""

    def stored(request: Request) -> dict[str, Any]:
        user_id = records.parse_uuid(request.path_params["id"])
        user = emulator.world.store.get(user_id) if user_id else None
        if user is None:
            raise _Refused(404, f"no user {request.path_params['id']}")
        return user

    def save(user: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
        world = emulator.world
        try:
            record = records.check_user({**user, **changes}, world.org.groups, world.org.job_titles)
        except ValueError as exc:
            raise _Refused(400, str(exc)) from None
        if record["id"] != user["id"]:
            raise _Refused(400, "the id cannot change")
        world.store.put(record)
        return record

    async def body_of(request: Request) -> dict[str, Any]:
        raw = await request.body()
        try:
            body = orjson.loads(raw) if raw else {}
        except orjson.JSONDecodeError:
            raise _Refused(400, "the body must be JSON") from None
        if not isinstance(body, dict):
            raise _Refused(400, "the body must be a JSON object")
        return body

    async def get_user(request: Request) -> dict[str, Any]:
        return stored(request)

    async def patch_user(request: Request) -> dict[str, Any]:
        return save(stored(request), await body_of(request))

    async def delete_user(request: Request) -> None:
        emulator.world.store.delete(stored(request)["id"])

    async def deactivate(request: Request) -> dict[str, Any]:
        at = (await body_of(request)).get("at") or _now()
        return save(stored(request), {"status": {"active": False, "deactivatedAt": at}})

    async def reactivate(request: Request) -> dict[str, Any]:
        return save(stored(request), {"status": {"active": True, "deactivatedAt": None}})

    async def change_email(request: Request) -> dict[str, Any]:
        user = stored(request)
        email = (await body_of(request)).get("email")
        if not isinstance(email, str) or "@" not in email:
            raise _Refused(400, "email must be an email address")
        if emulator.world.store.holders("email", email) - {user["id"]}:
            raise _Refused(409, f"another user has the email {email}")
        return save(user, {"email": email})

    async def add_position(request: Request) -> dict[str, Any]:
        user = stored(request)
        position = {"id": str(uuid.uuid4()), "contractType": "Permanent", "percentage": 100}
        position.update(await body_of(request))
        record = save(user, {"positions": [*user["positions"], position]})
        return record["positions"][-1]

    async def end_position(request: Request) -> dict[str, Any]:
        user = stored(request)
        wanted = records.parse_uuid(request.path_params["positionId"])
        if all(p["id"] != wanted for p in user["positions"]):
            raise _Refused(404, f"no position {request.path_params['positionId']}")
        yesterday = (today() - dt.timedelta(days=1)).isoformat()
        end = (await body_of(request)).get("contractEndDate") or yesterday
        positions = [
            {**p, "contractEndDate": end} if p["id"] == wanted else p for p in user["positions"]
        ]
        record = save(user, {"positions": positions})
        return next(p for p in record["positions"] if p["id"] == wanted)

    def groups_of_type(raw: Any, group_type: str) -> list[str]:
        ids = [records.parse_uuid(g) for g in raw] if isinstance(raw, list) else [None]
        if None in ids:
            raise _Refused(400, f"{group_type} ids must be UUIDs")
        for group_id in ids:
            group = emulator.world.org.groups.get(group_id)
            if group is None:
                raise _Refused(404, f"no group {group_id}")
            if group["type"] != group_type:
                raise _Refused(400, f"group {group_id} is a {group['type']}, not a {group_type}")
        return list(dict.fromkeys(ids))

    def replace_memberships(user: dict[str, Any], group_type: str, ids: list[str]) -> dict:
        groups = emulator.world.org.groups
        kept = [g for g in user["groups"] if groups[g]["type"] != group_type]
        return save(user, {"groups": kept + ids})

    async def set_teams(request: Request) -> dict[str, Any]:
        user = stored(request)
        teams = groups_of_type((await body_of(request)).get("teams"), "team")
        return replace_memberships(user, "team", teams)

    async def set_location(request: Request) -> dict[str, Any]:
        user = stored(request)
        location = (await body_of(request)).get("location")
        ids = [] if location is None else groups_of_type([location], "location")
        return replace_memberships(user, "location", ids)

    async def set_preferred_name(request: Request) -> dict[str, Any]:
        user = stored(request)
        name = (await body_of(request)).get("preferredName")
        if name is not None and not isinstance(name, str):
            raise _Refused(400, "preferredName must be text or null")
        return save(user, {"preferredName": name or None})

    async def set_supervisor(request: Request) -> dict[str, Any]:
        user = stored(request)
        raw = (await body_of(request)).get("supervisor")
        supervisor = None if raw is None else records.parse_uuid(raw)
        if raw is not None and supervisor is None:
            raise _Refused(400, "supervisor must be a user id or null")
        store = emulator.world.store
        if supervisor is not None:
            if store.get(supervisor) is None:
                raise _Refused(404, f"no user {raw}")
            if store.is_above(user["id"], supervisor):
                raise _Refused(409, f"{user['id']} is already above {supervisor}")
        return save(user, {"supervisor": supervisor})

    async def add_group(request: Request) -> dict[str, Any]:
        group = {"id": str(uuid.uuid4())} | await body_of(request)
        if group.get("type") not in ("team", "location", "company"):
            raise _Refused(400, "type must be team, location or company")
        try:
            group = records.check_group(group)
        except ValueError as exc:
            raise _Refused(400, str(exc)) from None
        org = emulator.world.org
        if group["id"] in org.groups:
            raise _Refused(409, f"group {group['id']} exists")
        org.groups[group["id"]] = group
        return group

    async def patch_api_key(request: Request) -> dict[str, Any]:
        org = emulator.world.org
        key = org.api_keys.get(records.parse_uuid(request.path_params["clientId"]) or "")
        if key is None:
            raise _Refused(404, f"no API key {request.path_params['clientId']}")
        active = (await body_of(request)).get("active")
        if not isinstance(active, bool):
            raise _Refused(400, "active must be a boolean")
        org.api_keys[key["clientId"]] = {**key, "active": active}
        return org.api_keys[key["clientId"]]

    def route(path: str, handler: Any, method: str, status: int = 200) -> Route:
        async def endpoint(request: Request) -> Response:
            try:
                result = await handler(request)
            except _Refused as exc:
                return JSONResponse({"error": str(exc)}, status_code=exc.status)
            if result is None:
                return Response(status_code=204)
            return JSONResponse(result, status_code=status)

        return Route(path, endpoint, methods=[method])

    return [
        route("/users/{id}", get_user, "GET"),
        route("/users/{id}", patch_user, "PATCH"),
        route("/users/{id}", delete_user, "DELETE"),
        route("/users/{id}/deactivate", deactivate, "POST"),
        route("/users/{id}/reactivate", reactivate, "POST"),
        route("/users/{id}/email", change_email, "PUT"),
        route("/users/{id}/positions", add_position, "POST", status=201),
        route("/users/{id}/positions/{positionId}/end", end_position, "POST"),
        route("/users/{id}/teams", set_teams, "PUT"),
        route("/users/{id}/location", set_location, "PUT"),
        route("/users/{id}/preferred-name", set_preferred_name, "PUT"),
        route("/users/{id}/supervisor", set_supervisor, "PUT"),
        route("/groups", add_group, "POST", status=201),
        route("/api-keys/{clientId}", patch_api_key, "PATCH"),
    ]

"""Control routes of the Entra/Graph emulator, under `/_emulator` (tests and the demo only).

`{user}` is an object id or a userPrincipalName; `{tenant}` a tenant id or domain.

- `GET /_emulator/tenants/{tenant}/users/{user}`: the stored user, every property.
- `PATCH /_emulator/tenants/{tenant}/users/{user}`: set properties as given, unchecked (e.g.
  `{"onPremisesSyncEnabled": true}`); 409 when a UPN or mail would clash.
- `DELETE /_emulator/tenants/{tenant}/users/{user}`: delete a user, as an admin in the portal.
- `POST /_emulator/tenants/{tenant}/tokens`: mint an access token, body
  `{"appId", "roles"?, "lifetimeSeconds"?}` (real seconds; negative: already expired).
- `GET /_emulator/tenants/{tenant}/device-codes`: the codes waiting for a person to sign in.
- `POST /_emulator/tenants/{tenant}/device-codes/{user_code}`: what a person does on the sign-in
  page, `{"user": id or userPrincipalName, "decision": "approve" | "decline"}` (see
  `emulators.graph.device_codes.decide`).
- `POST /_emulator/tenants/{tenant}/users/{user}/revoke-sign-in-sessions`: what Graph's
  `revokeSignInSessions` does: `signInSessionsValidFromDateTime` = now, so every refresh token
  issued before is refused.
- `DELETE /_emulator/throttling`: refill every throttling bucket.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from emulators.core import JSONResponse
from emulators.graph.device_codes import DecisionRefused, decide

if TYPE_CHECKING:
    from emulators.graph.app import EntraEmulator


def control_routes(emulator: EntraEmulator) -> list[BaseRoute]:
    def tenant_or_404(request: Request):
        tenant = emulator.directory.tenant(request.path_params["tenant"])
        if tenant is None:
            return None, JSONResponse({"error": "unknown tenant"}, status_code=404)
        return tenant, None

    def user_or_404(request: Request):
        tenant, missing = tenant_or_404(request)
        if tenant is None:
            return None, None, missing
        user = tenant.users.find(request.path_params["key"])
        if user is None:
            return tenant, None, JSONResponse({"error": "unknown user"}, status_code=404)
        return tenant, user, None

    async def get_user(request: Request) -> Response:
        _, user, missing = user_or_404(request)
        return missing or JSONResponse(user)

    async def patch_user(request: Request) -> Response:
        tenant, user, missing = user_or_404(request)
        if missing:
            return missing
        changes = orjson.loads(await request.body())
        if not isinstance(changes, dict) or "id" in changes:
            return JSONResponse(
                {"error": "give an object of properties (not 'id')"}, status_code=400
            )
        upn, mail = changes.get("userPrincipalName"), changes.get("mail")
        clash = (upn and tenant.users.owner_of_upn(upn) not in (None, user["id"])) or (
            mail and tenant.users.owner_of_mail(mail) not in (None, user["id"])
        )
        if clash:
            return JSONResponse({"error": "userPrincipalName or mail in use"}, status_code=409)
        tenant.users.update(user, changes)
        return JSONResponse(user)

    async def delete_user(request: Request) -> Response:
        tenant, user, missing = user_or_404(request)
        if missing:
            return missing
        tenant.users.remove(user)
        return Response(status_code=204)

    async def mint_token(request: Request) -> Response:
        tenant, missing = tenant_or_404(request)
        if missing:
            return missing
        spec = orjson.loads(await request.body())
        app = tenant.applications.get(spec.get("appId", ""))
        if app is None:
            return JSONResponse({"error": "unknown appId"}, status_code=404)
        roles = spec.get("roles", app.get("grantedPermissions") or [])
        token = emulator.tokens.issue(
            tenant_id=tenant.id,
            app_id=app["appId"],
            roles=list(roles),
            lifetime_real=float(spec.get("lifetimeSeconds", 3600)),
            app_name=app.get("displayName"),
        )
        return JSONResponse({"access_token": token})

    async def device_codes(request: Request) -> Response:
        tenant, missing = tenant_or_404(request)
        if missing:
            return missing
        pending = emulator.delegated.codes.pending(tenant.id)
        return JSONResponse({"value": [entry.view() for entry in pending]})

    async def decide_device_code(request: Request) -> Response:
        tenant, missing = tenant_or_404(request)
        if missing:
            return missing
        spec = orjson.loads(await request.body() or b"{}")
        if not isinstance(spec, dict):
            return JSONResponse({"error": "give an object"}, status_code=400)
        try:
            entry = decide(
                emulator.delegated.codes,
                tenant,
                request.path_params["code"],
                decision=str(spec.get("decision", "approve")),
                user_key=spec.get("user"),
            )
        except DecisionRefused as exc:
            return JSONResponse({"error": exc.message}, status_code=exc.status)
        return JSONResponse(entry.view())

    async def revoke_sessions(request: Request) -> Response:
        tenant, user, missing = user_or_404(request)
        if missing:
            return missing
        now = datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
        tenant.users.update(user, {"signInSessionsValidFromDateTime": now})
        return JSONResponse({"value": True, "signInSessionsValidFromDateTime": now})

    async def reset_throttling(request: Request) -> Response:
        emulator.throttle.reset()
        return Response(status_code=204)

    user_path = "/tenants/{tenant}/users/{key}"
    return [
        Route(user_path, get_user, methods=["GET"]),
        Route(user_path, patch_user, methods=["PATCH"]),
        Route(user_path, delete_user, methods=["DELETE"]),
        Route("/tenants/{tenant}/tokens", mint_token, methods=["POST"]),
        Route("/tenants/{tenant}/device-codes", device_codes, methods=["GET"]),
        Route("/tenants/{tenant}/device-codes/{code}", decide_device_code, methods=["POST"]),
        Route(f"{user_path}/revoke-sign-in-sessions", revoke_sessions, methods=["POST"]),
        Route("/throttling", reset_throttling, methods=["DELETE"]),
    ]

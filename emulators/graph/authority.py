"""The Entra ID authority endpoints MSAL uses.

| Method and path | What it does |
|---|---|
| `GET /{tenant}/v2.0/.well-known/openid-configuration` | OIDC discovery (MSAL's tenant discovery) |
| `POST /{tenant}/oauth2/v2.0/token` | client credentials (secret, certificate); delegated grants |
| `GET /{tenant}/discovery/v2.0/keys` | the key access tokens are signed with |

`{tenant}` is the tenant id or any of its domain names. URLs in answers are built from the
request's host, so whatever address the client used is the authority's address. The delegated
grants (device code, refresh token) are in `emulators.graph.delegated`. The request log
keeps no body of a token request, only its non-secret parameters (`grant_type`, `client_id`,
`scope`) under `oauth`: never a secret, assertion, code or token.
"""

from __future__ import annotations

import urllib.parse
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from emulators.core import JSONResponse
from emulators.graph import aadsts
from emulators.graph.aadsts import aadsts_response
from emulators.graph.assertion import AssertionRejected, check_assertion
from emulators.graph.delegated import DEVICE_CODE_GRANT
from emulators.graph.discovery import openid_configuration, request_origin
from emulators.requestlog import ENTRY_SCOPE_KEY

if TYPE_CHECKING:
    from emulators.graph.app import EntraEmulator
    from emulators.graph.directory import Tenant

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#: Token-request parameters the request log may keep.
_LOGGED_PARAMETERS = ("grant_type", "client_id", "scope")
GRAPH_RESOURCES = ("https://graph.microsoft.com", "00000003-0000-0000-c000-000000000000")


class Authority:
    """The token service of all tenants in the emulator's directory."""

    def __init__(self, emulator: EntraEmulator) -> None:
        self._emulator = emulator

    def routes(self) -> list[BaseRoute]:
        return [
            Route(
                "/{tenant}/v2.0/.well-known/openid-configuration", self.discovery, methods=["GET"]
            ),
            Route("/{tenant}/discovery/v2.0/keys", self.keys, methods=["GET"]),
            Route("/{tenant}/oauth2/v2.0/token", self.token, methods=["POST"]),
            Route("/{tenant}/oauth2/v2.0/token", self.token_get, methods=["GET"]),
        ]

    def tenant_of(self, request: Request) -> Tenant | None:
        return self._emulator.directory.tenant(request.path_params["tenant"])

    def unknown_tenant(self, request: Request, error: str) -> Response:
        message = aadsts.TENANT_NOT_FOUND.format(tenant=request.path_params["tenant"])
        return aadsts_response(request, 400, error, 90002, message)

    def client_app(
        self, request: Request, tenant: Tenant, params: dict[str, str], *required: str
    ) -> dict[str, Any] | Response:
        """The app named by `client_id`, once it and the `required` parameters are present.

        Else Entra's refusal: the first missing parameter, or the app unknown to `tenant`.
        """
        for name in ("client_id", *required):
            if not params.get(name):
                return self.missing(request, name)
        app = tenant.applications.get(params["client_id"])
        if app is None:
            message = aadsts.APP_NOT_FOUND.format(
                app=params["client_id"], directory=tenant.display_name
            )
            return aadsts_response(request, 400, "unauthorized_client", 700016, message)
        return app

    @staticmethod
    async def form(request: Request) -> dict[str, str]:
        """The form parameters of a POST (logged without secrets)."""
        # Parsed here: starlette's form parser needs python-multipart, which the emulators avoid.
        params = dict(urllib.parse.parse_qsl((await request.body()).decode("utf-8", "replace")))
        entry = request.scope.get(ENTRY_SCOPE_KEY)
        if entry is not None:
            entry["oauth"] = {k: params[k] for k in _LOGGED_PARAMETERS if k in params}
        return params

    async def discovery(self, request: Request) -> Response:
        tenant = self.tenant_of(request)
        if tenant is None:
            return self.unknown_tenant(request, "invalid_tenant")
        return JSONResponse(openid_configuration(request_origin(request), tenant.id))

    async def keys(self, request: Request) -> Response:
        if self.tenant_of(request) is None:
            return self.unknown_tenant(request, "invalid_tenant")
        return JSONResponse(self._emulator.tokens.jwks())

    async def token_get(self, request: Request) -> Response:
        return aadsts_response(request, 400, "invalid_request", 900561, aadsts.POST_ONLY)

    async def token(self, request: Request) -> Response:
        params = await self.form(request)
        tenant = self.tenant_of(request)
        if tenant is None:
            return self.unknown_tenant(request, "invalid_request")
        grant = params.get("grant_type")
        if not grant:
            return self.missing(request, "grant_type")
        handler = _GRANTS.get(grant)
        if handler is None:
            message = aadsts.UNSUPPORTED_GRANT.format(grant=grant)
            return aadsts_response(request, 400, "unsupported_grant_type", 70003, message)
        return handler(self, request, tenant, params)

    def missing(self, request: Request, name: str) -> Response:
        message = aadsts.MISSING_PARAMETER.format(name=name)
        return aadsts_response(request, 400, "invalid_request", 900144, message)

    def _client_credentials(
        self, request: Request, tenant: Tenant, params: dict[str, str]
    ) -> Response:
        app = self.client_app(request, tenant, params)
        if isinstance(app, Response):
            return app
        refused = self.check_credential(request, tenant, app, params)
        if refused is not None:
            return refused
        refused = self._check_scope(request, tenant, params.get("scope"))
        if refused is not None:
            return refused
        return self._issue(request, tenant, app, "2" if "client_assertion" in params else "1")

    def check_credential(
        self, request: Request, tenant: Tenant, app: dict[str, Any], params: dict[str, str]
    ) -> Response | None:
        """None when the confidential client authenticated, else Entra's refusal."""
        app_id = app["appId"]
        if params.get("client_secret"):
            matching = [
                s
                for s in app.get("secrets") or []
                if s.get("secretText") == params["client_secret"]
            ]
            if not matching:
                message = aadsts.WRONG_SECRET.format(app=app_id)
                return aadsts_response(request, 401, "invalid_client", 7000215, message)
            if all(_past(s.get("endDateTime")) for s in matching):
                message = aadsts.EXPIRED_SECRET.format(app=app_id)
                return aadsts_response(request, 401, "invalid_client", 7000222, message)
            return None
        if params.get("client_assertion") and params.get("client_assertion_type") == JWT_BEARER:
            try:
                check_assertion(
                    params["client_assertion"],
                    app=app,
                    client_id=app_id,
                    audiences=self._audiences(request, tenant),
                )
            except AssertionRejected as exc:
                return aadsts_response(request, exc.status, exc.error, exc.code, exc.message)
            return None
        return aadsts_response(request, 401, "invalid_client", 7000218, aadsts.NO_CREDENTIAL)

    def _audiences(self, request: Request, tenant: Tenant) -> set[str]:
        names = [tenant.id] + [d.get("id", "") for d in tenant.domains]
        origin = request_origin(request)
        return {f"{origin}/{name}/oauth2/{v}token" for name in names for v in ("v2.0/", "")}

    def _check_scope(self, request: Request, tenant: Tenant, scope: str | None) -> Response | None:
        if not scope:
            return self.missing(request, "scope")
        scopes = scope.split()
        if len(scopes) != 1:
            message = aadsts.SCOPE_INVALID.format(scope=scope)
            return aadsts_response(request, 400, "invalid_scope", 70011, message)
        if not scopes[0].endswith("/.default"):
            message = aadsts.SCOPE_NOT_DEFAULT.format(scope=scopes[0])
            return aadsts_response(request, 400, "invalid_scope", 1002012, message)
        resource = scopes[0].removesuffix("/.default").rstrip("/")
        if resource.lower() not in GRAPH_RESOURCES:
            message = aadsts.RESOURCE_NOT_FOUND.format(
                resource=resource, directory=tenant.display_name
            )
            return aadsts_response(request, 400, "invalid_resource", 500011, message)
        return None

    def _issue(self, request: Request, tenant: Tenant, app: dict[str, Any], kind: str) -> Response:
        emulator = self._emulator
        lifetime = emulator.clock.to_real(emulator.settings.token_lifetime_seconds)
        token = emulator.tokens.issue(
            tenant_id=tenant.id,
            app_id=app["appId"],
            roles=list(app.get("grantedPermissions") or []),
            lifetime_real=lifetime,
            app_name=app.get("displayName"),
            credential_kind=kind,
        )
        expires_in = max(1, round(lifetime))
        body = {
            "token_type": "Bearer",
            "expires_in": expires_in,
            "ext_expires_in": expires_in,
            "access_token": token,
        }
        return JSONResponse(
            body, headers={"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"}
        )


def _past(moment: str | None) -> bool:
    if not moment:
        return False
    return datetime.fromisoformat(moment.replace("Z", "+00:00")) <= datetime.now(UTC)


def _device_code(authority: Authority, request: Request, tenant: Tenant, params: dict[str, str]):
    return authority._emulator.delegated.redeem_device_code(request, tenant, params)


def _refresh_token(authority: Authority, request: Request, tenant: Tenant, params: dict[str, str]):
    return authority._emulator.delegated.redeem_refresh_token(request, tenant, params)


#: grant_type -> handler.
_GRANTS = {
    "client_credentials": Authority._client_credentials,
    DEVICE_CODE_GRANT: _device_code,
    "refresh_token": _refresh_token,
}

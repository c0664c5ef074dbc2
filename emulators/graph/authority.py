"""The Entra ID authority endpoints MSAL's client-credentials flow uses.

| Method and path | What it does |
|---|---|
| `GET /{tenant}/v2.0/.well-known/openid-configuration` | OIDC discovery (MSAL's tenant discovery) |
| `POST /{tenant}/oauth2/v2.0/token` | `client_credentials`, with a secret or a certificate |
| `GET /{tenant}/discovery/v2.0/keys` | the key access tokens are signed with |

`{tenant}` is the tenant id or any of its domain names. URLs in answers are built from the
request's host, so whatever address the client used is the authority's address.
The device-code and refresh-token grants have their place in `_GRANTS` for later.
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

if TYPE_CHECKING:
    from emulators.graph.app import EntraEmulator
    from emulators.graph.directory import Tenant

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
GRAPH_RESOURCES = ("https://graph.microsoft.com", "00000003-0000-0000-c000-000000000000")


def _origin(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


def openid_configuration(origin: str, tenant_id: str) -> dict[str, Any]:
    """Entra's v2.0 discovery document for one tenant, on `origin`."""
    base = f"{origin}/{tenant_id}"
    return {
        "token_endpoint": f"{base}/oauth2/v2.0/token",
        "token_endpoint_auth_methods_supported": [
            "client_secret_post",
            "private_key_jwt",
            "client_secret_basic",
        ],
        "jwks_uri": f"{base}/discovery/v2.0/keys",
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": f"{base}/v2.0",
        "request_uri_parameter_supported": False,
        "userinfo_endpoint": "https://graph.microsoft.com/oidc/userinfo",
        "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
        "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
        "http_logout_supported": True,
        "frontchannel_logout_supported": True,
        "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
        "claims_supported": [
            *("sub", "iss", "aud", "exp", "iat", "auth_time", "acr", "nonce"),
            *("preferred_username", "name", "tid", "ver", "at_hash", "c_hash", "email"),
        ],
        "kerberos_endpoint": f"{base}/kerberos",
        "tenant_region_scope": "EU",
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": "graph.microsoft.com",
        "rbac_url": "https://pas.windows.net",
    }


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

    def _tenant(self, request: Request) -> Tenant | None:
        return self._emulator.directory.tenant(request.path_params["tenant"])

    def _unknown_tenant(self, request: Request, error: str) -> Response:
        message = aadsts.TENANT_NOT_FOUND.format(tenant=request.path_params["tenant"])
        return aadsts_response(request, 400, error, 90002, message)

    async def discovery(self, request: Request) -> Response:
        tenant = self._tenant(request)
        if tenant is None:
            return self._unknown_tenant(request, "invalid_tenant")
        return JSONResponse(openid_configuration(_origin(request), tenant.id))

    async def keys(self, request: Request) -> Response:
        if self._tenant(request) is None:
            return self._unknown_tenant(request, "invalid_tenant")
        return JSONResponse(self._emulator.tokens.jwks())

    async def token_get(self, request: Request) -> Response:
        return aadsts_response(request, 400, "invalid_request", 900561, aadsts.POST_ONLY)

    async def token(self, request: Request) -> Response:
        # Parsed here: starlette's form parser needs python-multipart, which the emulators avoid.
        params = dict(urllib.parse.parse_qsl((await request.body()).decode("utf-8", "replace")))
        tenant = self._tenant(request)
        if tenant is None:
            return self._unknown_tenant(request, "invalid_request")
        grant = params.get("grant_type")
        if not grant:
            return self._missing(request, "grant_type")
        handler = _GRANTS.get(grant)
        if handler is None:
            message = aadsts.UNSUPPORTED_GRANT.format(grant=grant)
            return aadsts_response(request, 400, "unsupported_grant_type", 70003, message)
        return handler(self, request, tenant, params)

    def _missing(self, request: Request, name: str) -> Response:
        message = aadsts.MISSING_PARAMETER.format(name=name)
        return aadsts_response(request, 400, "invalid_request", 900144, message)

    def _client_credentials(
        self, request: Request, tenant: Tenant, params: dict[str, str]
    ) -> Response:
        client_id = params.get("client_id")
        if not client_id:
            return self._missing(request, "client_id")
        app = tenant.applications.get(client_id)
        if app is None:
            message = aadsts.APP_NOT_FOUND.format(app=client_id, directory=tenant.display_name)
            return aadsts_response(request, 400, "unauthorized_client", 700016, message)
        refused = self._check_credential(request, tenant, app, params)
        if refused is not None:
            return refused
        refused = self._check_scope(request, tenant, params.get("scope"))
        if refused is not None:
            return refused
        return self._issue(request, tenant, app, "2" if "client_assertion" in params else "1")

    def _check_credential(
        self, request: Request, tenant: Tenant, app: dict[str, Any], params: dict[str, str]
    ) -> Response | None:
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
        origin = _origin(request)
        return {f"{origin}/{name}/oauth2/{v}token" for name in names for v in ("v2.0/", "")}

    def _check_scope(self, request: Request, tenant: Tenant, scope: str | None) -> Response | None:
        if not scope:
            return self._missing(request, "scope")
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


#: grant_type -> handler; "urn:ietf:params:oauth:grant-type:device_code" and "refresh_token"
#: join here when the delegated flows are emulated.
_GRANTS = {"client_credentials": Authority._client_credentials}

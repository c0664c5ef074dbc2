"""The delegated flows of Entra's token service: device authorization and refresh tokens.

- `POST /{tenant}/oauth2/v2.0/devicecode` (`client_id`, `scope`): `device_code`, `user_code`,
  `verification_uri`, `expires_in`, `interval` and `message`, as Entra's device-code page shows.
- `POST /{tenant}/oauth2/v2.0/token`: the grants `urn:ietf:params:oauth:grant-type:device_code`
  and `refresh_token` (dispatched by `Authority`).
- `GET /devicelogin`: the verification page; the emulator's tells how to approve a code through
  the control route (see `emulators.graph.device_codes`).

Client authentication: an app with `isFallbackPublicClient` (the portal's "Allow public client
flows") redeems without a credential and must not send one (AADSTS700025); any other app must
authenticate as in the client-credentials flow, so a public client such as MSAL's
`PublicClientApplication` gets 401 AADSTS7000218. As reported of Entra, that comes when the code
is redeemed: while nobody has signed in, polls are answered `authorization_pending`.

Device-code polls (all 400): `authorization_pending` (AADSTS70016) until a person decides,
`authorization_declined` (AADSTS65004) once declined, `expired_token` (AADSTS70020) after
`expires_in` (for as long again, at least 5 minutes; then the code is unknown),
`bad_verification_code` (AADSTS70018) for an unknown or already redeemed code.

A refresh token is redeemed for a new access token, ID token and refresh token; the old one stays
valid (Entra's refresh-tokens page: it does not revoke refresh tokens used to get new ones).
`invalid_grant` when the token is not one of ours (AADSTS9002313), belongs to another app
(AADSTS70000), was issued before the user's `signInSessionsValidFromDateTime` (revoked,
AADSTS50173) or went unused for `refresh_token_lifetime_seconds` (AADSTS700082); when the user was
deleted (AADSTS50034) or disabled (AADSTS50057); when a scope lacks consent (AADSTS65001,
`suberror` `consent_required`).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from emulators.core import JSONResponse
from emulators.graph import aadsts
from emulators.graph.aadsts import aadsts_response, entra_time, parse_time, timespan
from emulators.graph.delegation import ScopeRejected, ScopeRequest, consented, parse_scopes
from emulators.graph.device_codes import DeviceCodes
from emulators.graph.discovery import request_origin
from emulators.graph.user_tokens import RefreshTokens, user_token_answer

if TYPE_CHECKING:
    from emulators.graph.app import EntraEmulator
    from emulators.graph.authority import Authority
    from emulators.graph.directory import Tenant

DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
_LOGIN_PAGE = (
    "This is the Entra ID emulator: it has no sign-in page. Sign in as a user of the tenant by\n"
    "approving the code through the control route:\n\n"
    "  POST /_emulator/tenants/{tenant}/device-codes/{user_code}\n"
    '  {"user": "<userPrincipalName>", "decision": "approve"}   (or "decline")\n'
)


class DelegatedGrants:
    """Device codes and refresh tokens for every tenant's public (or confidential) clients."""

    def __init__(self, emulator: EntraEmulator, authority: Authority) -> None:
        self._emulator = emulator
        self._authority = authority
        self.codes = DeviceCodes()
        self.refresh_tokens = RefreshTokens()

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/{tenant}/oauth2/v2.0/devicecode", self.devicecode, methods=["POST"]),
            Route("/{tenant}/oauth2/v2.0/devicecode", self._authority.token_get, methods=["GET"]),
            Route("/devicelogin", self.login_page, methods=["GET"]),
        ]

    async def login_page(self, request: Request) -> Response:
        return PlainTextResponse(_LOGIN_PAGE)

    async def devicecode(self, request: Request) -> Response:
        authority = self._authority
        params = await authority.form(request)
        tenant = authority.tenant_of(request)
        if tenant is None:
            return authority.unknown_tenant(request, "invalid_request")
        app = authority.client_app(request, tenant, params)
        if isinstance(app, Response):
            return app
        scope = params.get("scope")
        if not scope:
            return authority.missing(request, "scope")
        scopes = self._scopes(request, tenant, app, scope)
        if isinstance(scopes, Response):
            return scopes
        settings, clock = self._emulator.settings, self._emulator.clock
        lifetime = clock.to_real(settings.device_code_lifetime_seconds)
        entry = self.codes.create(
            tenant_id=tenant.id, app_id=app["appId"], scope=scope, lifetime=lifetime
        )
        uri = f"{request_origin(request)}/devicelogin"
        body = {
            "user_code": entry.user_code,
            "device_code": entry.device_code,
            "verification_uri": uri,
            "expires_in": max(1, round(lifetime)),
            # MSAL sleeps `interval` whole seconds between polls: never 0.
            "interval": max(1, round(clock.to_real(settings.device_code_interval_seconds))),
            "message": f"To sign in, use a web browser to open the page {uri} and enter the "
            f"code {entry.user_code} to authenticate.",
        }
        return JSONResponse(body)

    def redeem_device_code(
        self, request: Request, tenant: Tenant, params: dict[str, str]
    ) -> Response:
        """The token endpoint's answer to a device-code poll."""
        app = self._authority.client_app(request, tenant, params, "device_code")
        if isinstance(app, Response):
            return app
        entry = self.codes.by_device_code(params["device_code"])
        if entry is None or entry.tenant_id != tenant.id or entry.app_id != app["appId"]:
            return aadsts_response(
                request, 400, "bad_verification_code", 70018, aadsts.DEVICE_UNKNOWN
            )
        if entry.expired():
            return aadsts_response(request, 400, "expired_token", 70020, aadsts.DEVICE_EXPIRED)
        if entry.status == "pending":
            return aadsts_response(
                request, 400, "authorization_pending", 70016, aadsts.DEVICE_PENDING
            )
        if entry.status == "declined":
            return aadsts_response(
                request, 400, "authorization_declined", 65004, aadsts.DEVICE_DECLINED
            )
        refused, kind = self._authenticate_client(request, tenant, app, params)
        if refused is not None:
            return refused
        self.codes.forget(entry)
        user = tenant.users.by_id.get(entry.user_id or "")
        refused = self._check_user(request, tenant, user)
        if refused is not None:
            return refused
        scopes = self._scopes(request, tenant, app, entry.scope)
        if isinstance(scopes, Response):
            return scopes
        return self._answer(request, tenant, app, user, scopes, entry.scope, params, kind)

    def redeem_refresh_token(
        self, request: Request, tenant: Tenant, params: dict[str, str]
    ) -> Response:
        """The token endpoint's answer to a refresh-token grant."""
        app = self._authority.client_app(request, tenant, params, "refresh_token")
        if isinstance(app, Response):
            return app
        refused, kind = self._authenticate_client(request, tenant, app, params)
        if refused is not None:
            return refused
        grant = self.refresh_tokens.open(params["refresh_token"])
        if grant is None or grant.tenant_id != tenant.id:
            return aadsts_response(request, 400, "invalid_grant", 9002313, aadsts.MALFORMED)
        if grant.app_id != app["appId"]:
            return aadsts_response(request, 400, "invalid_grant", 70000, aadsts.GRANT_INVALID)
        user = tenant.users.by_id.get(grant.user_id)
        refused = self._check_user(request, tenant, user)
        if refused is not None:
            return refused
        valid_from = parse_time(user.get("signInSessionsValidFromDateTime"))
        if valid_from is not None and grant.issued_at < valid_from:
            message = aadsts.GRANT_REVOKED.format(
                issued=entra_time(grant.issued_at), valid_from=entra_time(valid_from)
            )
            return aadsts_response(request, 400, "invalid_grant", 50173, message)
        idle = time.time() - grant.issued_at
        settings = self._emulator.settings
        if idle > self._emulator.clock.to_real(settings.refresh_token_lifetime_seconds):
            message = aadsts.GRANT_INACTIVE.format(
                issued=entra_time(grant.issued_at), inactive=timespan(idle)
            )
            return aadsts_response(request, 400, "invalid_grant", 700082, message)
        scope = params.get("scope") or grant.scope
        scopes = self._scopes(request, tenant, app, scope)
        if isinstance(scopes, Response):
            return scopes
        if scopes.permissions - consented(app):
            message = aadsts.NO_CONSENT.format(app=app["appId"], name=app.get("displayName"))
            return aadsts_response(
                request, 400, "invalid_grant", 65001, message, suberror="consent_required"
            )
        return self._answer(request, tenant, app, user, scopes, scope, params, kind)

    def _answer(self, request, tenant, app, user, scopes, scope, params, kind) -> Response:
        return user_token_answer(
            self._emulator,
            request,
            tenant=tenant,
            app=app,
            user=user,
            scopes=scopes,
            scope_text=scope,
            client_info=params.get("client_info") == "1",
            credential_kind=kind,
        )

    def _scopes(
        self, request: Request, tenant: Tenant, app: dict[str, Any], scope: str
    ) -> ScopeRequest | Response:
        try:
            name = app.get("displayName") or app["appId"]
            return parse_scopes(scope, app_name=name, directory=tenant.display_name)
        except ScopeRejected as exc:
            return aadsts_response(request, exc.status, exc.error, exc.code, exc.message)

    def _authenticate_client(
        self, request: Request, tenant: Tenant, app: dict[str, Any], params: dict[str, str]
    ) -> tuple[Response | None, str]:
        """A refusal or None, and the `appidacr` of the client's authentication."""
        presented = bool(params.get("client_secret") or params.get("client_assertion"))
        if app.get("isFallbackPublicClient"):
            if presented:
                message = aadsts.PUBLIC_CLIENT_WITH_CREDENTIAL
                return aadsts_response(request, 401, "invalid_client", 700025, message), "0"
            return None, "0"
        refused = self._authority.check_credential(request, tenant, app, params)
        return refused, "2" if params.get("client_assertion") else "1"

    @staticmethod
    def _check_user(request: Request, tenant: Tenant, user: dict[str, Any] | None):
        if user is None:
            message = aadsts.USER_NOT_FOUND.format(tenant=tenant.display_name)
            return aadsts_response(request, 400, "invalid_grant", 50034, message)
        if user.get("accountEnabled") is False:
            return aadsts_response(request, 400, "invalid_grant", 50057, aadsts.USER_DISABLED)
        return None

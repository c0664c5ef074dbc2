"""Huma's OAuth2 client-credentials token endpoint and the bearer-token check of every API call.

`POST /auth/oauth/token` takes `grant_type=client_credentials` with the API key's client id and
secret as a form (`application/x-www-form-urlencoded`), as JSON (the spec's
`ClientCredentialsGrantTypeInput`), or with the id and secret in an HTTP Basic `Authorization`
header (RFC 6749 §2.3.1, what standard OAuth2 clients send). Choices where the spec is silent:
- A missing or non-UUID `client_id`/`client_secret`, or another grant type, is a 400
  `field:invalid-format` naming the field (the spec declares `format: uuid` and a 400 shape).
- Wrong, unknown or deactivated keys get 401 `{"error": "invalid_client", ...}` (RFC 6749 §5.2),
  in the spec's `InvalidTokenResponse` shape.
- A deactivated or deleted key's tokens stop working at once (Huma's help page: "deactivated
  (immediately)").
Tokens live `token_lifetime_seconds` emulated seconds; `expires_in` says how many real seconds.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import math
import secrets
import urllib.parse
import uuid
from typing import TYPE_CHECKING, Any

import orjson
from starlette.responses import Response

from emulators.core import JSONResponse
from emulators.huma import errors
from emulators.huma.records import parse_uuid

if TYPE_CHECKING:
    from starlette.requests import Request

    from emulators.core import Emulator
    from emulators.huma.store import Organization

TOKEN_PATH = "/auth/oauth/token"  # noqa: S105 - a URL path, not a token
REVOKE_PATH = "/auth/oauth/revoke"
#: Expired tokens are forgotten when this many are held (clients that never reuse a token).
_PRUNE_AT = 10_000


@dataclasses.dataclass(frozen=True)
class Token:
    client_id: str
    expires_at: float


def service_user_id(client_id: str) -> str:
    """The id of the service user an API key acts as (the token's `userId`), stable per key."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"huma-emulator:api-key:{client_id}"))


class TokenIssuer:
    """Issues and checks access tokens against the organisation's API keys."""

    def __init__(self, emulator: Emulator) -> None:
        self._emulator = emulator
        self._tokens: dict[str, Token] = {}

    def clear(self) -> None:
        self._tokens.clear()

    async def token_endpoint(self, request: Request, org: Organization) -> Response:
        body = await request.body()
        content_type = request.headers.get("content-type", "")
        if "json" in content_type:
            try:
                form = orjson.loads(body) if body else {}
            except orjson.JSONDecodeError:
                return errors.invalid_fields([])
            if not isinstance(form, dict):
                return errors.invalid_fields([])
        elif "x-www-form-urlencoded" in content_type or not body:
            form = dict(urllib.parse.parse_qsl(body.decode("utf-8", "replace")))
        else:
            return errors.spring_error(415, request.url.path)
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        basic = _basic_credentials(request.headers.get("authorization"))
        if basic is not None:
            if client_id not in (None, basic[0]):
                return errors.invalid_token("Client authentication failed", error="invalid_client")
            client_id, client_secret = basic
        bad = [
            name
            for name, value in (("client_id", client_id), ("client_secret", client_secret))
            if parse_uuid(value) is None
        ]
        if form.get("grant_type") != "client_credentials":
            bad.insert(0, "grant_type")
        if bad:
            return errors.invalid_fields(bad)
        key = org.api_keys.get(parse_uuid(client_id) or "")
        secret_ok = key is not None and secrets.compare_digest(
            key["clientSecret"], parse_uuid(client_secret) or ""
        )
        if not (key and secret_ok and key["active"]):
            return errors.invalid_token("Client authentication failed", error="invalid_client")
        return JSONResponse(
            self._issue(key["clientId"], org), headers={"Cache-Control": "no-store"}
        )

    def _issue(self, client_id: str, org: Organization) -> dict[str, Any]:
        lifetime = self._emulator.settings.token_lifetime_seconds
        clock = self._emulator.clock
        if len(self._tokens) >= _PRUNE_AT:
            now = clock.now()
            self._tokens = {k: t for k, t in self._tokens.items() if t.expires_at > now}
        access_token = secrets.token_urlsafe(32)
        self._tokens[access_token] = Token(client_id, clock.now() + lifetime)
        return {
            "access_token": access_token,
            "token_type": "Bearer",
            # Whole real seconds, rounded down so a client never holds a token past its expiry.
            "expires_in": max(1, math.floor(clock.to_real(lifetime))),
            "organizationId": org.id,
            "userId": service_user_id(client_id),
        }

    def check(self, request: Request, org: Organization) -> tuple[Token | None, Response | None]:
        """The request's valid token, or the 401 answer to give instead."""
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            return None, errors.invalid_token(
                "Full authentication is required to access this resource"
            )
        token = self._tokens.get(value.strip())
        if token is None:
            return None, errors.invalid_token("Invalid access token")
        if self._emulator.clock.now() >= token.expires_at:
            del self._tokens[value.strip()]
            return None, errors.invalid_token("Access token expired")
        key = org.api_keys.get(token.client_id)
        if key is None or not key["active"]:
            return None, errors.invalid_token("Invalid access token")
        return token, None

    async def revoke_endpoint(self, request: Request, org: Organization) -> Response:
        """`POST /auth/oauth/revoke`: the bearer token stops working; 200 with no body."""
        _, refusal = self.check(request, org)
        if refusal is not None:
            return refusal
        revoked = request.headers["authorization"].partition(" ")[2].strip()
        self._tokens.pop(revoked, None)
        return Response(status_code=200)


def _basic_credentials(header: str | None) -> tuple[str, str] | None:
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, client_secret = decoded.partition(":")
    if not sep:
        return None
    return urllib.parse.unquote_plus(client_id), urllib.parse.unquote_plus(client_secret)

"""Tokens for a signed-in user, as Entra issues them to a client of the delegated flows.

The answer to a device-code or refresh-token grant holds:

- `access_token`: a v1 JWT for Graph like Entra's delegated ones (`aud` Graph's app id, `scp` = the
  app's consented Graph permissions and `openid profile email`, `oid`, `upn`, `unique_name`,
  `name`, `tid`, `appid`, `appidacr` "0" for a public client, `idtyp` "user", `wids`);
- `id_token` (when `openid` was asked for): a v2 JWT for the app (`aud` = client id, `iss` = the
  discovery document's issuer, `tid`, `oid`, `sub` (pairwise per app), `preferred_username`,
  `name`, `iat`, `exp`), what MSAL builds its account from;
- `refresh_token` (when `offline_access` was asked for): opaque, sealed with AES-GCM under a key
  made at start (so, like the signing key, it does not survive a restart), holding tenant, app,
  user, scopes and issue time;
- `client_info` (when the client sent `client_info=1`, as MSAL does): base64url JSON
  `{"uid": oid, "utid": tid}`, MSAL's home account id.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import time
import uuid
from typing import TYPE_CHECKING, Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from starlette.requests import Request

from emulators.core import JSONResponse
from emulators.graph import jose
from emulators.graph.delegation import ScopeRequest, consented, wids
from emulators.graph.discovery import issuer, request_origin
from emulators.graph.tokens import GRAPH_APP_ID

if TYPE_CHECKING:
    from emulators.graph.app import EntraEmulator
    from emulators.graph.directory import Tenant

_RT_PREFIX = "1.A"
_RT_CONTEXT = b"entra-emulator refresh token"
#: ID tokens live an hour in Entra, whatever the access token's lifetime.
_ID_TOKEN_SECONDS = 3600


@dataclasses.dataclass(frozen=True)
class RefreshGrant:
    """What a refresh token stands for."""

    tenant_id: str
    app_id: str
    user_id: str
    scope: str  # the scopes asked for, as sent
    issued_at: float  # real Unix time


class RefreshTokens:
    """Seals refresh grants into opaque strings and opens them again."""

    def __init__(self) -> None:
        self._aead = AESGCM(AESGCM.generate_key(bit_length=256))

    def seal(self, grant: RefreshGrant) -> str:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, orjson.dumps(dataclasses.asdict(grant)), _RT_CONTEXT)
        return _RT_PREFIX + jose.b64url_encode(nonce + sealed)

    def open(self, token: str) -> RefreshGrant | None:
        """The grant inside `token`, or None when it is not one of ours (or was tampered with)."""
        if not token.startswith(_RT_PREFIX):
            return None
        try:
            raw = jose.b64url_decode(token[len(_RT_PREFIX) :])
            fields = orjson.loads(self._aead.decrypt(raw[:12], raw[12:], _RT_CONTEXT))
            return RefreshGrant(**fields)
        except (jose.MalformedToken, InvalidTag, ValueError, TypeError):
            return None


def _pairwise_sub(user_id: str, app_id: str) -> str:
    return jose.b64url_encode(hashlib.sha256(f"{user_id}:{app_id}".encode()).digest())


def user_token_answer(
    emulator: EntraEmulator,
    request: Request,
    *,
    tenant: Tenant,
    app: dict[str, Any],
    user: dict[str, Any],
    scopes: ScopeRequest,
    scope_text: str,
    client_info: bool,
    credential_kind: str,
) -> JSONResponse:
    """The token endpoint's answer for `user` signed in to `app`.

    Args:
        scope_text: the `scope` parameter as sent (kept in the refresh token).
        credential_kind: `appidacr`: "0" public client, "1" secret, "2" certificate.
    """
    now = int(emulator.tokens.now())
    lifetime = max(1, round(emulator.clock.to_real(emulator.settings.token_lifetime_seconds)))
    granted = consented(app)
    upn = user["userPrincipalName"]
    access = {
        "aud": GRAPH_APP_ID,
        "iss": f"https://sts.windows.net/{tenant.id}/",
        "iat": now,
        "nbf": now,
        "exp": now + lifetime,
        "acct": 0,
        "acr": "1",
        "aio": uuid.uuid4().hex,
        "amr": ["pwd"],
        "app_displayname": app.get("displayName"),
        "appid": app["appId"],
        "appidacr": credential_kind,
        "family_name": user.get("surname"),
        "given_name": user.get("givenName"),
        "idtyp": "user",
        "ipaddr": request.client.host if request.client else None,
        "name": user.get("displayName"),
        "oid": user["id"],
        "scp": " ".join(sorted(granted | {"openid", "profile", "email"}, key=str.lower)),
        "sub": _pairwise_sub(user["id"], GRAPH_APP_ID),
        "tenant_region_scope": "EU",
        "tid": tenant.id,
        "unique_name": upn,
        "upn": upn,
        "uti": uuid.uuid4().hex[:22],
        "ver": "1.0",
        "wids": wids(user),
    }
    body: dict[str, Any] = {
        "token_type": "Bearer",
        "scope": scopes.answer_scope(granted),
        "expires_in": lifetime,
        "ext_expires_in": lifetime,
        "access_token": emulator.tokens.sign(access),
    }
    if scopes.offline:
        grant = RefreshGrant(tenant.id, app["appId"], user["id"], scope_text, time.time())
        body["refresh_token"] = emulator.delegated.refresh_tokens.seal(grant)
    if scopes.openid:
        id_lifetime = max(1, round(emulator.clock.to_real(_ID_TOKEN_SECONDS)))
        identity = {
            "aud": app["appId"],
            "iss": issuer(request_origin(request), tenant.id),
            "iat": now,
            "nbf": now,
            "exp": now + id_lifetime,
            "name": user.get("displayName"),
            "oid": user["id"],
            "preferred_username": upn,
            "sub": _pairwise_sub(user["id"], app["appId"]),
            "tid": tenant.id,
            "uti": uuid.uuid4().hex[:22],
            "ver": "2.0",
        }
        body["id_token"] = emulator.tokens.sign(identity)
    if client_info:
        info = orjson.dumps({"uid": user["id"], "utid": tenant.id})
        body["client_info"] = jose.b64url_encode(info)
    return JSONResponse(body, headers={"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"})

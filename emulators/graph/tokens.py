"""Access tokens: issued by the authority, checked by Graph.

Tokens are JWTs shaped like Entra's v1 tokens for Graph, signed RS256 with a key made when the
emulator starts (published at `/{tenant}/discovery/v2.0/keys`): app-only tokens carry the app's
`roles`; delegated tokens (`emulators.graph.user_tokens`) carry `scp` and the signed-in user's
`oid`. Lifetimes are emulated seconds (`token_lifetime_seconds`), turned into real seconds for
`exp` and `expires_in`, since clients live in real time; moving the emulated clock on
(`POST /_emulator/clock/advance`) moves the time tokens are checked against by as much, so a test
sees a token expire without waiting for it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
import uuid
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from emulators.graph import jose

GRAPH_AUDIENCE = "https://graph.microsoft.com"
#: Graph's application id: the `aud` of delegated tokens asked for through the v2 endpoint.
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
_CACHE_LIMIT = 10_000


class TokenRejected(Exception):
    """Graph refuses the token; `expired` tells which of Graph's two messages applies."""

    def __init__(self, *, expired: bool) -> None:
        super().__init__("expired" if expired else "invalid")
        self.expired = expired


@dataclasses.dataclass(frozen=True)
class Caller:
    """Who a valid token speaks for: an app alone (`roles`), or an app acting as a user."""

    tenant_id: str
    app_id: str
    roles: frozenset[str]
    expires_at: float  # real Unix time
    #: The signed-in user's object id, for delegated tokens; None for app-only ones.
    user_id: str | None = None
    #: The delegated permissions (`scp`) of a delegated token.
    scopes: frozenset[str] = frozenset()


class TokenIssuer:
    """Signs access tokens and checks them (signature checks are cached per token)."""

    def __init__(self, moved_on: Callable[[], float] = lambda: 0.0) -> None:
        """`moved_on`: the real seconds the emulated clock was moved on (`Clock.moved_on`)."""
        self._moved_on = moved_on
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        numbers = self._key.public_key().public_numbers()
        self._n = numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")
        self.kid = jose.b64url_encode(hashlib.sha256(self._n).digest()[:20])
        self._checked: dict[str, Caller] = {}

    def now(self) -> float:
        """The emulated world's Unix time: the machine's, plus what the clock was moved on."""
        return time.time() + self._moved_on()

    def issue(
        self,
        *,
        tenant_id: str,
        app_id: str,
        roles: list[str],
        lifetime_real: float,
        app_name: str | None = None,
        credential_kind: str = "1",
    ) -> str:
        """A signed token; `credential_kind` is `appidacr` ("1" secret, "2" certificate)."""
        now = int(self.now())
        payload = {
            "aud": GRAPH_AUDIENCE,
            "iss": f"https://sts.windows.net/{tenant_id}/",
            "iat": now,
            "nbf": now,
            "exp": now + round(lifetime_real),
            "aio": uuid.uuid4().hex,
            "app_displayname": app_name,
            "appid": app_id,
            "appidacr": credential_kind,
            "idp": f"https://sts.windows.net/{tenant_id}/",
            "idtyp": "app",
            "oid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{tenant_id}/{app_id}")),
            "roles": sorted(roles),
            "sub": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{tenant_id}/{app_id}")),
            "tid": tenant_id,
            "uti": uuid.uuid4().hex[:22],
            "ver": "1.0",
        }
        return self.sign(payload)

    def sign(self, payload: dict[str, Any]) -> str:
        """`payload` as a compact JWT signed with the emulator's key (access and ID tokens)."""
        header = {"typ": "JWT", "alg": "RS256", "x5t": self.kid, "kid": self.kid}
        return jose.sign_rs256(self._key, header, payload)

    def check(self, token: str) -> Caller:
        """The caller of a valid, unexpired token.

        Raises:
            TokenRejected: when the token is malformed, not ours, or outside its lifetime.
        """
        caller = self._checked.get(token)
        if caller is None:
            caller = self._verify(token)
            if len(self._checked) >= _CACHE_LIMIT:
                self._checked.clear()
            self._checked[token] = caller
        if self.now() >= caller.expires_at:
            raise TokenRejected(expired=True)
        return caller

    def _verify(self, token: str) -> Caller:
        try:
            header, payload, signing_input, signature = jose.parse(token)
        except jose.MalformedToken:
            raise TokenRejected(expired=False) from None
        if header.get("alg") != "RS256" or not jose.verify(
            self._key.public_key(), "RS256", signing_input, signature
        ):
            raise TokenRejected(expired=False)
        if payload.get("aud") not in (GRAPH_AUDIENCE, GRAPH_APP_ID):
            raise TokenRejected(expired=False)
        if self.now() < payload.get("nbf", 0):
            raise TokenRejected(expired=True)
        delegated = isinstance(payload.get("scp"), str)
        return Caller(
            tenant_id=payload["tid"],
            app_id=payload["appid"],
            roles=frozenset(payload.get("roles") or ()),
            expires_at=float(payload["exp"]),
            user_id=payload.get("oid") if delegated else None,
            scopes=frozenset(payload["scp"].split()) if delegated else frozenset(),
        )

    def jwks(self) -> dict[str, Any]:
        """The public key as a JWK set (what `jwks_uri` serves)."""
        e = self._key.public_key().public_numbers().e
        return {
            "keys": [
                {
                    "kty": "RSA",
                    "use": "sig",
                    "kid": self.kid,
                    "x5t": self.kid,
                    "n": jose.b64url_encode(self._n),
                    "e": jose.b64url_encode(e.to_bytes(3, "big")),
                }
            ]
        }

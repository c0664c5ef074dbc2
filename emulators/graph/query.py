"""OData query options of `GET /users`: `$select`, `$top`, and the opaque `$skiptoken`.

A skiptoken is stateless: it carries the tenant, the query (select, top, filter) and the id of
the last user served, and an HMAC so a client cannot edit it. The next page starts after that
id in the stable id order, so a user present during the whole listing is served exactly once.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import secrets
from typing import Any

import orjson

from emulators.graph import jose, schema
from emulators.graph.errors import GraphError, bad_request

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 999


def parse_select(raw: str | None, *, collection: bool) -> tuple[str, ...] | None:
    """The selected property names (canonical spelling), or None for Graph's default set.

    Raises:
        GraphError: 400 for an unknown property; 501 for one a collection cannot return.
    """
    if raw is None or not raw.strip():
        return None
    names: list[str] = []
    for item in raw.split(","):
        item = item.strip()
        if item == "*":
            names.extend(n for n in sorted(schema.ALL_PROPERTIES) if n not in names)
            continue
        name = schema.CANONICAL.get(item.lower())
        if name is None:
            raise bad_request(
                "Parsing OData Select and Expand failed: Could not find a property named "
                f"'{item}' on type 'microsoft.graph.user'.",
                code="BadRequest",
            )
        if collection and name in schema.NOT_IN_COLLECTIONS:
            raise GraphError(501, "NotImplemented", "This operation target is not yet supported.")
        if name not in names:
            names.append(name)
    return tuple(names)


def parse_top(raw: str | None) -> int | None:
    if raw is None:
        return None
    try:
        top = int(raw.strip())
    except ValueError:
        raise bad_request(
            f"Invalid page size specified: '{raw}'. Must be between 1 and 999 inclusive."
        ) from None
    if not 1 <= top <= MAX_PAGE_SIZE:
        raise bad_request(
            f"Invalid page size specified: '{raw}'. Must be between 1 and 999 inclusive."
        )
    return top


def projector(select: tuple[str, ...] | None):
    """A function turning a stored user into its JSON object for `select`."""
    names = select or schema.DEFAULT_SELECT
    collections = tuple(n for n in names if n in schema.COLLECTIONS)

    if not collections and "passwordProfile" not in names:
        return lambda user: {n: user.get(n) for n in names}

    def project(user: dict[str, Any]) -> dict[str, Any]:
        out = {n: user.get(n) for n in names}
        for n in collections:
            if out[n] is None:
                out[n] = []
        # Graph never returns a password.
        if "passwordProfile" in out:
            out["passwordProfile"] = None
        return out

    return project


@dataclasses.dataclass(frozen=True)
class PageToken:
    """What a skiptoken carries."""

    tenant_id: str
    after_id: str
    select: tuple[str, ...] | None
    top: int
    filter: str | None
    #: The `$expand` text as the client sent it (None without one).
    expand: str | None = None


class SkipTokens:
    """Makes and reads tamper-evident skiptokens (the key lives as long as the emulator)."""

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)

    def make(self, token: PageToken) -> str:
        payload = orjson.dumps(
            [token.tenant_id, token.after_id, token.select, token.top, token.filter, token.expand]
        )
        mac = hmac.new(self._key, payload, hashlib.sha256).digest()[:16]
        return jose.b64url_encode(mac + payload)

    def read(self, text: str, tenant_id: str) -> PageToken:
        """The token's content.

        Raises:
            GraphError: 400 when it was not made here for this tenant, or was changed.
        """
        try:
            raw = jose.b64url_decode(text)
            mac, payload = raw[:16], raw[16:]
            good = hmac.compare_digest(
                mac, hmac.new(self._key, payload, hashlib.sha256).digest()[:16]
            )
            fields = orjson.loads(payload) if good else [None] * 6
            tenant, after, select, top, filter_, expand = fields
        except (ValueError, TypeError):
            good = False
        if not good or tenant != tenant_id:
            raise bad_request("Invalid Skip Token", code="Request_BadRequest")
        return PageToken(tenant, after, tuple(select) if select else None, top, filter_, expand)

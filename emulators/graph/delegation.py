"""What a delegated token may do: the scopes a public client asks for, consent, directory roles.

A request's `scope` mixes OpenID Connect scopes (`openid`, `profile`, `email`, `offline_access`)
with Microsoft Graph delegated permissions, written short (`User.ReadWrite.All`) or qualified by
Graph's resource (`https://graph.microsoft.com/User.ReadWrite.All`, or Graph's app id). Entra
answers with the Graph scopes as the client wrote them plus `openid profile email` (the
device-code page shows `User.Read profile openid email` for `user.read openid profile`; the
on-behalf-of page echoes the qualified form), which is what lets MSAL find the access token again
under the scopes it asked for.

Consent lives on the application (`delegatedPermissions`: the Graph delegated permissions an
administrator granted for the whole organisation). A Global Administrator or Privileged Role
Administrator who signs in can grant what is missing on the spot ("Consent on behalf of your
organization"); anyone else is stopped with AADSTS90094, since `User.ReadWrite.All` needs admin
consent. What the signed-in user may then do in Graph depends on their directory roles
(`directoryRoles` on the user, by display name): writing users needs User Administrator or
Global Administrator.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from emulators.graph import aadsts

OIDC_SCOPES = frozenset({"openid", "profile", "email", "offline_access"})
GRAPH_RESOURCE = "https://graph.microsoft.com"
_GRAPH_PREFIXES = (f"{GRAPH_RESOURCE}/", "00000003-0000-0000-c000-000000000000/")
#: Graph's delegated permissions the emulator knows, by lower-case name.
GRAPH_DELEGATED = {
    name.lower(): name
    for name in (
        "User.Read",
        "User.ReadWrite",
        "User.ReadBasic.All",
        "User.Read.All",
        "User.ReadWrite.All",
        "Directory.Read.All",
        "Directory.ReadWrite.All",
        "Directory.AccessAsUser.All",
        "Domain.Read.All",
        "Domain.ReadWrite.All",
    )
}
#: Built-in directory roles by display name -> role template id (what `wids` lists).
ROLE_TEMPLATE_IDS = {
    "Global Administrator": "62e90394-69f5-4237-9190-012177145e10",
    "User Administrator": "fe930be7-5e62-47db-91af-98c3a49a38b1",
    "Privileged Role Administrator": "e8611ab8-c189-46e8-94e1-60213ab1f814",
    "Helpdesk Administrator": "729827e3-9c14-49f7-bb1b-9608f156bbb8",
    "Application Administrator": "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",
    "Cloud Application Administrator": "158c047a-c907-4556-b7ef-446551a6b5f7",
}
#: The template id every member user's token lists in `wids` ("User").
MEMBER_ROLE_TEMPLATE_ID = "b79fbf4d-3ef9-4689-8143-76b194e85509"
#: Roles that may create, update and delete users through Graph.
USER_WRITER_ROLES = frozenset({"global administrator", "user administrator"})
#: Roles that may grant admin consent to Microsoft Graph permissions.
CONSENTING_ROLES = frozenset({"global administrator", "privileged role administrator"})


class ScopeRejected(Exception):
    """Entra refuses the requested scopes: HTTP status, OAuth error, AADSTS code and message."""

    def __init__(self, status: int, error: str, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.error, self.code, self.message = status, error, code, message


@dataclasses.dataclass(frozen=True)
class ScopeRequest:
    """A parsed `scope` parameter.

    Attributes:
        graph: the Graph scopes as the client wrote them (for the answer's `scope`).
        permissions: their canonical permission names (`.default` excluded).
        default: whether `/.default` was asked for (every consented permission).
        openid, offline: whether `openid` (an ID token) and `offline_access` (a refresh token)
            were asked for.
    """

    graph: tuple[str, ...]
    permissions: frozenset[str]
    default: bool
    openid: bool
    offline: bool

    def answer_scope(self, consented: frozenset[str]) -> str:
        """The `scope` of the token answer."""
        granted = list(self.graph)
        if self.default:
            explicit = {g.lower() for g in granted}
            granted += [
                f"{GRAPH_RESOURCE}/{name}"
                for name in sorted(consented)
                if f"{GRAPH_RESOURCE}/{name}".lower() not in explicit
            ]
        return " ".join([*granted, *(("openid", "profile", "email") if self.openid else ())])


def parse_scopes(text: str, *, app_name: str, directory: str) -> ScopeRequest:
    """The scopes of a delegated request.

    Raises:
        ScopeRejected: another resource's scope (AADSTS500011) or an unknown Graph permission
            (AADSTS650053).
    """
    graph: list[str] = []
    permissions: set[str] = set()
    default = False
    items = text.split()
    for item in items:
        if item.lower() in OIDC_SCOPES:
            continue
        name = item
        for prefix in _GRAPH_PREFIXES:
            if item.lower().startswith(prefix):
                name = item[len(prefix) :]
                break
        else:
            if "/" in item:
                resource = item.rsplit("/", 1)[0]
                message = aadsts.RESOURCE_NOT_FOUND.format(resource=resource, directory=directory)
                raise ScopeRejected(400, "invalid_resource", 500011, message)
        if name == ".default":
            default = True
        elif name.lower() in GRAPH_DELEGATED:
            permissions.add(GRAPH_DELEGATED[name.lower()])
        else:
            message = aadsts.UNKNOWN_SCOPE.format(app=app_name, scope=item)
            raise ScopeRejected(400, "invalid_client", 650053, message)
        graph.append(item)
    lowered = {i.lower() for i in items}
    return ScopeRequest(
        graph=tuple(graph),
        permissions=frozenset(permissions),
        default=default,
        openid="openid" in lowered,
        offline="offline_access" in lowered,
    )


def consented(app: dict[str, Any]) -> frozenset[str]:
    """The Graph delegated permissions granted to `app` for the whole organisation."""
    names = app.get("delegatedPermissions") or []
    return frozenset(GRAPH_DELEGATED.get(str(n).lower(), str(n)) for n in names)


def roles_of(user: dict[str, Any]) -> frozenset[str]:
    """The user's directory roles, lower case (`directoryRoles` in the state)."""
    roles = user.get("directoryRoles")
    if not isinstance(roles, list):
        return frozenset()
    return frozenset(str(r).lower() for r in roles)


def wids(user: dict[str, Any]) -> list[str]:
    """The role template ids a token for `user` lists in `wids`."""
    by_name = {name.lower(): tid for name, tid in ROLE_TEMPLATE_IDS.items()}
    ids = sorted(by_name[r] for r in roles_of(user) if r in by_name)
    if user.get("userType", "Member") == "Member":
        ids.append(MEMBER_ROLE_TEMPLATE_ID)
    return ids

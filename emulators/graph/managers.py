"""A user's manager: Graph's `manager` relationship, and `$expand=manager` on users.

- `PUT /users/{id}/manager/$ref` with `{"@odata.id": "https://graph.microsoft.com/v1.0/users/{managerId}"}`
  sets it (204), as the user-post-manager page shows; the URL may name `users/{id}` or
  `directoryObjects/{id}` on any host (a client may build it from its own Graph base URL).
- `DELETE /users/{id}/manager/$ref` removes it (204), `GET /users/{id}/manager` reads the manager
  (a user with Graph's default properties, or `$select`) and `GET /users/{id}/manager/$ref` its
  `@odata.id`. Without a manager, each of these is a 404 `Request_ResourceNotFound`
  "Resource 'manager' does not exist or one of its queried reference-property objects are not
  present." (the answer people report from Graph for a user without a manager).
- `$expand=manager` or `manager($select=…)` on `GET /users` and `GET /users/{id}` adds `manager`
  (`@odata.type` `#microsoft.graph.user`, `id`, and the selected or default properties) to users
  who have one; users without one have no `manager` property. One navigation property only
  (Graph: "The result of parsing $expand contained at least 2 items, but the maximum allowed is
  1."); `$levels` is not emulated (400). Graph's pages say `$expand` "isn't supported with advanced
  query parameters" (`$count=true` with `ConsistencyLevel: eventual`): such a list is a 400
  `Request_UnsupportedQuery` (the message is the emulator's; Graph's pages do not quote one).

The manager's object id is stored on the user as `manager` (not a Graph property: never served
as one, never selectable). A manager who is deleted takes the relationship away with them.
Choices where Graph's pages are silent: a body without a string `@odata.id` is a 400
`BadRequest`; an `@odata.id` that names no user path is a 400 `Request_BadRequest` "Invalid
object identifier '…'."; a user as their own manager is a 400 `Request_BadRequest`; loops of
managers longer than that are allowed (Entra does not check them).
"""

from __future__ import annotations

import dataclasses
import re
import urllib.parse
from typing import TYPE_CHECKING, Any

from emulators.graph import errors, query
from emulators.graph.errors import GraphError, bad_request
from emulators.graph.messages import GraphRequest, GraphResponse

if TYPE_CHECKING:
    from emulators.graph.directory import Tenant

#: `$expand` on a directory-object collection pages at most this many objects (Graph's known
#: issue 13635: "$expand on directory objects: returns a maximum of 100 objects"), whatever `$top`.
EXPAND_PAGE_SIZE = 100
NO_MANAGER = errors.RESOURCE_NOT_FOUND.format(key="manager")
EXPAND_IN_ADVANCED_QUERY = (
    "$expand is not supported with advanced query parameters ($count=true with "
    "ConsistencyLevel: eventual)."
)
_EXPAND = re.compile(r"^\s*manager\s*(?:\((?P<options>.*)\))?\s*$", re.IGNORECASE)
_REFERENCE = re.compile(
    r"/(?:users|directoryObjects)/([^/]+?)(?:/Microsoft\.DirectoryServices\.User)?/?$",
    re.IGNORECASE,
)


@dataclasses.dataclass(frozen=True)
class ManagerExpansion:
    """`$expand=manager`: `select` is its nested `$select` (None: Graph's default properties)."""

    select: tuple[str, ...] | None


def parse_expand(raw: str | None, *, collection: bool) -> ManagerExpansion | None:
    """The expansion `$expand` asks for, or None without `$expand`.

    Raises:
        GraphError: 400 for anything but one `manager` expansion with an optional `$select`.
    """
    if raw is None:
        return None
    if _top_level_items(raw) > 1:
        raise bad_request(
            "The result of parsing $expand contained at least 2 items, but the maximum allowed "
            "is 1.",
            code="BadRequest",
        )
    match = _EXPAND.match(raw)
    if match is None:
        item = raw.split("(")[0].strip()
        raise bad_request(
            "Parsing OData Select and Expand failed: Could not find a property named "
            f"'{item}' on type 'microsoft.graph.user'.",
            code="BadRequest",
        )
    options = (match.group("options") or "").strip()
    if not options:
        return ManagerExpansion(None)
    name, _, value = options.partition("=")
    if name.strip().lower() == "$levels" and collection:
        raise bad_request(
            "Transitive manager's list is only supported on a single user, send the $expand "
            "request on /users/{id} endpoint",
            code="Request_UnsupportedQuery",
        )
    if name.strip().lower() != "$select" or ";" in value:
        raise bad_request(
            f"The query option '{options}' inside $expand is not supported by this emulator.",
            code="Request_UnsupportedQuery",
        )
    return ManagerExpansion(query.parse_select(value, collection=False))


def _top_level_items(raw: str) -> int:
    depth, items = 0, 1
    for char in raw:
        depth += char == "("
        depth -= char == ")"
        items += char == "," and depth == 0
    return items


def manager_of(tenant: Tenant, user: dict[str, Any]) -> dict[str, Any] | None:
    """The user's manager, or None when they have none (or the manager was deleted)."""
    manager_id = user.get("manager")
    return tenant.users.by_id.get(manager_id) if manager_id else None


def expanded(manager: dict[str, Any], select: tuple[str, ...] | None) -> dict[str, Any]:
    """The manager as an expanded navigation property."""
    view = {"@odata.type": "#microsoft.graph.user", "id": manager["id"]}
    view.update(query.projector(select)(manager))
    return view


def with_manager(
    tenant: Tenant, user: dict[str, Any], body: dict[str, Any], expansion: ManagerExpansion
) -> dict[str, Any]:
    """`body` (the user's projection) with `manager` added when the user has one."""
    manager = manager_of(tenant, user)
    if manager is not None:
        body["manager"] = expanded(manager, expansion.select)
    return body


def get_manager(tenant: Tenant, key: str, request: GraphRequest, *, ref: bool) -> GraphResponse:
    """`GET /users/{key}/manager` or `.../manager/$ref`."""
    user = _user(tenant, key)
    manager = manager_of(tenant, user)
    if manager is None:
        raise GraphError(404, "Request_ResourceNotFound", NO_MANAGER)
    context = f"{request.base_url}/$metadata#directoryObjects/$entity"
    if ref:
        return GraphResponse(
            200, {"@odata.context": context, "@odata.id": _read_url(request, manager)}
        )
    select = query.parse_select(request.params.get("$select"), collection=False)
    body = {"@odata.context": context, "@odata.type": "#microsoft.graph.user"}
    body.update(query.projector(select)(manager))
    return GraphResponse(200, body)


def manager_reference(
    tenant: Tenant, user: dict[str, Any], request: GraphRequest
) -> dict[str, Any]:
    """The manager named by a `PUT .../manager/$ref` body.

    Raises:
        GraphError: 400 for a malformed body, 404 when it names no user.
    """
    body = request.body
    target = body.get("@odata.id") if isinstance(body, dict) else None
    if request.bad_json or not isinstance(target, str):
        raise bad_request(errors.BAD_JSON, code="BadRequest")
    match = _REFERENCE.search(urllib.parse.urlsplit(target).path)
    if match is None:
        raise bad_request(f"Invalid object identifier '{target}'.")
    manager = tenant.users.find(urllib.parse.unquote(match.group(1)))
    if manager is None:
        raise errors.not_found(urllib.parse.unquote(match.group(1)))
    if manager["id"] == user["id"]:
        raise bad_request("A user cannot be their own manager.")
    return manager


def _user(tenant: Tenant, key: str) -> dict[str, Any]:
    user = tenant.users.find(key)
    if user is None:
        raise errors.not_found(key)
    return user


def _read_url(request: GraphRequest, user: dict[str, Any]) -> str:
    return f"{request.base_url}/directoryObjects/{user['id']}/Microsoft.DirectoryServices.User"


def set_manager(tenant: Tenant, key: str, request: GraphRequest) -> GraphResponse:
    """`PUT /users/{key}/manager/$ref` (204)."""
    user = _user(tenant, key)
    manager = manager_reference(tenant, user, request)
    _check_cloud_mastered(user)
    tenant.users.update(user, {"manager": manager["id"]})
    return GraphResponse(204)


def remove_manager(tenant: Tenant, key: str) -> GraphResponse:
    """`DELETE /users/{key}/manager/$ref` (204; 404 when there is none)."""
    user = _user(tenant, key)
    if manager_of(tenant, user) is None:
        raise GraphError(404, "Request_ResourceNotFound", NO_MANAGER)
    _check_cloud_mastered(user)
    tenant.users.update(user, {"manager": None})
    return GraphResponse(204)


def _check_cloud_mastered(user: dict[str, Any]) -> None:
    # A synced user's manager comes from on-premises AD, like the other mastered properties.
    if user.get("onPremisesSyncEnabled"):
        raise bad_request(errors.ON_PREMISES_MASTERED)

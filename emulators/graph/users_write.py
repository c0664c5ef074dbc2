"""`PATCH /users/{id | userPrincipalName}` (204), `POST /users` (201), `DELETE /users/{id}` (204).

A write is checked whole before anything changes, in Graph's order: payload shape, unknown and
read-only properties, values (types, lengths, nulls), on-premises mastery, app-only limits,
domain and uniqueness. Passwords are checked for complexity and then forgotten.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from emulators.graph import errors, schema
from emulators.graph.errors import bad_request, conflict, invalid_value
from emulators.graph.messages import GraphRequest, GraphResponse
from emulators.graph.query import projector
from emulators.graph.schema import Kind
from emulators.graph.users_read import context_url

if TYPE_CHECKING:
    from emulators.graph.directory import Tenant
    from emulators.graph.settings import GraphSettings

_NOT_NULLABLE = {"mail", "displayName", "accountEnabled", "usageLocation", "userPrincipalName"}
_NOT_NULLABLE |= {"mailNickname", "passwordProfile"}
_UPN = re.compile(r"^[A-Za-z0-9'.\-_!#^~]+@[A-Za-z0-9.\-]+$")
_DATE_ONLY = re.compile(r"^\d{4}-\d\d-\d\d$")


def _type_error(name: str, kind: Kind, value: Any) -> errors.GraphError:
    if kind is Kind.STRINGS:
        message = (
            "An unexpected 'PrimitiveValue' node was found when reading from the JSON reader. "
            "A 'StartArray' node was expected."
        )
    elif isinstance(value, str):
        message = f"Cannot convert the literal '{value}' to the expected type '{kind.value}'."
    else:
        message = (
            f"Cannot convert a primitive value to the expected type '{kind.value}'. See the "
            "inner exception for more details."
        )
    return bad_request(message, code="BadRequest")


def _clean(name: str, value: Any) -> Any:
    """The value to store for one property, or a GraphError for a bad one."""
    kind, limit = schema.WRITABLE[name]
    if value is None:
        if kind is Kind.STRINGS:
            raise bad_request(
                f"A null value was found for the property named '{name}', which has the expected "
                "type 'Collection(Edm.String)[Nullable=False]'. The expected type "
                "'Collection(Edm.String)[Nullable=False]' does not allow null values.",
                code="BadRequest",
            )
        if name in _NOT_NULLABLE:
            raise invalid_value(name)
        return None
    if kind is Kind.BOOLEAN:
        if not isinstance(value, bool):
            raise _type_error(name, kind, value)
        return value
    if kind is Kind.OBJECT:
        if not isinstance(value, dict):
            raise _type_error(name, kind, value)
        return value
    if kind is Kind.STRINGS:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise _type_error(name, kind, value)
        if (name == "businessPhones" and len(value) > 1) or any(len(v) > limit for v in value):
            raise invalid_value(name)
        return list(value)
    if not isinstance(value, str):
        raise _type_error(name, kind, value)
    if kind is Kind.DATETIME:
        return _datetime(name, value)
    if limit is not None and len(value) > limit:
        raise invalid_value(name)
    if value == "":
        if name in _NOT_NULLABLE:
            raise invalid_value(name)
        return None
    if name == "usageLocation" and not re.fullmatch(r"[A-Za-z]{2}", value):
        raise invalid_value(name)
    if name == "userType" and value not in ("Member", "Guest"):
        raise invalid_value(name)
    return value


def _datetime(name: str, value: str) -> str:
    text = value + "T00:00:00Z" if _DATE_ONLY.match(value) else value
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise bad_request(
            f"Cannot convert the literal '{value}' to the expected type 'Edm.DateTimeOffset'.",
            code="BadRequest",
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _password_ok(password: Any) -> bool:
    if not isinstance(password, str) or not 8 <= len(password) <= 256:
        return False
    classes = [
        any(c.islower() for c in password),
        any(c.isupper() for c in password),
        any(c.isdigit() for c in password),
        any(not c.isalnum() for c in password),
    ]
    return sum(classes) >= 3


class UserWriter:
    """The write side of `/users`."""

    def __init__(self, settings: GraphSettings) -> None:
        self._settings = settings

    def _changes(self, body: Any, request: GraphRequest, *, app_only: bool) -> dict[str, Any]:
        if request.bad_json or not isinstance(body, dict):
            raise bad_request(errors.BAD_JSON, code="BadRequest")
        changes: dict[str, Any] = {}
        for name, value in body.items():
            if name.startswith("@") or "@odata." in name:
                continue  # annotations such as the SDK's "@odata.type"
            if name in schema.READ_ONLY:
                raise bad_request(errors.READ_ONLY.format(name=name))
            if name in schema.APP_ONLY_DENIED:
                raise errors.denied()
            if name not in schema.WRITABLE:
                raise bad_request(errors.UNKNOWN_PROPERTY.format(name=name), code="BadRequest")
            changes[name] = _clean(name, value)
        hire_date_denied = app_only and self._settings.deny_app_only_hire_date_writes
        if "employeeHireDate" in changes and hire_date_denied:
            raise errors.denied()
        return changes

    def _check_identity(self, tenant: Tenant, changes: dict[str, Any], uid: str | None) -> None:
        upn = changes.get("userPrincipalName")
        if upn is not None:
            if not _UPN.match(upn):
                raise invalid_value("userPrincipalName")
            if not tenant.verified_domain(upn.rsplit("@", 1)[1]):
                raise bad_request(errors.DOMAIN_INVALID)
            owner = tenant.users.owner_of_upn(upn)
            if owner is not None and owner != uid:
                raise conflict("userPrincipalName")
        mail = changes.get("mail")
        if mail is not None:
            owner = tenant.users.owner_of_mail(mail)
            if owner is not None and owner != uid:
                raise conflict("proxyAddresses")

    def update(
        self, tenant: Tenant, key: str, request: GraphRequest, *, app_only: bool = True
    ) -> GraphResponse:
        """`PATCH /users/{key}`; `app_only` tells an app-only token from a delegated one."""
        user = tenant.users.find(key)
        if user is None:
            raise errors.not_found(key)
        changes = self._changes(request.body, request, app_only=app_only)
        if user.get("onPremisesSyncEnabled") and any(
            n in schema.ON_PREMISES_MASTERED for n in changes
        ):
            raise bad_request(errors.ON_PREMISES_MASTERED)
        if "passwordProfile" in changes and not _password_ok(
            changes["passwordProfile"].get("password")
        ):
            raise bad_request(errors.PASSWORD_COMPLEXITY)
        self._check_identity(tenant, changes, user["id"])
        changes.pop("passwordProfile", None)  # never stored
        tenant.users.update(user, changes)
        return GraphResponse(204)

    def create(
        self, tenant: Tenant, request: GraphRequest, *, app_only: bool = True
    ) -> GraphResponse:
        """`POST /users`; `app_only` tells an app-only token from a delegated one."""
        changes = self._changes(request.body, request, app_only=app_only)
        for name in schema.REQUIRED_ON_CREATE:
            if changes.get(name) is None:
                raise bad_request(errors.REQUIRED_MISSING)
        if not _password_ok(changes["passwordProfile"].get("password")):
            raise bad_request(errors.PASSWORD_COMPLEXITY)
        self._check_identity(tenant, changes, None)
        del changes["passwordProfile"]
        user: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "businessPhones": [],
            "userType": "Member",
            "onPremisesSyncEnabled": None,
            "createdDateTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        user.update(changes)
        tenant.users.add(user)
        body = {"@odata.context": context_url(request.base_url, None, entity=True)}
        body.update(projector(None)(user))
        location = (
            f"{request.base_url}/directoryObjects/{user['id']}/Microsoft.DirectoryServices.User"
        )
        return GraphResponse(201, body, headers={"Location": location})

    def delete(self, tenant: Tenant, key: str) -> GraphResponse:
        user = tenant.users.find(key)
        if user is None:
            raise errors.not_found(key)
        tenant.users.remove(user)
        return GraphResponse(204)

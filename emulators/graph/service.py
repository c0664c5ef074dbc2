"""Graph's request pipeline, shared by top-level calls and `$batch` items.

For each call: authenticate the bearer token (401), find the route (400 for an unknown segment,
405 for a wrong method), charge the app+tenant throttle (429), check the permissions (403), run
the handler, and add Graph's headers (`request-id`, `client-request-id`, `x-ms-resource-unit`,
`x-ms-throttle-limit-percentage`, ...) and error envelope.

An app-only token needs one of the application permissions (`roles`) a call lists. A delegated
token needs one of them among its delegated permissions (`scp`), and the signed-in user must be
allowed too: any member may read, but creating, updating and deleting users takes the User
Administrator or Global Administrator role, looked up in the directory at each call (so taking
the role away stops writes at once, while reads go on).
"""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING

from emulators.graph import errors, managers
from emulators.graph.delegation import USER_WRITER_ROLES, roles_of
from emulators.graph.errors import GraphError, error_body
from emulators.graph.messages import GRAPH_JSON, GraphRequest, GraphResponse
from emulators.graph.throttling import request_cost
from emulators.graph.tokens import Caller, TokenRejected
from emulators.graph.users_read import UserReader
from emulators.graph.users_write import UserWriter

if TYPE_CHECKING:
    from emulators.graph.app import EntraEmulator
    from emulators.graph.directory import Tenant

#: A delegated-only permission that lets an app do what the signed-in user may do.
AS_USER = "Directory.AccessAsUser.All"
READ_USERS = frozenset(
    {"User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}
    | {"User.ReadBasic.All", "User.ReadUpdate.All", AS_USER}
)
UPDATE_USERS = frozenset(
    {"User.ReadWrite.All", "Directory.ReadWrite.All", "User.ReadUpdate.All", AS_USER}
)
CREATE_USERS = frozenset({"User.ReadWrite.All", "Directory.ReadWrite.All", AS_USER})
READ_DOMAINS = frozenset(
    {"Domain.Read.All", "Domain.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}
    | {AS_USER}
)
_USER = re.compile(r"^/users/([^/]+)$")
_MANAGER = re.compile(r"^/users/([^/]+)/manager$")
_MANAGER_REF = re.compile(r"^/users/([^/]+)/manager/\$ref$")
_DOMAIN = re.compile(r"^/domains/([^/]+)$")


class GraphService:
    """Answers Graph calls against the emulator's directory."""

    def __init__(self, emulator: EntraEmulator) -> None:
        self._emulator = emulator
        self.reader = UserReader()
        self.writer = UserWriter(emulator.settings)

    def authenticate(self, request: GraphRequest) -> Caller:
        """The caller of the request's bearer token; GraphError 401 when there is none."""
        header = request.header("authorization") or ""
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise self._unauthenticated(request, "Access token is empty.")
        try:
            caller = self._emulator.tokens.check(token.strip())
        except TokenRejected as exc:
            message = (
                "Access token has expired or is not yet valid."
                if exc.expired
                else "Access token validation failure."
            )
            raise self._unauthenticated(request, message) from None
        if self._emulator.directory.tenant(caller.tenant_id) is None:
            raise self._unauthenticated(request, "Access token validation failure.")
        return caller

    @staticmethod
    def _unauthenticated(request: GraphRequest, message: str) -> GraphError:
        origin = request.base_url.removesuffix("/v1.0")
        challenge = (
            f'Bearer realm="", authorization_uri="{origin}/common/oauth2/authorize", '
            'client_id="00000003-0000-0000-c000-000000000000"'
        )
        return GraphError(
            401, "InvalidAuthenticationToken", message, headers={"WWW-Authenticate": challenge}
        )

    def handle(self, request: GraphRequest, caller: Caller | None = None) -> GraphResponse:
        """Answer one call (never raises GraphError: errors come back as Graph's envelope)."""
        request_id = str(uuid.uuid4())
        client_request_id = request.header("client-request-id")
        headers = {"request-id": request_id, "client-request-id": client_request_id or request_id}
        try:
            if caller is None:
                caller = self.authenticate(request)
            response = self._route(request, caller, headers)
        except GraphError as exc:
            body = error_body(exc, request_id=request_id, client_request_id=client_request_id)
            response = GraphResponse(exc.status, body, exc.headers)
        response.headers.update(headers)
        if response.payload is not None:
            response.headers["Content-Type"] = GRAPH_JSON
        elif response.text is not None:
            response.headers["Content-Type"] = "text/plain"
        return response

    def _route(self, request: GraphRequest, caller: Caller, headers: dict) -> GraphResponse:
        tenant = self._emulator.directory.tenant(caller.tenant_id)
        if tenant is None:  # authenticate checked it: a caller always has its tenant
            raise RuntimeError(f"no tenant {caller.tenant_id} for an authenticated caller")
        method, path = request.method, request.path.rstrip("/") or "/"
        if path == "/users":
            allowed = {"GET": self._list, "POST": self._create}
        elif path == "/users/$count":
            allowed = {"GET": self._count}
        elif _USER.match(path):
            allowed = {"GET": self._get, "PATCH": self._update, "DELETE": self._delete}
        elif _MANAGER.match(path):
            allowed = {"GET": self._get_manager}
        elif _MANAGER_REF.match(path):
            allowed = {
                "GET": self._get_manager,
                "PUT": self._set_manager,
                "DELETE": self._remove_manager,
            }
        elif path == "/domains" or _DOMAIN.match(path):
            allowed = {"GET": self._domains}
        else:
            segment = path.strip("/").split("/")[0] or path
            raise errors.bad_request(
                f"Resource not found for the segment '{segment}'.", code="BadRequest"
            )
        handler = allowed.get(method)
        if handler is None:
            raise GraphError(
                405,
                "Request_BadRequest",
                "Specified HTTP method is not allowed for the request target.",
            )
        self._charge(
            request, caller, tenant, is_list=path in ("/users", "/domains"), headers=headers
        )
        return handler(request, caller, tenant, path)

    def _charge(
        self, request: GraphRequest, caller: Caller, tenant: Tenant, *, is_list: bool, headers: dict
    ) -> None:
        is_write = request.method != "GET"
        top = request.params.get("$top")
        cost = request_cost(
            is_list=is_list and not is_write,
            is_write=is_write,
            has_select="$select" in request.params,
            top=int(top) if top and top.strip().isdigit() else None,
            has_expand="$expand" in request.params,
        )
        emulator = self._emulator
        verdict = emulator.throttle.charge(
            emulator.settings.throttling,
            tenant_id=tenant.id,
            app_id=caller.app_id,
            tenant_users=len(tenant.users),
            cost=cost,
            writes=1 if is_write else 0,
            now=emulator.clock.now(),
        )
        if not verdict.allowed:
            raise GraphError(
                429,
                "TooManyRequests",
                "Please retry again later.",
                headers={
                    "Retry-After": emulator.clock.retry_after_header(verdict.retry_after),
                    "x-ms-throttle-scope": verdict.scope,
                    "x-ms-throttle-information": verdict.information,
                },
                inner={"code": "429", "message": "Please retry after", "status": "429"},
            )
        headers["x-ms-resource-unit"] = str(cost)
        if verdict.usage > 0.8:
            headers["x-ms-throttle-limit-percentage"] = f"{verdict.usage:.1f}"

    @staticmethod
    def _need(
        caller: Caller, tenant: Tenant, permissions: frozenset[str], *, writes_users: bool = False
    ) -> None:
        """Raise 403 unless the token, and for a delegated one its user, may do the call."""
        if caller.user_id is None:
            if not caller.roles & permissions:
                raise errors.denied()
            return
        if not caller.scopes & permissions:
            raise errors.denied()
        if writes_users:
            user = tenant.users.by_id.get(caller.user_id)
            if user is None or not roles_of(user) & USER_WRITER_ROLES:
                raise errors.denied()

    def _list(self, request, caller, tenant, path) -> GraphResponse:
        self._need(caller, tenant, READ_USERS)
        return self.reader.list(tenant, request)

    def _count(self, request, caller, tenant, path) -> GraphResponse:
        self._need(caller, tenant, READ_USERS)
        return self.reader.count(tenant, request)

    def _get(self, request, caller, tenant, path) -> GraphResponse:
        self._need(caller, tenant, READ_USERS)
        return self.reader.get(tenant, _key(path), request)

    def _update(self, request, caller, tenant, path) -> GraphResponse:
        self._need(caller, tenant, UPDATE_USERS, writes_users=True)
        app_only = caller.user_id is None
        return self.writer.update(tenant, _key(path), request, app_only=app_only)

    def _delete(self, request, caller, tenant, path) -> GraphResponse:
        self._need(caller, tenant, CREATE_USERS, writes_users=True)
        return self.writer.delete(tenant, _key(path))

    def _create(self, request, caller, tenant, path) -> GraphResponse:
        self._need(caller, tenant, CREATE_USERS, writes_users=True)
        return self.writer.create(tenant, request, app_only=caller.user_id is None)

    def _get_manager(self, request, caller, tenant, path) -> GraphResponse:
        self._need(caller, tenant, READ_USERS)
        ref = path.endswith("/$ref")
        return managers.get_manager(tenant, _user_key(path), request, ref=ref)

    def _set_manager(self, request, caller, tenant, path) -> GraphResponse:
        self._need(caller, tenant, CREATE_USERS, writes_users=True)
        return managers.set_manager(tenant, _user_key(path), request)

    def _remove_manager(self, request, caller, tenant, path) -> GraphResponse:
        self._need(caller, tenant, CREATE_USERS, writes_users=True)
        return managers.remove_manager(tenant, _user_key(path))

    def _domains(self, request, caller, tenant, path) -> GraphResponse:
        self._need(caller, tenant, READ_DOMAINS)
        if path == "/domains":
            context = f"{request.base_url}/$metadata#domains"
            value = [domain_view(d) for d in tenant.domains]
            return GraphResponse(200, {"@odata.context": context, "value": value})
        name = _key(path).lower()
        for domain in tenant.domains:
            if domain.get("id", "").lower() == name:
                context = f"{request.base_url}/$metadata#domains/$entity"
                return GraphResponse(200, {"@odata.context": context, **domain_view(domain)})
        raise errors.not_found(_key(path))


def _key(path: str) -> str:
    return path.rsplit("/", 1)[1]


def _user_key(path: str) -> str:
    """The `{id | userPrincipalName}` of a `/users/{key}/...` path."""
    return path.split("/")[2]


def domain_view(domain: dict) -> dict:
    """A domain as Graph shows it: the state's properties over Graph's defaults."""
    return {
        "authenticationType": "Managed",
        "availabilityStatus": None,
        "id": domain.get("id"),
        "isAdminManaged": True,
        "isDefault": False,
        "isInitial": False,
        "isRoot": True,
        "isVerified": False,
        "passwordNotificationWindowInDays": 14,
        "passwordValidityPeriodInDays": 2147483647,
        "supportedServices": ["Email", "OfficeCommunicationsOnline"],
        "state": None,
    } | domain

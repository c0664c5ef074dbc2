"""`GET /users`, `GET /users/$count` and `GET /users/{id | userPrincipalName}`.

Lists page in id order from the skiptoken's last id (a bisection, no scan); a filtered list is
computed once per query and state version and kept for the following pages. `$expand=manager`
(see `managers`) adds each user's manager and caps a page at 100 users, whatever `$top` says; it
is refused in an advanced query (`$count=true` with `ConsistencyLevel: eventual`).
"""

from __future__ import annotations

import bisect
import urllib.parse
from typing import TYPE_CHECKING, Any

from emulators.graph import managers, query
from emulators.graph.errors import bad_request, not_found
from emulators.graph.filters import MAX_OR_CLAUSES, compile_filter
from emulators.graph.messages import GraphRequest, GraphResponse
from emulators.graph.query import PageToken, SkipTokens

if TYPE_CHECKING:
    from emulators.graph.directory import Tenant

_CACHE_SIZE = 32
_ADVANCED_HINT = (
    "Operator '{op}' is not supported because the required parameters might be missing. Try "
    "adding $count=true query parameter and ConsistencyLevel:eventual header. Refer to "
    "https://aka.ms/graph-docs/advanced-queries for more information"
)


def context_url(base_url: str, select: tuple[str, ...] | None, *, entity: bool = False) -> str:
    url = f"{base_url}/$metadata#users"
    if select:
        url += f"({','.join(select)})"
    return url + ("/$entity" if entity else "")


def is_advanced(request: GraphRequest) -> bool:
    """`ConsistencyLevel: eventual` and `$count=true` together (Graph's advanced queries)."""
    eventual = (request.header("consistencylevel") or "").lower() == "eventual"
    return eventual and request.params.get("$count", "").lower() == "true"


class UserReader:
    """The read side of `/users` for all tenants."""

    def __init__(self) -> None:
        self.tokens = SkipTokens()
        self._matches: dict[tuple[str, str, int], list[str]] = {}

    def forget(self) -> None:
        """Drop cached filter results (the state was replaced; versions start again)."""
        self._matches.clear()

    def list(self, tenant: Tenant, request: GraphRequest) -> GraphResponse:
        p = request.params
        for option in ("$skip", "$orderby", "$search"):
            if option in p:
                self._refuse_option(option, request)
        if "$skiptoken" in p:
            token = self.tokens.read(p["$skiptoken"], tenant.id)
            select, top, filter_text, after = token.select, token.top, token.filter, token.after_id
            expand_text = token.expand
        else:
            select = query.parse_select(p.get("$select"), collection=True)
            top = query.parse_top(p.get("$top")) or query.DEFAULT_PAGE_SIZE
            filter_text, after, expand_text = p.get("$filter"), None, p.get("$expand")
        expansion = managers.parse_expand(expand_text, collection=True)
        if expansion is not None:
            if is_advanced(request):
                raise bad_request(
                    managers.EXPAND_IN_ADVANCED_QUERY, code="Request_UnsupportedQuery"
                )
            top = min(top, managers.EXPAND_PAGE_SIZE)
        ids = self._matching_ids(tenant, filter_text, request)
        start = bisect.bisect_right(ids, after) if after is not None else 0
        page = ids[start : start + top]
        body: dict[str, Any] = {"@odata.context": context_url(request.base_url, select)}
        if after is None and is_advanced(request):
            body["@odata.count"] = len(ids)
        if start + top < len(ids):
            token = PageToken(tenant.id, page[-1], select, top, filter_text, expand_text)
            body["@odata.nextLink"] = self._next_link(request, self.tokens.make(token))
        project = query.projector(select)
        by_id = tenant.users.by_id
        if expansion is None:
            body["value"] = [project(by_id[uid]) for uid in page]
        else:
            body["value"] = [
                managers.with_manager(tenant, by_id[uid], project(by_id[uid]), expansion)
                for uid in page
            ]
        return GraphResponse(200, body)

    def count(self, tenant: Tenant, request: GraphRequest) -> GraphResponse:
        if (request.header("consistencylevel") or "").lower() != "eventual":
            raise bad_request("$count is not currently supported.")
        ids = self._matching_ids(tenant, request.params.get("$filter"), request, counting=True)
        return GraphResponse(200, text=str(len(ids)))

    def get(self, tenant: Tenant, key: str, request: GraphRequest) -> GraphResponse:
        select = query.parse_select(request.params.get("$select"), collection=False)
        expansion = managers.parse_expand(request.params.get("$expand"), collection=False)
        user = tenant.users.find(key)
        if user is None:
            raise not_found(key)
        body = {"@odata.context": context_url(request.base_url, select, entity=True)}
        body.update(query.projector(select)(user))
        if expansion is not None:
            managers.with_manager(tenant, user, body, expansion)
        return GraphResponse(200, body)

    def _refuse_option(self, option: str, request: GraphRequest) -> None:
        if option == "$skip":
            raise bad_request("'$skip' is not supported by the service.")
        if option == "$search" and (request.header("consistencylevel") or "").lower() != "eventual":
            raise bad_request(
                "Request with $search query parameter only works through MSGraph with a special "
                "request header: 'ConsistencyLevel: eventual'",
                code="Request_UnsupportedQuery",
            )
        raise bad_request(
            f"The query option '{option}' is not supported by this emulator.",
            code="Request_UnsupportedQuery",
        )

    def _matching_ids(
        self, tenant: Tenant, filter_text: str | None, request: GraphRequest, counting: bool = False
    ) -> list[str]:
        store = tenant.users
        if not filter_text:
            return store.ids
        condition = compile_filter(filter_text)
        eventual = (request.header("consistencylevel") or "").lower() == "eventual"
        if condition.advanced and not (is_advanced(request) or (counting and eventual)):
            raise bad_request(
                _ADVANCED_HINT.format(op=condition.advanced), code="Request_UnsupportedQuery"
            )
        if condition.or_clauses + 1 > MAX_OR_CLAUSES:
            raise bad_request(
                "Too many child clauses specified in search filter expression containing 'OR' "
                f"operators: {condition.or_clauses + 1}. Max allowed: {MAX_OR_CLAUSES}.",
                code="Request_UnsupportedQuery",
            )
        key = (tenant.id, filter_text, store.version)
        ids = self._matches.get(key)
        if ids is None:
            ids = self._evaluate(tenant, condition)
            if len(self._matches) >= _CACHE_SIZE:
                self._matches.pop(next(iter(self._matches)))
            self._matches[key] = ids
        return ids

    @staticmethod
    def _evaluate(tenant: Tenant, condition) -> list[str]:
        store = tenant.users
        test = condition.test
        if condition.lookup is None:
            return [uid for uid in store.ids if test(store.by_id[uid])]
        prop, values = condition.lookup
        index = {"id": None, "userPrincipalName": store.by_upn, "mail": store.by_mail}[prop]
        found = {v if index is None else index.get(v) for v in values}
        return sorted(u for u in found if u in store.by_id and test(store.by_id[u]))

    @staticmethod
    def _next_link(request: GraphRequest, skiptoken: str) -> str:
        kept = [(k, v) for k, v in request.params.items() if k != "$skiptoken"]
        kept.append(("$skiptoken", skiptoken))
        return f"{request.base_url}/users?" + urllib.parse.urlencode(kept, safe="$,'()")

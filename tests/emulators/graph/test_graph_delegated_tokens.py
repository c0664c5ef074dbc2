"""Tokens for a signed-in user, refresh tokens, and Graph's checks of delegated access.

Pins: the token answer carries what MSAL needs (an access token with `scp`, `oid`, `upn`, `tid`,
`appid`, `wids`; an ID token for the app with the discovery issuer; `client_info`; the scopes
echoed as asked; a refresh token only with `offline_access`); refresh tokens rotate (the old one
stays valid) and are refused with Entra's `invalid_grant` codes when revoked, unused too long,
another app's, not ours, their user disabled or deleted, or consent withdrawn; Graph lets any
signed-in member read but writes only for a User Administrator or Global Administrator holding
`User.ReadWrite.All`, checked at each call (inside `$batch` too); real MSAL 1.39 signs in by
device code over TLS, reuses its cached token, refreshes silently and reports a revocation.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable

import msal
import orjson
import pytest

from emulators.graph.tokens import GRAPH_APP_ID
from tests.emulators.graph.conftest import Entra, uid
from tests.emulators.graph.delegated_world import (
    GLOBAL_ADMIN,
    GRAPH_WRITE_SCOPE,
    NO_ROLE,
    TIME_SCALE,
    USER_ADMIN,
    DeviceFlow,
    aadsts_code,
    claims,
    wait_past,
)

USER_ADMIN_ROLE = "fe930be7-5e62-47db-91af-98c3a49a38b1"


@pytest.fixture
def flow(entra: Entra) -> DeviceFlow:
    return DeviceFlow.ready(entra)


def test_token_answer_describes_user_and_app(flow):
    answer = flow.signed_in(USER_ADMIN)
    entra = flow.entra
    assert answer["scope"] == f"{GRAPH_WRITE_SCOPE} openid profile email"
    assert answer["token_type"] == "Bearer"
    assert answer["expires_in"] == round(3599 / TIME_SCALE)
    access = claims(answer["access_token"])
    assert (access["aud"], access["tid"], access["appid"]) == (
        GRAPH_APP_ID,
        entra.tenant_id,
        uid("public-app"),
    )
    assert (access["oid"], access["upn"], access["unique_name"]) == (
        uid("Anne Berg"),
        USER_ADMIN,
        USER_ADMIN,
    )
    assert (access["idtyp"], access["appidacr"]) == ("user", "0")
    assert {"User.ReadWrite.All", "openid", "profile", "email"} <= set(access["scp"].split())
    assert USER_ADMIN_ROLE in access["wids"]
    identity = claims(answer["id_token"])
    assert identity["aud"] == uid("public-app")
    assert identity["iss"] == f"{entra.authority}/v2.0"
    assert (identity["tid"], identity["oid"]) == (entra.tenant_id, uid("Anne Berg"))
    assert (identity["preferred_username"], identity["name"]) == (USER_ADMIN, "Anne Berg")
    assert identity["exp"] > identity["iat"]
    assert identity["sub"] != access["sub"]  # pairwise per audience
    info = orjson.loads(base64.urlsafe_b64decode(answer["client_info"] + "=="))
    assert info == {"uid": uid("Anne Berg"), "utid": entra.tenant_id}


def test_only_what_was_asked_for_comes_back(flow):
    code = flow.code(scope="user.readwrite.all")
    flow.decide(code["user_code"], USER_ADMIN)
    answer = flow.poll(code["device_code"]).json()
    assert answer["scope"] == "user.readwrite.all"
    assert {"refresh_token", "id_token", "client_info"}.isdisjoint(answer)


def test_refresh_rotates_and_the_old_token_stays_valid(flow):
    first = flow.signed_in()
    second = flow.refresh(first["refresh_token"]).json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert claims(second["access_token"])["oid"] == uid("Anne Berg")
    assert {"id_token", "client_info"} <= second.keys()
    assert flow.refresh(first["refresh_token"]).status_code == 200


def _revoke(flow: DeviceFlow) -> None:
    path = f"/tenants/{flow.entra.tenant_id}/users/{USER_ADMIN}/revoke-sign-in-sessions"
    flow.entra.admin.call("POST", path)


def _patch_user(changes: dict) -> Callable[[DeviceFlow], None]:
    def apply(flow: DeviceFlow) -> None:
        path = f"/tenants/{flow.entra.tenant_id}/users/{USER_ADMIN}"
        flow.entra.admin.call("PATCH", path, changes)

    return apply


def _delete_user(flow: DeviceFlow) -> None:
    flow.entra.admin.call("DELETE", f"/tenants/{flow.entra.tenant_id}/users/{USER_ADMIN}")


def _withdraw(flags: dict) -> Callable[[DeviceFlow], None]:
    def apply(flow: DeviceFlow) -> None:
        state = flow.entra.admin.state()
        for app in state["tenants"][0]["applications"]:
            if app["appId"] == uid("public-app"):
                app.update(flags)
        flow.entra.admin.load_state(state)

    return apply


def _idle(flow: DeviceFlow) -> None:
    flow.entra.admin.update_settings({"refresh_token_lifetime_seconds": 1})
    wait_past(1 / TIME_SCALE)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param(_revoke, (400, "invalid_grant", 50173), id="revoked"),
        pytest.param(_idle, (400, "invalid_grant", 700082), id="unused-too-long"),
        pytest.param(
            _patch_user({"accountEnabled": False}), (400, "invalid_grant", 50057), id="disabled"
        ),
        pytest.param(_delete_user, (400, "invalid_grant", 50034), id="user-deleted"),
        pytest.param(
            _withdraw({"delegatedPermissions": []}),
            (400, "invalid_grant", 65001),
            id="consent-withdrawn",
        ),
        pytest.param(
            _withdraw({"isFallbackPublicClient": False}),
            (401, "invalid_client", 7000218),
            id="public-flows-off",
        ),
    ],
)
def test_refresh_refusals(flow, change, expected):
    refresh_token = flow.signed_in()["refresh_token"]
    change(flow)
    response = flow.refresh(refresh_token)
    assert aadsts_code(response) == expected
    if expected[2] == 65001:
        assert response.json()["suberror"] == "consent_required"


@pytest.mark.parametrize(
    ("token", "app", "expected"),
    [
        pytest.param("1.Anot-sealed-by-us", "public-app", 9002313, id="not-ours"),
        pytest.param(None, "unconsented-app", 70000, id="another-apps"),
    ],
)
def test_refresh_token_must_be_ours_and_this_apps(flow, token, app, expected):
    refresh_token = token or flow.signed_in()["refresh_token"]
    assert aadsts_code(flow.refresh(refresh_token, app=app)) == (400, "invalid_grant", expected)


@pytest.mark.parametrize(
    ("user", "method", "status"),
    [
        pytest.param(NO_ROLE, "GET", 200, id="member-reads"),
        pytest.param(NO_ROLE, "PATCH", 403, id="member-may-not-write"),
        pytest.param(USER_ADMIN, "PATCH", 204, id="user-administrator-writes"),
        pytest.param(GLOBAL_ADMIN, "PATCH", 204, id="global-administrator-writes"),
        pytest.param(NO_ROLE, "DELETE", 403, id="member-may-not-delete"),
    ],
)
def test_graph_checks_scope_and_role(flow, user, method, status):
    token = flow.signed_in(user)["access_token"]
    target = f"/users/{uid('Erik Gran')}"
    body = {"jobTitle": "Skipper"} if method == "PATCH" else None
    with flow.graph(token) as graph:
        assert graph.request(method, target, json=body).status_code == status


def test_losing_the_role_stops_writes_at_once_but_not_reads(flow, graph_error):
    token = flow.signed_in(USER_ADMIN)["access_token"]
    target = f"/users/{uid('Erik Gran')}"
    with flow.graph(token) as graph:
        assert graph.patch(target, json={"jobTitle": "Mate"}).status_code == 204
        _patch_user({"directoryRoles": []})(flow)
        graph_error(
            graph.patch(target, json={"jobTitle": "Captain"}),
            403,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        )
        item = {"id": "1", "method": "PATCH", "url": target, "body": {"jobTitle": "Captain"}}
        item["headers"] = {"Content-Type": "application/json"}
        batch = {"requests": [item]}
        answer = graph.post("/$batch", json=batch).json()["responses"][0]
        assert answer["status"] == 403
        assert graph.get(target).status_code == 200


def test_read_only_consent_cannot_write_even_for_an_administrator(flow):
    _withdraw({"delegatedPermissions": ["User.Read.All"]})(flow)
    code = flow.code(scope="https://graph.microsoft.com/User.Read.All openid offline_access")
    flow.decide(code["user_code"], GLOBAL_ADMIN)
    token = flow.poll(code["device_code"]).json()["access_token"]
    with flow.graph(token) as graph:
        assert graph.get("/users?$top=1").status_code == 200
        assert graph.patch(f"/users/{uid('Erik Gran')}", json={}).status_code == 403


def test_app_only_hire_date_rule_spares_delegated_writes(flow):
    flow.entra.admin.update_settings({"deny_app_only_hire_date_writes": True})
    token = flow.signed_in(USER_ADMIN)["access_token"]
    body = {"employeeHireDate": "2020-02-01T00:00:00Z"}
    with flow.graph(token) as graph:
        assert graph.patch(f"/users/{uid('Erik Gran')}", json=body).status_code == 204


def _token_grants(entra: Entra) -> list[str]:
    entries = entra.admin.requests(path_prefix=f"/{entra.tenant_id}/oauth2/v2.0/token")
    return [e["oauth"]["grant_type"] for e in entries]


def _as_msal_sees_it_later(app: msal.ClientApplication, seconds: int) -> None:
    """Leave MSAL's cache as it would stand `seconds` later.

    MSAL judges a cached access token by the wall clock, which a test cannot move: the tokens'
    expiry moves that much closer instead, through the cache's own `modify`.
    """
    cache = app.token_cache
    kind = msal.TokenCache.CredentialType.ACCESS_TOKEN
    for item in list(cache.search(kind)):
        cache.modify(kind, item, {"expires_on": str(int(item["expires_on"]) - seconds)})


def test_real_msal_signs_in_reuses_refreshes_and_sees_revocation(flow, monkeypatch):
    entra = flow.entra
    # MSAL's default session is requests, which prefers REQUESTS_CA_BUNDLE over `verify=`.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(entra.ca_bundle))
    # An hour of life: MSAL reuses the token however slowly the machine gets to the next call.
    entra.admin.update_settings({"token_lifetime_seconds": 3600 * TIME_SCALE})
    app = msal.PublicClientApplication(
        uid("public-app"), authority=entra.authority, instance_discovery=False
    )
    device = app.initiate_device_flow(scopes=[GRAPH_WRITE_SCOPE])
    approvals: list[dict] = []

    def approve_while_pending(polled: dict) -> bool:
        # MSAL calls this between polls, after the first one was answered "pending": the user
        # approves then, whatever the machine's speed; MSAL's own expiry test follows.
        if not approvals:
            approvals.append(flow.decide(device["user_code"], USER_ADMIN))
        return polled.get("expires_at", 0) < time.time()

    signed_in = app.acquire_token_by_device_flow(device, exit_condition=approve_while_pending)
    assert "access_token" in signed_in, signed_in
    [account] = app.get_accounts()
    assert account["username"] == USER_ADMIN
    cached = app.acquire_token_silent([GRAPH_WRITE_SCOPE], account=account)
    assert cached["access_token"] == signed_in["access_token"]
    assert _token_grants(entra) == ["urn:ietf:params:oauth:grant-type:device_code"] * 2

    # MSAL counts a token with under 300 s left as expired: from now on tokens are born
    # "expired" for MSAL, so every silent call refreshes; and the first one's hour is over.
    entra.admin.update_settings({"token_lifetime_seconds": 100 * TIME_SCALE})
    entra.admin.clear_requests()
    _as_msal_sees_it_later(app, 3600)
    refreshed = app.acquire_token_silent([GRAPH_WRITE_SCOPE], account=account)
    assert refreshed["access_token"] != signed_in["access_token"]
    assert _token_grants(entra) == ["refresh_token"]

    _revoke(flow)
    refused = app.acquire_token_silent_with_error([GRAPH_WRITE_SCOPE], account=account)
    assert (refused["error"], refused["error_codes"]) == ("invalid_grant", [50173])

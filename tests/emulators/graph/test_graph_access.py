"""Graph checks the bearer token and the app's permissions as the real service does.

Pins: 401 `InvalidAuthenticationToken` with Graph's messages and a `WWW-Authenticate` header
for missing, malformed, foreign and expired tokens; 403 `Authorization_RequestDenied` when the
app lacks the permission (reads with `User.Read.All`, writes need `User.ReadWrite.All`,
`/domains` needs a domain or directory permission); tokens from MSAL work on Graph.
"""

from __future__ import annotations

import msal
import pytest

DENIED = "Insufficient privileges to complete the operation."


def _get(entra, token, path="/users"):
    headers = {"Authorization": f"Bearer {token}".strip()} if token is not None else {}
    with entra.client() as client:
        return client.get(f"{entra.url}/v1.0{path}", headers=headers)


@pytest.mark.parametrize(
    ("token", "message"),
    [
        pytest.param(None, "Access token is empty.", id="missing"),
        pytest.param("", "Access token is empty.", id="scheme-only"),
        pytest.param("abc.def.ghi", "Access token validation failure.", id="garbage"),
    ],
)
def test_unauthenticated(entra, graph_error, token, message):
    response = _get(entra, token)
    graph_error(response, 401, "InvalidAuthenticationToken", message)
    assert response.headers["WWW-Authenticate"].startswith('Bearer realm=""')


def test_expired_token(entra, graph_error):
    token = entra.token(lifetimeSeconds=-10)
    graph_error(
        _get(entra, token),
        401,
        "InvalidAuthenticationToken",
        "Access token has expired or is not yet valid.",
    )


def test_a_token_expires_when_the_clock_is_moved_past_its_lifetime(entra, graph_error):
    token = entra.token(lifetimeSeconds=3600)
    assert _get(entra, token).status_code == 200
    entra.admin.update_settings({"time_frozen": True})

    entra.admin.advance_clock(3600)

    graph_error(
        _get(entra, token),
        401,
        "InvalidAuthenticationToken",
        "Access token has expired or is not yet valid.",
    )


def test_forged_signature(entra, graph_error):
    header, payload, _ = entra.token().split(".")
    graph_error(
        _get(entra, f"{header}.{payload}.AAAA"),
        401,
        "InvalidAuthenticationToken",
        "Access token validation failure.",
    )


@pytest.mark.parametrize(
    ("app", "method", "path", "allowed"),
    [
        pytest.param("reader-app", "GET", "/users", True, id="reader-lists"),
        pytest.param(
            "reader-app", "PATCH", "/users/anne.berg@fjordline.no", False, id="reader-patch"
        ),
        pytest.param("reader-app", "POST", "/users", False, id="reader-create"),
        pytest.param("bare-app", "GET", "/users", False, id="bare-lists"),
        pytest.param("huma-app", "GET", "/domains", False, id="domains-need-domain-read"),
        pytest.param("admin-app", "GET", "/domains", True, id="domains-with-domain-read"),
    ],
)
def test_permissions(entra, graph_error, app, method, path, allowed):
    with entra.graph(app=app) as client:
        response = client.request(method, path, json={"jobTitle": "x"} if method != "GET" else None)
    if allowed:
        assert response.status_code == 200, response.text
    else:
        graph_error(response, 403, "Authorization_RequestDenied", DENIED)


def test_domains(entra):
    with entra.graph(app="admin-app") as client:
        domains = client.get("/domains").json()["value"]
        one = client.get("/domains/fjordline.no").json()
    assert {d["id"]: d["isVerified"] for d in domains} == {
        "fjordline.no": True,
        "fjordline.onmicrosoft.com": True,
        "fjordline.com": False,
    }
    assert one["isDefault"] is True
    assert one["authenticationType"] == "Managed"


def test_msal_token_works_on_graph(entra, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(entra.ca_bundle))
    app = msal.ConfidentialClientApplication(
        entra.app_id,
        client_credential="live-secret",
        authority=entra.authority,
        instance_discovery=False,
    )
    token = app.acquire_token_for_client(scopes=[entra.scope])["access_token"]
    response = _get(entra, token, "/users/ingrid.haugen@fjordline.no")
    assert response.status_code == 200
    assert response.json()["displayName"] == "Ingrid Haugen"


def test_token_of_a_replaced_tenant_is_refused(entra, graph_error):
    token = entra.token(app="other-app", tenant="other")
    state = entra.admin.state()
    state["tenants"] = state["tenants"][:1]
    entra.admin.load_state(state)
    graph_error(
        _get(entra, token), 401, "InvalidAuthenticationToken", "Access token validation failure."
    )


def test_the_state_without_users_is_the_whole_state_with_every_tenant_empty(entra):
    whole = entra.admin.state()

    light = entra.admin.state(users=False)

    assert any(tenant["users"] for tenant in whole["tenants"])
    assert light == {
        **whole,
        "tenants": [{**tenant, "users": []} for tenant in whole["tenants"]],
    }

"""The emulated Entra authority runs the OAuth 2.0 device authorization grant as Entra does.

Pins: discovery names the device authorization endpoint; `/devicecode` answers with Entra's
fields and wording; a poll is `authorization_pending` (AADSTS70016) until a person decides, then
`authorization_declined` (AADSTS65004) or the tokens, `expired_token` (AADSTS70020) after expiry,
`bad_verification_code` (AADSTS70018) for an unknown or already redeemed code; the app must allow
public client flows (else 401 AADSTS7000218 at redemption; a public client sending a secret is
AADSTS700025, a confidential client may redeem with its secret); the sign-in page (control route)
refuses unknown, expired and used codes, disabled users, and consent only an administrator can
give, which a Global Administrator gives for the organisation; the request log keeps no code.
"""

from __future__ import annotations

import re

import pytest

from tests.emulators.graph.conftest import Entra, uid
from tests.emulators.graph.delegated_world import (
    DISABLED,
    GLOBAL_ADMIN,
    MSAL_SCOPE,
    NO_ROLE,
    TIME_SCALE,
    USER_ADMIN,
    DeviceFlow,
    aadsts_code,
    claims,
    wait_past,
)


@pytest.fixture
def flow(entra: Entra) -> DeviceFlow:
    return DeviceFlow.ready(entra)


def test_discovery_names_the_device_authorization_endpoint(flow):
    entra = flow.entra
    with entra.client() as http:
        config = http.get(f"{entra.authority}/v2.0/.well-known/openid-configuration").json()
    assert config["device_authorization_endpoint"] == f"{entra.authority}/oauth2/v2.0/devicecode"


def test_devicecode_answers_like_entra(flow):
    code = flow.code()
    uri = f"{flow.entra.url}/devicelogin"
    assert re.fullmatch(r"[A-Z0-9]{9}", code["user_code"])
    assert len(code["device_code"]) > 100
    assert code["verification_uri"] == uri
    assert code["expires_in"] == round(900 / TIME_SCALE)
    assert code["interval"] == 1
    assert code["message"] == (
        f"To sign in, use a web browser to open the page {uri} and enter the code "
        f"{code['user_code']} to authenticate."
    )


@pytest.mark.parametrize(
    ("app", "scope", "expected"),
    [
        pytest.param("nobody", MSAL_SCOPE, (400, "unauthorized_client", 700016), id="unknown-app"),
        pytest.param(
            "public-app",
            "https://vault.azure.net/user_impersonation openid",
            (400, "invalid_resource", 500011),
            id="another-resource",
        ),
        pytest.param(
            "public-app", "User.Fly.All openid", (400, "invalid_client", 650053), id="no-such-scope"
        ),
    ],
)
def test_devicecode_refusals(flow, app, scope, expected):
    assert aadsts_code(flow.start(app, scope)) == expected


def test_poll_is_pending_until_someone_decides(flow):
    code = flow.code()
    for _ in range(2):
        assert aadsts_code(flow.poll(code["device_code"])) == (
            400,
            "authorization_pending",
            70016,
        )


def test_declined_code_says_so(flow):
    code = flow.code()
    flow.decide(code["user_code"], None, "decline")
    assert aadsts_code(flow.poll(code["device_code"])) == (400, "authorization_declined", 65004)


def test_expired_code_says_so(flow):
    flow.entra.admin.update_settings({"device_code_lifetime_seconds": 2})
    code = flow.code()
    wait_past(2 / TIME_SCALE)
    assert aadsts_code(flow.poll(code["device_code"])) == (400, "expired_token", 70020)
    with pytest.raises(RuntimeError, match="410"):
        flow.decide(code["user_code"], USER_ADMIN)


def test_approved_code_is_redeemed_once(flow):
    code = flow.code()
    flow.decide(code["user_code"], USER_ADMIN)
    first = flow.poll(code["device_code"])
    assert first.status_code == 200, first.text
    assert aadsts_code(flow.poll(code["device_code"])) == (400, "bad_verification_code", 70018)


def test_unknown_device_code(flow):
    assert aadsts_code(flow.poll("DAQABIQEAAABnot-a-code")) == (400, "bad_verification_code", 70018)


def test_app_without_public_client_flows_is_refused_at_redemption(flow):
    code = flow.code(app="huma-app")
    assert aadsts_code(flow.poll(code["device_code"], app="huma-app"))[1] == "authorization_pending"
    flow.decide(code["user_code"], GLOBAL_ADMIN)
    assert aadsts_code(flow.poll(code["device_code"], app="huma-app")) == (
        401,
        "invalid_client",
        7000218,
    )


def test_confidential_client_may_redeem_with_its_secret(flow):
    code = flow.code(app="huma-app")
    flow.decide(code["user_code"], GLOBAL_ADMIN)
    response = flow.poll(code["device_code"], app="huma-app", client_secret="live-secret")
    assert response.status_code == 200, response.text
    assert claims(response.json()["access_token"])["appidacr"] == "1"


def test_public_client_must_not_send_a_secret(flow):
    code = flow.code()
    flow.decide(code["user_code"], USER_ADMIN)
    response = flow.poll(code["device_code"], client_secret="anything")
    assert aadsts_code(response) == (401, "invalid_client", 700025)


@pytest.mark.parametrize(
    ("user", "status"),
    [
        pytest.param("nobody@fjordline.no", "404", id="unknown-user"),
        pytest.param(DISABLED, "403", id="disabled-user"),
    ],
)
def test_sign_in_page_refuses_users_who_cannot_sign_in(flow, user, status):
    code = flow.code()
    with pytest.raises(RuntimeError, match=status):
        flow.decide(code["user_code"], user)
    assert aadsts_code(flow.poll(code["device_code"]))[1] == "authorization_pending"


def test_sign_in_page_refuses_unknown_and_used_codes(flow):
    with pytest.raises(RuntimeError, match="404"):
        flow.decide("ABCDEFGHJ", USER_ADMIN)
    code = flow.code()
    flow.decide(code["user_code"].lower(), USER_ADMIN)  # typed in lower case
    with pytest.raises(RuntimeError, match="409"):
        flow.decide(code["user_code"], USER_ADMIN)


def test_consent_takes_an_administrator_who_may_grant_it(flow):
    code = flow.code(app="unconsented-app")
    with pytest.raises(RuntimeError, match="AADSTS90094"):
        flow.decide(code["user_code"], USER_ADMIN)
    assert aadsts_code(flow.poll(code["device_code"], app="unconsented-app"))[2] == 70016
    flow.decide(code["user_code"], GLOBAL_ADMIN)
    response = flow.poll(code["device_code"], app="unconsented-app")
    assert response.status_code == 200, response.text
    assert "User.ReadWrite.All" in claims(response.json()["access_token"])["scp"].split()
    apps = flow.entra.admin.state()["tenants"][0]["applications"]
    consented = next(a for a in apps if a["appId"] == uid("unconsented-app"))
    assert consented["delegatedPermissions"] == ["User.ReadWrite.All"]


def test_pending_codes_are_listed_for_the_sign_in_page(flow):
    code = flow.code()
    listed = flow.entra.admin.call("GET", f"/tenants/{flow.entra.tenant_id}/device-codes")
    assert [(c["userCode"], c["clientId"], c["status"]) for c in listed["value"]] == [
        (code["user_code"], uid("public-app"), "pending")
    ]
    flow.decide(code["user_code"], NO_ROLE)
    assert flow.entra.admin.call("GET", f"/tenants/{flow.entra.tenant_id}/device-codes") == {
        "value": []
    }


def test_log_keeps_the_grant_but_never_a_code_or_token(flow):
    code = flow.code()
    flow.decide(code["user_code"], USER_ADMIN)
    answer = flow.poll(code["device_code"]).json()
    flow.refresh(answer["refresh_token"])
    entries = flow.entra.admin.requests(path_prefix=f"/{flow.entra.tenant_id}/oauth2")
    grants = [e["oauth"].get("grant_type") for e in entries]
    assert grants == [None, "urn:ietf:params:oauth:grant-type:device_code", "refresh_token"]
    text = repr(entries)
    for secret in (code["device_code"], answer["refresh_token"], answer["access_token"]):
        assert secret not in text

"""The Graph client against the Entra/Graph emulator over TLS, with real MSAL.

Pins: a snapshot holds every user (members, guests, disabled) with every mapped field exactly
as the emulator holds it, also under 429s, 5xx and dropped connections; verified domains come
from `/domains` when the app may read them and from the members' UPNs when it may not; MSAL
trusts `SSL_CERT_FILE` (not `REQUESTS_CA_BUNDLE`); refused credentials and a missing consent say
what an administrator must do.
"""

from __future__ import annotations

from typing import Any

import pytest

from resources.errors import AuthenticationError
from tests.resources.conftest import Outside, graph_credentials
from tests.resources.graph_oracle import expected_entra_rows


def _by_id(frame) -> dict[str, dict[str, Any]]:
    return {row["entra_id"]: row for row in frame.to_dicts()}


def test_a_snapshot_holds_every_user_exactly(outside: Outside, graph_resource) -> None:
    snapshot = graph_resource(**graph_credentials(outside)).snapshot()

    assert _by_id(snapshot.users) == expected_entra_rows(outside.tenant)
    assert snapshot.raw.height == len(outside.tenant["users"])
    types = set(snapshot.users["user_type"])
    assert types == {"Member", "Guest"}
    assert not snapshot.users["account_enabled"].all()


def test_a_faulty_snapshot_equals_the_clean_one(outside: Outside, graph_resource) -> None:
    outside.entra_settings(
        throttle_rate=0.2, throttle_retry_after=1, error_rate=0.05, drop_rate=0.05, seed=3
    )
    # Small pages: many requests, so the faults really hit the listing.
    client = graph_resource(**graph_credentials(outside)).client()
    users = [u for page in client.user_pages(page_size=20) for u in page.exact()]
    outside.entra_settings(throttle_rate=0, error_rate=0, drop_rate=0)
    clean = graph_resource(**graph_credentials(outside)).snapshot()

    from resources.graph_snapshot import entra_users_frame

    assert _by_id(entra_users_frame(users)) == _by_id(clean.users)
    faults = {e["fault"] for e in outside.entra.requests(path_prefix="/v1.0/users")}
    assert {"throttle", "error"} <= faults


def test_verified_domains_come_from_the_users_without_domain_read(outside, graph_resource):
    resource = graph_resource(**graph_credentials(outside))

    domains = resource.verified_domains(users=resource.snapshot().users)

    company = next(d["id"] for d in outside.tenant["domains"] if d.get("isDefault"))
    assert company in domains
    assert all("#ext#" not in d and d != "gmail.com" for d in domains)


def test_verified_domains_come_from_graph_when_the_app_may_read_them(outside, graph_resource):
    state = outside.entra.state()
    app = state["tenants"][0]["applications"][0]
    app["grantedPermissions"].append("Domain.Read.All")
    # A new secret: a token cached for the old one would still carry the old permissions.
    app["secrets"].append(dict(app["secrets"][0], keyId="new", secretText="new-secret-value"))
    outside.entra.load_state(state)
    resource = graph_resource(**graph_credentials(outside, client_secret="new-secret-value"))

    domains = resource.verified_domains(users=resource.snapshot().users.clear())

    assert domains == sorted(d["id"] for d in outside.tenant["domains"] if d["isVerified"])


def test_msal_trusts_ssl_cert_file_not_requests_ca_bundle(outside, graph_resource, monkeypatch):
    # The machine-wide bundle requests prefers does not hold the emulators' CA.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/nonexistent/ca-bundle.pem")
    monkeypatch.setenv("CURL_CA_BUNDLE", "/nonexistent/ca-bundle.pem")
    resource = graph_resource(**graph_credentials(outside, tenant_id=outside.tenant["id"].upper()))

    assert resource.snapshot().users.height == len(outside.tenant["users"])


@pytest.mark.parametrize(
    ("change", "message", "action"),
    [
        pytest.param(
            {"client_secret": "not-the-secret"},
            "AADSTS7000215",
            "ENTRA_CLIENT_SECRET",
            id="wrong-secret",
        ),
        pytest.param(
            {"tenant_id": "00000000-0000-4000-8000-00000000dead"},
            "",
            "ENTRA_TENANT_ID",
            id="unknown-tenant",
        ),
        pytest.param(
            {"client_id": "00000000-0000-4000-8000-00000000beef"},
            "AADSTS700016",
            "ENTRA_CLIENT_ID",
            id="unknown-app",
        ),
    ],
)
def test_refused_credentials_say_what_to_do(outside, graph_resource, change, message, action):
    resource = graph_resource(**graph_credentials(outside, **change))

    with pytest.raises(AuthenticationError) as refused:
        resource.snapshot()

    assert message in str(refused.value)
    assert action in str(refused.value)
    assert graph_credentials(outside)["client_secret"] not in str(refused.value)


def test_an_expired_secret_says_to_create_a_new_one(outside, graph_resource) -> None:
    state = outside.entra.state()
    app = state["tenants"][0]["applications"][0]
    app["secrets"].append(
        dict(
            app["secrets"][0],
            keyId="old",
            secretText="expired-secret",
            endDateTime="2020-01-01T00:00:00Z",
        )
    )
    outside.entra.load_state(state)

    with pytest.raises(AuthenticationError, match="AADSTS7000222") as refused:
        graph_resource(**graph_credentials(outside, client_secret="expired-secret")).snapshot()

    assert "create a new client secret" in str(refused.value)


def test_a_missing_consent_says_to_grant_it(outside, graph_resource) -> None:
    state = outside.entra.state()
    app = state["tenants"][0]["applications"][0]
    app["grantedPermissions"] = []
    app["secrets"].append(dict(app["secrets"][0], keyId="new", secretText="unconsented-secret"))
    outside.entra.load_state(state)

    with pytest.raises(AuthenticationError) as refused:
        graph_resource(**graph_credentials(outside, client_secret="unconsented-secret")).snapshot()

    assert refused.value.status == 403
    assert "User.ReadWrite.All" in str(refused.value)
    assert "admin consent" in str(refused.value)

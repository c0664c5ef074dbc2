"""Huma's OAuth2 client-credentials flow as the emulator serves it.

Pins: a token comes from `POST /auth/oauth/token` with the key as a form, as JSON or in a Basic
header, shaped exactly as the spec's `Credentials`; malformed requests are 400
`field:invalid-format` naming the field; a wrong, unknown or deactivated key is 401; API calls
without a valid bearer token are 401 `invalid_token`; tokens expire after the configured
emulated lifetime and `expires_in` tells it in real seconds; revoked tokens and tokens of a key
deactivated later stop working at once. Every answer is checked against the published spec.
"""

from __future__ import annotations

import base64
import time
from typing import Any

import httpx
import pytest

TOKEN = "/auth/oauth/token"


def _basic(client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


@pytest.mark.parametrize(
    "how",
    [
        pytest.param("form", id="form"),
        pytest.param("json", id="json"),
        pytest.param("basic", id="basic-header"),
    ],
)
def test_a_valid_key_gets_a_token_that_opens_the_api(huma, spec, uid_of, how: str) -> None:
    key, secret = uid_of("key"), uid_of("secret")
    grant = {"grant_type": "client_credentials", "client_id": key, "client_secret": secret}
    with huma.client() as client:
        if how == "form":
            response = client.post(TOKEN, data=grant)
        elif how == "json":
            response = client.post(TOKEN, json=grant)
        else:
            response = client.post(
                TOKEN, data={"grant_type": "client_credentials"}, headers=_basic(key, secret)
            )
        credentials = spec.check(response)
        listed = client.get(
            "/users", headers={"Authorization": f"Bearer {credentials['access_token']}"}
        )

    assert response.status_code == 200
    assert credentials["token_type"] == "Bearer"
    assert credentials["expires_in"] == 3599
    assert credentials["organizationId"] == uid_of("org")
    assert listed.status_code == 200


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        pytest.param({"grant_type": "password"}, ["grant_type"], id="other-grant-type"),
        pytest.param({"grant_type": None}, ["grant_type"], id="no-grant-type"),
        pytest.param({"client_id": "my-app"}, ["client_id"], id="client-id-not-uuid"),
        pytest.param({"client_secret": "hunter2"}, ["client_secret"], id="secret-not-uuid"),
        pytest.param({"client_secret": None}, ["client_secret"], id="no-secret"),
    ],
)
def test_a_malformed_token_request_is_a_400_naming_the_field(
    huma, spec, uid_of, body: dict[str, Any], fields: list[str]
) -> None:
    grant = {"grant_type": "client_credentials", "client_id": uid_of("key")}
    grant["client_secret"] = uid_of("secret")
    # None removes the property from the request.
    grant = {k: v for k, v in (grant | body).items() if v is not None}
    with huma.client() as client:
        response = client.post(TOKEN, json=grant)

    assert response.status_code == 400
    assert spec.check(response) == {
        "errorCode": "field:invalid-format",
        "errorMessage": "Invalid field Format",
        "fields": fields,
    }


@pytest.mark.parametrize(
    ("client_id", "secret"),
    [
        pytest.param("key", "old-secret", id="wrong-secret"),
        pytest.param("unknown-key", "secret", id="unknown-key"),
        pytest.param("old-key", "old-secret", id="deactivated-key"),
    ],
)
def test_a_bad_key_is_refused_with_401(huma, spec, uid_of, client_id: str, secret: str) -> None:
    grant = {"grant_type": "client_credentials"}
    grant |= {"client_id": uid_of(client_id), "client_secret": uid_of(secret)}
    with huma.client() as client:
        response = client.post(TOKEN, data=grant)

    assert response.status_code == 401
    assert spec.check(response)["error"] == "invalid_client"


@pytest.mark.parametrize(
    ("authorization", "description"),
    [
        pytest.param(None, "Full authentication is required", id="no-header"),
        pytest.param("Bearer not-a-token", "Invalid access token", id="unknown-token"),
        pytest.param("Basic Zm9vOmJhcg==", "Full authentication is required", id="not-bearer"),
    ],
)
@pytest.mark.parametrize("path", ["/users", "/users/{anna}", "/users/{anna}/positions"])
def test_an_api_call_without_a_valid_token_is_401(
    huma, spec, uid_of, authorization: str | None, description: str, path: str
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    with huma.client(headers=headers) as client:
        response = client.get(path.format(anna=uid_of("Anna Berg")))

    assert response.status_code == 401
    body = spec.check(response)
    assert body["error"] == "invalid_token"
    assert body["error_description"].startswith(description)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_token_expires_after_its_emulated_lifetime(huma, spec, uid_of) -> None:
    huma.admin.update_settings({"time_scale": 1000})
    grant = {"grant_type": "client_credentials"}
    grant |= {"client_id": uid_of("key"), "client_secret": uid_of("secret")}
    with huma.client() as client:
        credentials = spec.check(client.post(TOKEN, data=grant))
    headers = {"Authorization": f"Bearer {credentials['access_token']}"}
    with huma.client(headers=headers) as client:
        fresh = client.get("/users")
        huma.admin.update_settings({"time_scale": 1_000_000})
        time.sleep(0.05)
        stale = client.get("/users")

    assert credentials["expires_in"] == 3  # 3599 emulated seconds are 3.6 real ones
    assert fresh.status_code == 200
    assert stale.status_code == 401
    assert spec.check(stale)["error_description"] == "Access token expired"


def test_a_revoked_token_stops_working(huma, spec, api: httpx.Client) -> None:
    revoked = api.post("/auth/oauth/revoke")
    after = api.get("/users")

    assert revoked.status_code == 200
    spec.check(revoked)
    assert after.status_code == 401
    assert spec.check(after)["error"] == "invalid_token"


def test_deactivating_the_key_stops_its_tokens_at_once(huma, spec, uid_of, api) -> None:
    before = api.get("/users")
    huma.admin.call("PATCH", f"/api-keys/{uid_of('key')}", {"active": False})
    after = api.get("/users")

    assert before.status_code == 200
    assert after.status_code == 401
    spec.check(after)


def test_an_unknown_path_is_401_without_a_token_and_spring_404_with_one(huma, api) -> None:
    with huma.client() as anonymous:
        unauthenticated = anonymous.get("/no-such-thing")
    missing = api.get("/no-such-thing")

    assert unauthenticated.status_code == 401
    assert unauthenticated.json()["error"] == "invalid_token"
    assert missing.status_code == 404
    assert missing.json() == missing.json() | {"status": 404, "error": "Not Found"}
    assert missing.json()["path"] == "/no-such-thing"
    assert set(missing.json()) == {"timestamp", "status", "error", "message", "path"}

"""The emulated Entra authority serves real MSAL over TLS as login.microsoftonline.com would.

Pins: discovery by tenant id or domain (https endpoints on the request's host); client
credentials with a secret and with a certificate (SHA-1 `x5t`/RS256 and SHA-256 `x5t#S256`/PS256
assertions); AADSTS error bodies with the real codes, statuses and trailing Trace/Correlation/
Timestamp lines for wrong and expired secrets, unknown tenants and apps, bad scopes, bad
assertions and unsupported grants; the access token's claims.
"""

from __future__ import annotations

import re
import time
import uuid

import msal
import orjson
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from emulators.graph import jose

_TRAILER = re.compile(
    r"\r\nTrace ID: [0-9a-f-]{36}\r\nCorrelation ID: [0-9a-f-]{36}\r\n"
    r"Timestamp: \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$"
)


@pytest.fixture
def msal_env(entra, monkeypatch):
    # MSAL uses requests, which prefers REQUESTS_CA_BUNDLE (set on this machine) over `verify=`.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(entra.ca_bundle))
    return entra


def _app(entra, credential, *, tenant=None, client=None):
    return msal.ConfidentialClientApplication(
        client or entra.app_id,
        client_credential=credential,
        authority=f"{entra.url}/{tenant or entra.tenant_id}",
        instance_discovery=False,
    )


def _claims(token: str) -> dict:
    _, payload, _, _ = jose.parse(token)
    return payload


def _check_aadsts(body: dict, error: str, code: int) -> None:
    assert body["error"] == error
    assert body["error_codes"] == [code]
    assert body["error_description"].startswith(f"AADSTS{code}: ")
    assert _TRAILER.search(body["error_description"]), body["error_description"]
    assert body["error_uri"].endswith(f"/error?code={code}")
    assert {"timestamp", "trace_id", "correlation_id"} <= body.keys()


def test_msal_gets_a_token_with_a_secret(msal_env):
    entra = msal_env
    result = _app(entra, "live-secret").acquire_token_for_client(scopes=[entra.scope])
    assert result["token_type"] == "Bearer"
    assert 0 < result["expires_in"] <= 3599
    claims = _claims(result["access_token"])
    assert claims["tid"] == entra.tenant_id
    assert claims["appid"] == entra.app_id
    assert claims["roles"] == ["User.ReadWrite.All"]
    assert claims["aud"] == "https://graph.microsoft.com"
    assert claims["exp"] > time.time() + 3000


def test_msal_tenant_may_be_a_domain_name(msal_env):
    entra = msal_env
    app = _app(entra, "live-secret", tenant="fjordline.no")
    result = app.acquire_token_for_client(scopes=[entra.scope])
    assert _claims(result["access_token"])["tid"] == entra.tenant_id


@pytest.mark.parametrize(
    "form",
    [
        pytest.param("thumbprint", id="sha1-thumbprint-rs256"),
        pytest.param("public_certificate", id="public-certificate-ps256"),
    ],
)
def test_msal_gets_a_token_with_a_certificate(msal_env, form):
    entra = msal_env
    cert = entra.certificate()
    credential = {"private_key": cert.key_pem}
    if form == "thumbprint":
        credential["thumbprint"] = cert.sha1
    else:
        credential["public_certificate"] = cert.cert_pem
    result = _app(entra, credential).acquire_token_for_client(scopes=[entra.scope])
    assert "access_token" in result, result
    assert _claims(result["access_token"])["appidacr"] == "2"


def test_unregistered_certificate_is_refused(msal_env):
    entra = msal_env
    other = entra.new_certificate("stranger")
    credential = {"private_key": other.key_pem, "public_certificate": other.cert_pem}
    result = _app(entra, credential).acquire_token_for_client(scopes=[entra.scope])
    assert result["error"] == "invalid_client"
    assert result["error_codes"] == [700027]
    assert "The key was not found" in result["error_description"]


def test_certificate_key_mismatch_fails_signature_validation(msal_env):
    entra = msal_env
    stranger = entra.new_certificate("stranger")
    # Our registered certificate's thumbprint, but signed with another key.
    credential = {"private_key": stranger.key_pem, "thumbprint": entra.certificate().sha1}
    result = _app(entra, credential).acquire_token_for_client(scopes=[entra.scope])
    assert result["error_codes"] == [700027]
    assert "did not match the expected signature value" in result["error_description"]


@pytest.mark.parametrize(
    ("secret", "code"),
    [
        pytest.param("wrong-secret", 7000215, id="wrong-secret"),
        pytest.param("old-secret", 7000222, id="expired-secret"),
    ],
)
def test_msal_reports_bad_secrets(msal_env, secret, code):
    entra = msal_env
    result = _app(entra, secret).acquire_token_for_client(scopes=[entra.scope])
    assert "access_token" not in result
    assert result["error"] == "invalid_client"
    assert result["error_codes"] == [code]
    assert entra.app_id in result["error_description"]


def test_msal_unknown_tenant_fails_discovery(msal_env):
    entra = msal_env
    with pytest.raises(ValueError, match="Unable to get authority configuration") as raised:
        _app(entra, "live-secret", tenant=str(uuid.uuid4()))
    # MSAL wraps the discovery error; the emulator's answer is the one it wraps.
    assert "AADSTS90002" in str(raised.value.__context__)


def test_msal_unknown_app(msal_env):
    entra = msal_env
    stranger = str(uuid.uuid4())
    result = _app(entra, "x", client=stranger).acquire_token_for_client(scopes=[entra.scope])
    assert (result["error"], result["error_codes"]) == ("unauthorized_client", [700016])
    assert (
        f"'{stranger}' was not found in the directory 'Fjordline AS'"
        in (result["error_description"])
    )


def _token_post(entra, data, tenant=None):
    with entra.client() as client:
        url = f"{entra.url}/{tenant or entra.tenant_id}/oauth2/v2.0/token"
        return client.post(url, data=data, headers={"client-request-id": str(uuid.uuid4())})


_SECRET_FORM = {
    "grant_type": "client_credentials",
    "client_id": "",
    "client_secret": "live-secret",
    "scope": "https://graph.microsoft.com/.default",
}


@pytest.mark.parametrize(
    ("changes", "status", "error", "code"),
    [
        pytest.param({"client_secret": "nope"}, 401, "invalid_client", 7000215, id="wrong-secret"),
        pytest.param({"client_secret": "old-secret"}, 401, "invalid_client", 7000222, id="expired"),
        pytest.param({"client_secret": None}, 401, "invalid_client", 7000218, id="no-credential"),
        pytest.param({"scope": "User.Read"}, 400, "invalid_scope", 1002012, id="not-default"),
        pytest.param(
            {"scope": "https://x.example/.default"}, 400, "invalid_resource", 500011, id="resource"
        ),
        pytest.param(
            {"scope": "https://graph.microsoft.com/.default openid"},
            400,
            "invalid_scope",
            70011,
            id="two-scopes",
        ),
        pytest.param({"scope": None}, 400, "invalid_request", 900144, id="no-scope"),
        pytest.param({"grant_type": "password"}, 400, "unsupported_grant_type", 70003, id="grant"),
        pytest.param({"grant_type": None}, 400, "invalid_request", 900144, id="no-grant"),
        pytest.param({"client_id": None}, 400, "invalid_request", 900144, id="no-client"),
    ],
)
def test_token_endpoint_errors(entra, changes, status, error, code):
    form = {**_SECRET_FORM, "client_id": entra.app_id, **changes}
    response = _token_post(entra, {k: v for k, v in form.items() if v is not None})
    assert response.status_code == status, response.text
    body = response.json()
    _check_aadsts(body, error, code)
    assert body["correlation_id"] == response.request.headers["client-request-id"]


def test_unknown_tenant_on_token_and_discovery(entra):
    stranger = str(uuid.uuid4())
    response = _token_post(entra, {**_SECRET_FORM, "client_id": entra.app_id}, tenant=stranger)
    assert response.status_code == 400
    _check_aadsts(response.json(), "invalid_request", 90002)
    assert f"Tenant '{stranger}' not found." in response.json()["error_description"]
    with entra.client() as client:
        discovery = client.get(f"{entra.url}/{stranger}/v2.0/.well-known/openid-configuration")
    assert discovery.status_code == 400
    _check_aadsts(discovery.json(), "invalid_tenant", 90002)


def test_discovery_document(entra):
    with entra.client() as client:
        doc = client.get(f"{entra.url}/fjordline.no/v2.0/.well-known/openid-configuration").json()
        keys = client.get(doc["jwks_uri"]).json()
    base = f"{entra.url}/{entra.tenant_id}"
    assert doc["token_endpoint"] == f"{base}/oauth2/v2.0/token"
    assert doc["authorization_endpoint"] == f"{base}/oauth2/v2.0/authorize"
    assert doc["device_authorization_endpoint"] == f"{base}/oauth2/v2.0/devicecode"
    assert doc["issuer"] == f"{base}/v2.0"
    assert keys["keys"][0]["kty"] == "RSA"


def _assertion(entra, *, audience=None, issuer=None, lifetime=600, offset=0.0, alg="PS256"):
    cert = entra.certificate()
    key = serialization.load_pem_private_key(cert.key_pem.encode(), password=None)
    certificate = x509.load_pem_x509_certificate(cert.cert_pem.encode())
    header = {
        "alg": alg,
        "typ": "JWT",
        "x5t#S256": jose.b64url_encode(certificate.fingerprint(hashes.SHA256())),
    }
    now = time.time() + offset
    payload = {
        "aud": audience or f"{entra.url}/{entra.tenant_id}/oauth2/v2.0/token",
        "iss": issuer or entra.app_id,
        "sub": issuer or entra.app_id,
        "exp": now + lifetime,
        "iat": now,
        "nbf": now,
        "jti": str(uuid.uuid4()),
    }
    signing_input = (
        f"{jose.b64url_encode(orjson.dumps(header))}.{jose.b64url_encode(orjson.dumps(payload))}"
    )
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
    chosen = pss if alg == "PS256" else padding.PKCS1v15()
    signature = key.sign(signing_input.encode(), chosen, hashes.SHA256())
    return f"{signing_input}.{jose.b64url_encode(signature)}"


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        pytest.param({}, None, id="valid"),
        pytest.param({"alg": "RS256"}, None, id="valid-rs256"),
        pytest.param({"audience": "https://elsewhere.example/token"}, 700023, id="audience"),
        pytest.param({"issuer": str(uuid.UUID(int=1))}, 700021, id="issuer"),
        pytest.param({"offset": -4000}, 700024, id="expired"),
        pytest.param({"offset": 4000}, 700024, id="not-yet-valid"),
    ],
)
def test_raw_certificate_assertions(entra, kwargs, code):
    form = {
        "grant_type": "client_credentials",
        "client_id": entra.app_id,
        "scope": entra.scope,
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": _assertion(entra, **kwargs),
    }
    response = _token_post(entra, form)
    if code is None:
        assert response.status_code == 200, response.text
        assert response.json()["token_type"] == "Bearer"
    else:
        assert response.status_code == 401, response.text
        _check_aadsts(response.json(), "invalid_client", code)


def test_malformed_assertion(entra):
    form = {
        "grant_type": "client_credentials",
        "client_id": entra.app_id,
        "scope": entra.scope,
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": "not.a-jwt",
    }
    response = _token_post(entra, form)
    assert response.status_code == 400
    _check_aadsts(response.json(), "invalid_request", 50027)


def test_token_lifetime_follows_time_scale(entra):
    entra.admin.update_settings({"time_scale": 10, "token_lifetime_seconds": 3600})
    response = _token_post(entra, {**_SECRET_FORM, "client_id": entra.app_id})
    body = response.json()
    assert body["expires_in"] == body["ext_expires_in"] == 360
    assert list(body) == ["token_type", "expires_in", "ext_expires_in", "access_token"]


def test_token_endpoint_refuses_get(entra):
    with entra.client() as client:
        response = client.get(f"{entra.url}/{entra.tenant_id}/oauth2/v2.0/token")
    assert response.status_code == 400
    _check_aadsts(response.json(), "invalid_request", 900561)


def test_token_requests_never_log_secrets(entra):
    _token_post(entra, {**_SECRET_FORM, "client_id": entra.app_id})
    entries = entra.admin.requests(path_prefix=f"/{entra.tenant_id}/oauth2")
    assert entries
    assert all(e["body"] is None for e in entries)

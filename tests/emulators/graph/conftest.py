"""The Entra/Graph emulator over real TLS, with a small known directory reset before every test.

The world: tenant "Fjordline AS" (verified domains fjordline.no and fjordline.onmicrosoft.com,
unverified fjordline.com) with a main app (User.ReadWrite.All, a live and an expired secret, one
certificate), a read-only app, an app without permissions and one with Domain.Read.All too;
twelve named users (one synced from on-premises, one with an apostrophe, a guest, a disabled one)
and 240 numbered ones for paging; and a second tenant with one user.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import ssl
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from emulators.admin_client import AdminClient
from emulators.graph.settings import GraphSettings
from emulators.launcher import Emulators
from emulators.settings import settings_to_dict

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
NUMBERED_USERS = 240


def uid(name: str) -> str:
    """A stable UUID per name, so tests refer to objects of the world by name."""
    return str(uuid.uuid5(uuid.NAMESPACE_DNS, f"{name}.entra.test"))


@dataclasses.dataclass(frozen=True)
class Certificate:
    """A self-signed RSA certificate and its key, as an app registration would hold."""

    key_pem: str
    cert_pem: str
    sha1: str  # hex thumbprint

    @classmethod
    def make(cls, name: str, *, days: int = 365) -> Certificate:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=days))
            .sign(key, hashes.SHA256())
        )
        key_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
        return cls(key_pem, cert_pem, cert.fingerprint(hashes.SHA1()).hex())  # noqa: S303 - Entra's thumbprint is SHA-1


@functools.cache
def app_certificate() -> Certificate:
    return Certificate.make("huma-sync")


def user(name: str, **overrides: Any) -> dict[str, Any]:
    given, family = name.split(" ", 1)
    alias = f"{given}.{family}".lower().replace(" ", "").replace("'", "")
    record = {
        "id": uid(name),
        "userPrincipalName": f"{alias}@fjordline.no",
        "mail": f"{alias}@fjordline.no",
        "displayName": name,
        "givenName": given,
        "surname": family,
        "mailNickname": alias,
        "mobilePhone": None,
        "businessPhones": [],
        "streetAddress": None,
        "postalCode": None,
        "city": None,
        "country": None,
        "usageLocation": "NO",
        "employeeId": None,
        "employeeHireDate": None,
        "jobTitle": None,
        "accountEnabled": True,
        "userType": "Member",
        "onPremisesSyncEnabled": None,
        "createdDateTime": "2020-01-01T00:00:00Z",
    }
    return record | overrides


def make_state() -> dict[str, Any]:
    far = "2099-01-01T00:00:00Z"
    named = [
        user(
            "Ingrid Haugen",
            employeeId="E10023",
            jobTitle="Payroll Specialist",
            mobilePhone="+47 912 34 567",
            city="Oslo",
            country="NO",
            employeeHireDate="2019-03-01T00:00:00Z",
        ),
        user("Siobhan O'Brien", employeeId="E10024"),
        user("Ola Nordmann", onPremisesSyncEnabled=True, employeeId="E10025"),
        user("Kari Disabled", accountEnabled=False),
        user(
            "Gjest Gjestesen",
            userType="Guest",
            userPrincipalName="gjest_example.com#EXT#@fjordline.onmicrosoft.com",
            mail="gjest@example.com",
        ),
        user("Per Hansen", employeeId="E20001"),
        user("Pia Hansen", employeeId="E20002"),
        user("Anne Berg"),
        user("Bjorn Dahl"),
        user("Cato Eik"),
        user("Dina Fjell"),
        user("Erik Gran"),
    ]
    numbered = [
        user(f"Numbered Person{i:03d}", employeeId=f"N{i:05d}") for i in range(NUMBERED_USERS)
    ]
    cert = app_certificate()
    return {
        "format": "entra-emulator/1",
        "tenants": [
            {
                "id": uid("fjordline"),
                "displayName": "Fjordline AS",
                "domains": [
                    {"id": "fjordline.no", "isVerified": True, "isDefault": True},
                    {"id": "fjordline.onmicrosoft.com", "isVerified": True, "isInitial": True},
                    {"id": "fjordline.com", "isVerified": False},
                ],
                "applications": [
                    {
                        "appId": uid("huma-app"),
                        "displayName": "Huma",
                        "secrets": [
                            {"keyId": uid("s1"), "secretText": "live-secret", "endDateTime": far},
                            {
                                "keyId": uid("s2"),
                                "secretText": "old-secret",
                                "endDateTime": "2020-01-01T00:00:00Z",
                            },
                        ],
                        "certificates": [
                            {"keyId": uid("c1"), "pem": cert.cert_pem, "endDateTime": far}
                        ],
                        "grantedPermissions": ["User.ReadWrite.All"],
                    },
                    {
                        "appId": uid("reader-app"),
                        "displayName": "Reader",
                        "secrets": [{"keyId": uid("s3"), "secretText": "reader-secret"}],
                        "grantedPermissions": ["User.Read.All"],
                    },
                    {
                        "appId": uid("bare-app"),
                        "displayName": "Bare",
                        "secrets": [{"keyId": uid("s4"), "secretText": "bare-secret"}],
                        "grantedPermissions": [],
                    },
                    {
                        "appId": uid("admin-app"),
                        "displayName": "Admin",
                        "secrets": [{"keyId": uid("s5"), "secretText": "admin-secret"}],
                        "grantedPermissions": ["User.ReadWrite.All", "Domain.Read.All"],
                    },
                ],
                "users": named + numbered,
            },
            {
                "id": uid("other"),
                "displayName": "Other AS",
                "domains": [{"id": "other.no", "isVerified": True, "isDefault": True}],
                "applications": [
                    {
                        "appId": uid("other-app"),
                        "displayName": "Other",
                        "secrets": [{"keyId": uid("s6"), "secretText": "other-secret"}],
                        "grantedPermissions": ["User.ReadWrite.All"],
                    }
                ],
                "users": [user("Other Person", userPrincipalName="other.person@other.no")],
            },
        ],
    }


@dataclasses.dataclass
class Entra:
    """The running emulator and what tests need to talk to it."""

    url: str
    ca_bundle: Path
    admin: AdminClient
    tenant_id: str = uid("fjordline")
    app_id: str = uid("huma-app")
    uid = staticmethod(uid)
    certificate = staticmethod(app_certificate)
    new_certificate = staticmethod(Certificate.make)
    scope = GRAPH_SCOPE

    @property
    def authority(self) -> str:
        return f"{self.url}/{self.tenant_id}"

    @functools.cached_property
    def tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_bundle))

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(verify=self.tls, timeout=20, **kwargs)

    def token(self, app: str = "huma-app", tenant: str = "fjordline", **spec: Any) -> str:
        """An access token minted through the control route (MSAL has its own tests)."""
        body = {"appId": uid(app), **spec}
        return self.admin.call("POST", f"/tenants/{uid(tenant)}/tokens", body)["access_token"]

    def graph(self, app: str = "huma-app", tenant: str = "fjordline") -> httpx.Client:
        """A client of Graph authenticated as `app`."""
        headers = {"Authorization": f"Bearer {self.token(app, tenant)}"}
        return self.client(base_url=f"{self.url}/v1.0", headers=headers)

    def stored(self, key: str, tenant: str = "fjordline") -> dict[str, Any]:
        return self.admin.call("GET", f"/tenants/{uid(tenant)}/users/{key}")


@pytest.fixture(scope="session")
def entra_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Entra]:
    folder = tmp_path_factory.mktemp("entra")
    state_file = folder / "entra-state.json"
    state_file.write_bytes(orjson.dumps(make_state()))
    with Emulators(state_dir=folder, huma_state=None, entra_state=state_file) as emulators:
        yield Entra(emulators.entra_url, emulators.ca_bundle, emulators.admin("entra"))


_DEFAULT_SETTINGS = settings_to_dict(GraphSettings())


@pytest.fixture
def entra(entra_server: Entra) -> Entra:
    """The emulator with the known directory, default settings, an empty log, full buckets."""
    admin = entra_server.admin
    admin.update_settings(_DEFAULT_SETTINGS)
    admin.load_state(make_state())
    admin.clear_requests()
    return entra_server


@pytest.fixture
def graph(entra: Entra) -> Iterator[httpx.Client]:
    """Graph as the main app (User.ReadWrite.All)."""
    with entra.graph() as client:
        yield client


@pytest.fixture
def graph_error():
    """`graph_error(response, status, code, message)` checks Graph's envelope, returns `error`."""
    return _graph_error


def _graph_error(response: httpx.Response, status: int, code: str, message: str) -> dict:
    assert response.status_code == status, response.text[:600]
    error = response.json()["error"]
    assert (error["code"], error["message"]) == (code, message)
    inner = error["innerError"]
    assert inner["request-id"] == response.headers["request-id"]
    assert dt.datetime.strptime(inner["date"], "%Y-%m-%dT%H:%M:%S")
    assert "client-request-id" in inner
    return error

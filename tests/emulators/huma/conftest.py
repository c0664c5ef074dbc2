"""The Huma emulator over real TLS, a small known organisation reset before every test, and a
checker of answers against Huma's published Open API (`huma-openapi.yaml` beside this file)."""

from __future__ import annotations

import copy
import dataclasses
import functools
import ssl
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import yaml
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse

from emulators.admin_client import AdminClient
from emulators.launcher import Emulators
from emulators.settings import EmulatorSettings, settings_to_dict

SPEC_FILE = Path(__file__).with_name("huma-openapi.yaml")
SPEC_SERVER = "https://openapi.humahr.com"
_GROUP_SCHEMAS = {f"#/components/schemas/{n}" for n in ("Group", "Company", "Location", "Team")}


def uid(name: str) -> str:
    """A stable UUID per name, so tests can refer to objects of the world by name."""
    return str(uuid.uuid5(uuid.NAMESPACE_DNS, f"{name}.huma.test"))


def _user(name: str, **overrides: Any) -> dict[str, Any]:
    given, family = name.split(" ", 1)
    user = {
        "id": uid(name),
        "givenName": given,
        "familyName": family,
        "email": f"{given}.{family}@fjordline.no".lower(),
        "phone": None,
        "homeAddress": None,
        "employmentId": None,
        "status": {"active": True, "deactivatedAt": None},
        "groups": [uid("Fjordline AS")],
        "positions": [],
        "hiddenFields": [],
    }
    return user | overrides


def _position(name: str, start: str, end: str | None = None, title: str = "Payroll") -> dict:
    return {
        "id": uid(name),
        "titleId": uid(title),
        "contractStartDate": start,
        "contractEndDate": end,
        "percentage": 100,
        "contractType": "Permanent",
    }


ADDRESS = {
    "line1": "Storgata 12",
    "line2": None,
    "line3": None,
    "postalCode": "0155",
    "city": "Oslo",
    "country": "NO",
}


def make_state() -> dict[str, Any]:
    """Twelve people: a complete one, a deactivated one, one with empty fields, one with hidden
    fields, one whose only position starts in 2099, two namesakes and plain ones for paging."""
    people = [
        _user(
            "Anna Berg",
            phone="+47 912 34 567",
            homeAddress=ADDRESS,
            employmentId="E1001",
            groups=[uid("Fjordline AS"), uid("Oslo"), uid("Payroll team")],
            positions=[
                _position("anna-old", "2015-01-01", "2018-12-31", title="Clerk"),
                _position("anna-now", "2019-03-01"),
            ],
        ),
        _user(
            "Bjørn Dahl",
            email="bjorn.dahl@fjordline.no",
            phone="+47 400 00 001",
            employmentId="E1002",
            status={"active": False, "deactivatedAt": "2024-05-01T08:00:00.000Z"},
            positions=[_position("bjorn-now", "2020-01-01", title="Clerk")],
        ),
        _user("Carla Eng"),
        _user(
            "David Fosse",
            homeAddress=ADDRESS,
            employmentId="E1004",
            hiddenFields=["homeAddress", "employmentId"],
        ),
        _user("Eva Gran", positions=[_position("eva-next", "2099-01-01")]),
        _user("Anna Berg 2", givenName="Anna", familyName="Berg", email="anna.berg2@fjordline.no"),
        *(_user(f"Plain Person{i:02d}") for i in range(6)),
    ]
    return {
        "format": "huma-emulator/1",
        "organization": {"id": uid("org"), "name": "Fjordline AS"},
        "apiKeys": [
            {"clientId": uid("key"), "clientSecret": uid("secret"), "active": True},
            {"clientId": uid("old-key"), "clientSecret": uid("old-secret"), "active": False},
        ],
        "groups": [
            {"id": uid("Fjordline AS"), "name": "Fjordline AS", "type": "company"},
            {"id": uid("Oslo"), "name": "Oslo", "type": "location"},
            {"id": uid("Payroll team"), "name": "Payroll team", "type": "team"},
        ],
        "jobTitles": [
            {"id": uid("Payroll"), "name": "Payroll Specialist"},
            {"id": uid("Clerk"), "name": "Clerk", "description": "Office work"},
        ],
        "users": people,
    }


def _load_spec() -> dict[str, Any]:
    spec = yaml.safe_load(SPEC_FILE.read_text(encoding="utf-8"))

    def loosen(node: Any) -> None:
        # `groups` items are a `oneOf` of Group/Company/Location/Team, told apart by the `type`
        # discriminator; a plain JSON Schema validator sees a real group match several branches
        # (Company and Location only add optional properties), so validate them as `anyOf`.
        if isinstance(node, dict):
            branches = node.get("oneOf")
            if branches and {b.get("$ref") for b in branches} == _GROUP_SCHEMAS:
                node["anyOf"] = node.pop("oneOf")
            for value in node.values():
                loosen(value)
        elif isinstance(node, list):
            for value in node:
                loosen(value)

    loosen(spec)
    # springdoc typed Spring's error `status` as Apache's HttpResponse object; the body Spring
    # sends (and the spec's own example, 500) has an integer.
    spec["components"]["schemas"]["StandardServerErrorResponse"]["properties"]["status"] = {
        "type": "integer",
        "example": 500,
    }
    return spec


class SpecChecker:
    """Validates an answer against the response schema of the operation and status it answers."""

    def __init__(self) -> None:
        self._openapi = OpenAPI.from_dict(_load_spec())

    def check(self, response: httpx.Response) -> Any:
        """Raise unless the answer matches the spec; return its JSON (None when empty)."""
        sent = response.request
        request = MockRequest(
            SPEC_SERVER,
            sent.method,
            sent.url.path,
            args=dict(sent.url.params),
            headers=dict(sent.headers),
            data=sent.content,
            content_type=sent.headers.get("content-type", "application/json"),
        )
        answer = MockResponse(
            response.content,
            status_code=response.status_code,
            headers=dict(response.headers),
            content_type=response.headers.get("content-type", ""),
        )
        self._openapi.validate_response(request, answer)
        return orjson.loads(response.content) if response.content else None


@dataclasses.dataclass
class HumaFixture:
    url: str
    ca_bundle: Path
    admin: AdminClient

    @functools.cached_property
    def _tls(self) -> ssl.SSLContext:
        # Made once: the bundle holds the system's CAs too, and reading it costs milliseconds.
        return ssl.create_default_context(cafile=str(self.ca_bundle))

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, verify=self._tls, timeout=10, **kwargs)

    def token(self, client_id: str | None = None, secret: str | None = None) -> str:
        with self.client() as client:
            response = client.post(
                "/auth/oauth/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": client_id or uid("key"),
                    "client_secret": secret or uid("secret"),
                },
            )
        response.raise_for_status()
        return response.json()["access_token"]


@pytest.fixture(scope="session")
def spec() -> SpecChecker:
    return SpecChecker()


@pytest.fixture(scope="session")
def huma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HumaFixture]:
    folder = tmp_path_factory.mktemp("huma")
    state_file = folder / "huma-state.json"
    state_file.write_bytes(orjson.dumps(make_state()))
    with Emulators(state_dir=folder, huma_state=state_file, entra_state=None) as emulators:
        yield HumaFixture(emulators.huma_url, emulators.ca_bundle, emulators.admin("huma"))


@pytest.fixture
def huma(huma_server: HumaFixture) -> HumaFixture:
    """The emulator with the known organisation, default settings and an empty request log."""
    huma_server.admin.load_state(make_state())
    huma_server.admin.update_settings(settings_to_dict(EmulatorSettings()))
    huma_server.admin.clear_requests()
    return huma_server


@pytest.fixture
def api(huma: HumaFixture) -> Iterator[httpx.Client]:
    """A client holding a valid bearer token of the active API key."""
    with huma.client(headers={"Authorization": f"Bearer {huma.token()}"}) as client:
        yield client


@pytest.fixture
def state() -> dict[str, Any]:
    """A fresh copy of the known organisation's state, to edit and load."""
    return copy.deepcopy(make_state())


@pytest.fixture
def uid_of() -> Any:
    """`uid_of(name)`: the id of the world's object with that name (see `make_state`)."""
    return uid

"""The Huma emulator sends its profile webhooks to the product's receiver, over TLS it verifies.

Pins: a change through the control API and one through the Open API's `PATCH` each arrive signed
with the secret and are stored by the receiver; `POST /users` sends `users-create`, a deletion
`users-delete`, an admin's export `users-export`; a receiver that is down is tried again on the
emulator's (frozen, test-moved) clock until it takes the delivery; the queue is bounded; the
bearer token goes along when set; a receiver whose certificate the given CA does not vouch for
gets nothing.
"""

from __future__ import annotations

import contextlib
import ssl
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from emulators.data import Drift, generate_world
from emulators.huma.webhooks import HumaEmulatorSettings
from emulators.launcher import Emulators
from emulators.settings import settings_to_dict
from emulators.tls import TlsFiles
from resources.webhook_events import WebhookEventStore
from tests.webhook_receiver.conftest import SECRET, Receiver, receivers, serve_receiver

WORLD = generate_world(users=6, seed=11, drift=Drift.none())


@pytest.fixture(scope="module")
def emulators(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulators]:
    folder = tmp_path_factory.mktemp("huma-webhooks")
    state = folder / "huma-state.json"
    state.write_bytes(orjson.dumps(WORLD.huma))
    with Emulators(state_dir=folder, huma_state=state, entra_state=None) as started:
        yield started


class Huma:
    """The emulator, reset, with helpers to configure its webhook and watch its deliveries."""

    def __init__(self, emulators: Emulators) -> None:
        self.emulators = emulators
        self.admin = emulators.admin("huma")
        defaults = settings_to_dict(HumaEmulatorSettings())
        self.admin.update_settings({"time_frozen": False, "webhooks": defaults["webhooks"]})
        self.admin.load_state(WORLD.huma)
        self.admin.call("DELETE", "/webhooks")
        self.users = WORLD.huma["users"]

    def register(self, url: str, ca_file: Path, **settings: Any) -> None:
        self.admin.register_webhook(url, secret=SECRET, ca_file=ca_file, **settings)

    def deliveries(self) -> list[dict[str, Any]]:
        return self.admin.webhook_deliveries()

    def wait_for(self, done: Callable[[list[dict[str, Any]]], bool]) -> list[dict[str, Any]]:
        """The deliveries once `done` holds for them (a state the emulator reports, not a guess
        of how long sending takes)."""
        deadline = time.monotonic() + 60
        while not done(deliveries := self.deliveries()):
            assert time.monotonic() < deadline, f"the deliveries never got there: {deliveries}"
            time.sleep(0.02)
        return deliveries

    @contextlib.contextmanager
    def api(self) -> Iterator[httpx.Client]:
        """A client of Huma's Open API with a token of the world's API key."""
        env = self.emulators.environment()
        verify = ssl.create_default_context(cafile=self.emulators.ca_bundle)
        with httpx.Client(base_url=self.emulators.huma_url, verify=verify, timeout=30) as client:
            token = client.post(
                "/auth/oauth/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": env["HUMA_CLIENT_ID"],
                    "client_secret": env["HUMA_CLIENT_SECRET"],
                },
            ).json()["access_token"]
            client.headers["Authorization"] = f"Bearer {token}"
            yield client


@pytest.fixture
def huma(emulators: Emulators) -> Huma:
    return Huma(emulators)


def _settled(count: int) -> Callable[[list[dict[str, Any]]], bool]:
    return lambda ds: len(ds) == count and all(d["status"] != "queued" for d in ds)


def test_a_control_change_and_an_api_patch_arrive_signed_and_stored(
    huma: Huma, receiver: Receiver, tls: TlsFiles
) -> None:
    anna, bo = huma.users[0], huma.users[1]
    huma.register(receiver.endpoint(), tls.ca_bundle)

    huma.admin.call("PATCH", f"/users/{anna['id']}", {"phone": "+47 400 00 001"})
    with huma.api() as api:
        assert api.patch(f"/users/{bo['id']}", json={"givenName": "Bodil"}).is_success

    deliveries = huma.wait_for(_settled(2))
    assert [(d["topic"], d["userIds"], d["status"]) for d in deliveries] == [
        ("users-update", [anna["id"]], "delivered"),
        ("users-update", [bo["id"]], "delivered"),
    ]
    assert [d["lastStatus"] for d in deliveries] == [202, 202]  # the signature checked out
    taken = receiver.store.take("run-1")
    assert [(u.huma_id, u.email) for u in taken.changed] == [
        (anna["id"], anna["email"]),
        (bo["id"], bo["email"]),
    ]


def test_creates_deletes_and_an_export_carry_their_topics(
    huma: Huma, receiver: Receiver, tls: TlsFiles
) -> None:
    huma.register(receiver.endpoint(), tls.ca_bundle)
    gone = huma.users[2]
    group = WORLD.huma["groups"][0]["id"]

    with huma.api() as api:
        created = api.post(
            "/users",
            json={
                "givenName": "Nora",
                "familyName": "Vik",
                "email": "nora.vik@example.no",
                "groups": [group],
            },
        )
    assert created.is_success
    huma.admin.call("DELETE", f"/users/{gone['id']}")
    export = huma.admin.send_webhook_export()

    deliveries = huma.wait_for(_settled(3))
    assert [d["topic"] for d in deliveries] == ["users-create", "users-delete", "users-export"]
    assert {d["status"] for d in deliveries} == {"delivered"}
    assert len(export["userIds"]) == len(huma.users)  # everyone left, the new one included
    taken = receiver.store.take("run-1")
    assert [u.huma_id for u in taken.changed] == [created.json()["id"]]
    assert [u.huma_id for u in taken.deleted] == [gone["id"]]
    assert taken.full_run


def test_a_receiver_that_is_down_gets_the_delivery_when_it_is_back(
    huma: Huma, tls: TlsFiles, store_path: Path
) -> None:
    down = serve_receiver(tls, store_path)
    with receivers(tls, down):
        port = down.port
    huma.admin.update_settings({"time_frozen": True})  # retries wait for the test's clock
    huma.register(down.endpoint(), tls.ca_bundle, backoff_initial_seconds=30)

    huma.admin.call("POST", f"/users/{huma.users[0]['id']}/deactivate", {})
    [failed] = huma.wait_for(lambda ds: ds and ds[0]["attempts"] == 1)
    assert failed["status"] == "retrying"
    assert failed["lastError"]  # refused: nothing listens

    back = serve_receiver(tls, store_path, port=port)
    with receivers(tls, back):
        huma.admin.advance_clock(29)
        assert huma.deliveries()[0]["attempts"] == 1  # not due yet: the clock decides
        huma.admin.advance_clock(1)
        [delivered] = huma.wait_for(lambda ds: ds[0]["status"] == "delivered")

    assert delivered["attempts"] == 2
    taken = WebhookEventStore(store_path).take("run-1")
    assert [u.huma_id for u in taken.changed] == [huma.users[0]["id"]]


def test_the_queue_is_bounded(huma: Huma, tls: TlsFiles, store_path: Path) -> None:
    down = serve_receiver(tls, store_path)
    with receivers(tls, down):
        pass
    huma.admin.update_settings({"time_frozen": True})
    huma.register(down.endpoint(), tls.ca_bundle, queue_size=2)

    for n, user in enumerate(huma.users[:4]):
        huma.admin.call("PATCH", f"/users/{user['id']}", {"phone": f"+47 400 00 {n:03d}"})

    deliveries = huma.wait_for(lambda ds: len(ds) == 4 and ds[0]["attempts"] == 1)
    assert [d["status"] for d in deliveries] == ["retrying", "queued", "dropped", "dropped"]


def test_the_bearer_token_goes_along(huma: Huma, tls: TlsFiles, store_path: Path) -> None:
    receiver = serve_receiver(tls, store_path, token="tok-77")
    with receivers(tls, receiver):
        huma.register(receiver.endpoint(), tls.ca_bundle, token="tok-77")
        huma.admin.call("PATCH", f"/users/{huma.users[0]['id']}", {"phone": "+47 400 00 999"})
        [delivery] = huma.wait_for(_settled(1))
    assert (delivery["status"], delivery["lastStatus"]) == ("delivered", 202)


def test_a_receiver_the_given_ca_does_not_vouch_for_gets_nothing(
    huma: Huma, receiver: Receiver
) -> None:
    # The emulators' own CA (another local CA than the receiver's) plus the system's.
    huma.register(receiver.endpoint(), huma.emulators.ca_bundle, max_attempts=1)

    huma.admin.call("PATCH", f"/users/{huma.users[0]['id']}", {"phone": "+47 400 00 999"})

    [delivery] = huma.wait_for(_settled(1))
    assert delivery["status"] == "failed"
    assert "CERTIFICATE_VERIFY_FAILED" in delivery["lastError"]
    assert receiver.store.waiting().count == 0


def test_only_an_https_webhook_url_is_accepted(huma: Huma) -> None:
    with pytest.raises(RuntimeError, match="must be an https URL"):
        huma.admin.update_settings({"webhooks": {"url": "http://127.0.0.1:9/huma/acme"}})


def test_a_change_of_supervisor_is_an_update_too(
    huma: Huma, receiver: Receiver, tls: TlsFiles
) -> None:
    """Every write to a stored user is sent, whichever route made it."""
    anna, bo = huma.users[0], huma.users[1]
    huma.register(receiver.endpoint(), tls.ca_bundle)

    huma.admin.set_huma_supervisor(anna["id"], None if anna.get("supervisor") else bo["id"])

    [delivery] = huma.wait_for(_settled(1))
    assert (delivery["topic"], delivery["userIds"], delivery["status"]) == (
        "users-update",
        [anna["id"]],
        "delivered",
    )

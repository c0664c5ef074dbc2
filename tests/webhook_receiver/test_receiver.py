"""The webhook receiver over real TLS: a signed, well-formed delivery of a known topic is stored
before it is answered 202; a replay of one still waiting is answered 200 and stores nothing;
everything else is refused with its status (401 unsigned, mis-signed or without the token, 413
oversized, 400 malformed, 422 unknown topic, 404/405 wrong path or method), stores nothing, and is
logged with its reason and connection, never its body, signature or secret."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import shutil
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from emulators.tls import TlsFiles
from resources.webhook_events import EventUser
from tests.webhook_receiver.conftest import (
    CONNECTION,
    SECRET,
    Receiver,
    body_of,
    huma_id,
    receivers,
    serve_receiver,
    signed,
)

ANNA = (huma_id(1), "anna.berg@fjordline.no")
BO = (huma_id(2), "bo.lund@fjordline.no")
UPDATE = body_of("users-update", [ANNA])


def test_a_signed_delivery_is_stored_before_it_is_answered(
    receiver: Receiver, client: httpx.Client
) -> None:
    answer = client.post(receiver.endpoint(), content=UPDATE, headers=signed(UPDATE))

    assert answer.status_code == 202
    taken = receiver.store.take("run-1")
    assert taken.changed == (EventUser(*ANNA),)
    assert taken.deleted == ()
    assert not taken.full_run


@pytest.mark.parametrize(
    "encode",
    [
        pytest.param(lambda mac: mac.hex().upper(), id="upper-case-hex"),
        pytest.param(lambda mac: base64.b64encode(mac).decode(), id="base64"),
    ],
)
def test_the_other_common_signature_encodings_are_accepted(
    receiver: Receiver, client: httpx.Client, encode
) -> None:
    mac = hmac.new(SECRET.encode(), UPDATE, hashlib.sha256).digest()
    headers = signed(UPDATE) | {"huma-hmac-sha256": encode(mac)}

    assert client.post(receiver.endpoint(), content=UPDATE, headers=headers).status_code == 202
    assert receiver.store.waiting().count == 1


def test_each_topic_lands_where_the_run_looks_for_it(
    receiver: Receiver, client: httpx.Client
) -> None:
    for topic, users in (
        ("users-create", [BO]),
        ("users-delete", [ANNA]),
        ("users-export", [ANNA, BO]),
    ):
        body = body_of(topic, users)
        assert client.post(receiver.endpoint(), content=body, headers=signed(body)).is_success

    taken = receiver.store.take("run-1")
    assert taken.changed == (EventUser(*BO),)
    assert taken.deleted == (EventUser(*ANNA),)
    assert taken.full_run


def test_a_replay_is_answered_200_and_stores_nothing(
    receiver: Receiver, client: httpx.Client
) -> None:
    first = client.post(receiver.endpoint(), content=UPDATE, headers=signed(UPDATE))
    again = client.post(receiver.endpoint(), content=UPDATE, headers=signed(UPDATE))

    assert (first.status_code, again.status_code) == (202, 200)
    assert receiver.store.waiting().count == 1


def _refusals() -> Iterator[object]:
    def case(
        status: int,
        reason: str,
        id: str,
        body: bytes = UPDATE,
        over: bytes | None = None,
        **headers,
    ):
        """A delivery of `body` signed over `over` (default: the body itself), headers changed."""
        sent = signed(body if over is None else over, topic="users-update") | headers
        return pytest.param(status, reason, body, sent, id=id)

    wrong_mac = hmac.new(b"another secret", UPDATE, hashlib.sha256).hexdigest()
    yield case(401, "unsigned", "unsigned", **{"huma-hmac-sha256": None})
    yield case(
        401, "bad signature", "signed-with-another-secret", **{"huma-hmac-sha256": wrong_mac}
    )
    yield case(401, "bad signature", "signature-not-hex", **{"huma-hmac-sha256": "z" * 64})
    tampered = UPDATE.replace(b"anna.berg", b"anna.borg")
    yield case(401, "bad signature", "body-changed-after-signing", body=tampered, over=UPDATE)
    yield case(400, "not JSON", "malformed-json", body=b'{"topic": "users-update", "users": [')
    yield case(400, "not a JSON object", "json-array", body=b"[]")
    yield case(400, "no users", "no-users", body=b'{"topic": "users-update"}')
    no_id = b'{"topic": "users-update", "users": [{"email": "a@fjordline.no"}]}'
    yield case(400, "no UUID id", "user-without-id", body=no_id)
    bad_id = b'{"topic": "users-update", "users": [{"id": "../x", "email": "a@fjordline.no"}]}'
    yield case(400, "no UUID id", "id-not-a-uuid", body=bad_id)
    no_email = f'{{"topic": "users-update", "users": [{{"id": "{ANNA[0]}"}}]}}'.encode()
    yield case(400, "no email", "user-without-email", body=no_email)
    bad_email = body_of("users-update", [(ANNA[0], "anna berg@fjordline")])
    yield case(400, "no email", "email-of-another-shape", body=bad_email)
    yield case(400, "topic is not", "header-and-body-disagree", **{"huma-topic": "users-create"})
    yield case(400, "no huma-topic", "no-topic-header", **{"huma-topic": None})
    absence = body_of("absences-create", [ANNA])
    yield case(
        422, "unknown topic", "unknown-topic", body=absence, **{"huma-topic": "absences-create"}
    )


@pytest.mark.parametrize(("status", "reason", "body", "sent"), list(_refusals()))
def test_refused_deliveries_store_nothing_and_log_no_secret(
    receiver: Receiver,
    client: httpx.Client,
    caplog: pytest.LogCaptureFixture,
    status: int,
    reason: str,
    body: bytes,
    sent: dict[str, str | None],
) -> None:
    headers = {name: value for name, value in sent.items() if value is not None}
    with caplog.at_level(logging.INFO, logger="resources.webhook_receiver"):
        answer = client.post(receiver.endpoint(), content=body, headers=headers)

    assert answer.status_code == status
    assert reason in answer.json()["error"]
    assert receiver.store.waiting().count == 0
    logged = caplog.text
    assert f"connection {CONNECTION}" in logged
    assert reason in logged
    for private in (SECRET, headers.get("huma-hmac-sha256", SECRET), "anna", "fjordline"):
        assert private not in logged


def test_an_oversized_body_is_refused_413_declared_or_streamed(
    tls: TlsFiles, store_path: Path
) -> None:
    receiver = serve_receiver(tls, store_path, max_body_bytes=len(UPDATE) - 1)
    with receivers(tls, receiver) as client:
        declared = client.post(receiver.endpoint(), content=UPDATE, headers=signed(UPDATE))
        # Without Content-Length (chunked): the limit holds while the body streams in.
        streamed = client.post(
            receiver.endpoint(), content=iter([UPDATE[:10], UPDATE[10:]]), headers=signed(UPDATE)
        )
        assert (declared.status_code, streamed.status_code) == (413, 413)
        assert receiver.store.waiting().count == 0


def test_the_bearer_token_is_required_when_one_is_configured(
    tls: TlsFiles, store_path: Path
) -> None:
    receiver = serve_receiver(tls, store_path, token="tok-9f1e")
    with receivers(tls, receiver) as client:
        url, headers = receiver.endpoint(), signed(UPDATE)
        missing = client.post(url, content=UPDATE, headers=headers)
        wrong = client.post(url, content=UPDATE, headers=headers | {"authorization": "Bearer x"})
        right = client.post(
            url, content=UPDATE, headers=headers | {"authorization": "Bearer tok-9f1e"}
        )
        assert (missing.status_code, wrong.status_code, right.status_code) == (401, 401, 202)
        assert receiver.store.waiting().count == 1


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        pytest.param("GET", "/huma/acme", 405, id="get-on-the-delivery-path"),
        pytest.param("POST", "/huma/globex", 404, id="a-connection-not-served"),
        pytest.param("POST", "/webhooks", 404, id="unknown-path"),
    ],
)
def test_wrong_paths_and_methods(
    receiver: Receiver, client: httpx.Client, method: str, path: str, status: int
) -> None:
    answer = client.request(method, receiver.url + path, content=UPDATE, headers=signed(UPDATE))
    assert answer.status_code == status
    assert receiver.store.waiting().count == 0


def test_healthz_says_whether_the_store_opens(receiver: Receiver, client: httpx.Client) -> None:
    assert client.get(receiver.url + "/healthz").status_code == 200

    folder = receiver.store.path.parent
    shutil.rmtree(folder)
    folder.write_text("not a folder")  # the store can no longer be opened

    assert client.get(receiver.url + "/healthz").status_code == 503
    answer = client.post(receiver.endpoint(), content=UPDATE, headers=signed(UPDATE))
    assert answer.status_code == 503  # Huma keeps the delivery and retries


def test_a_burst_of_500_deliveries_for_100_users_is_stored_each_user_once(
    receiver: Receiver, client: httpx.Client
) -> None:
    people = [(huma_id(n), f"person.{n}@fjordline.no") for n in range(100)]
    bodies = [
        body_of("users-update", [people[n % 100]], change=n)  # 5 different changes per person
        for n in range(500)
    ]

    def deliver(body: bytes) -> int:
        return client.post(receiver.endpoint(), content=body, headers=signed(body)).status_code

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(deliver, bodies))

    assert statuses == [202] * 500
    assert receiver.store.waiting().count == 500
    taken = receiver.store.take("run-1")
    assert len(taken.changed) == 100  # each user once
    assert set(taken.changed) == {EventUser(*p) for p in people}


def test_the_request_path_makes_no_outbound_connection(
    receiver: Receiver, client: httpx.Client
) -> None:
    """The answer never waits on another system: no thread but the test's own opens a socket to
    anywhere or resolves a name while deliveries are received (Python's audit events)."""
    outbound: list[tuple[str, str]] = []
    watching = threading.Event()

    def audit(event: str, args: tuple) -> None:
        if watching.is_set() and event in ("socket.connect", "socket.getaddrinfo"):
            outbound.append((threading.current_thread().name, event))

    sys.addaudithook(audit)  # cannot be removed; it records only while `watching` is set
    me = threading.current_thread().name
    watching.set()
    try:
        for topic in ("users-create", "users-update", "users-delete", "users-export"):
            body = body_of(topic, [ANNA, BO])
            assert client.post(receiver.endpoint(), content=body, headers=signed(body)).is_success
        client.get(receiver.url + "/healthz")
    finally:
        watching.clear()

    assert receiver.store.waiting().count == 4
    assert [(name, event) for name, event in outbound if name != me] == []


def test_two_receivers_on_one_store_store_each_delivery_once(
    tls: TlsFiles, store_path: Path
) -> None:
    first, second = serve_receiver(tls, store_path), serve_receiver(tls, store_path)
    bodies = [body_of("users-update", [(huma_id(n), f"p{n}@fjordline.no")]) for n in range(60)]

    with receivers(tls, first, second) as client, ThreadPoolExecutor(max_workers=8) as pool:

        def deliver(job: tuple[Receiver, bytes]) -> int:
            receiver, body = job
            return client.post(receiver.endpoint(), content=body, headers=signed(body)).status_code

        # Every delivery goes to both receivers at about the same time (Huma retrying through
        # another instance behind the load balancer).
        jobs = [(r, body) for body in bodies for r in (first, second)]
        statuses = list(pool.map(deliver, jobs))

    assert sorted(statuses) == [200] * 60 + [202] * 60
    assert first.store.waiting().count == 60

"""The emulator core over a real TLS socket: faults, the request log and the admin endpoints.

Pins: injected 429/5xx use the emulator's own envelope; a connection dropped *before* processing
leaves the state untouched while one dropped *after* applies the change and loses the answer;
slow answers are slow; admin endpoints are never faulted or logged; write bodies are logged except
on token endpoints; settings changes are validated and take effect immediately; a hold lets the set
number of writes through, keeps every later request unprocessed until its client goes away (or
drops it when lifted) and counts afresh when set again; the clock can be frozen and moved on.
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.usefixtures("reset_toy")


def _faults(toy: Any, **faults: Any) -> None:
    toy.emulator.update_settings({"faults": {"seed": 1, **faults}})


def test_a_clean_request_is_answered_and_logged(toy, client: httpx.Client) -> None:
    response = client.post("/items", json={"name": "a"})

    assert response.status_code == 201
    assert toy.emulator.items == ["a"]
    [entry] = toy.emulator.log.entries()
    assert entry["method"] == "POST"
    assert entry["path"] == "/items"
    assert entry["status"] == 201
    assert entry["body"] == {"name": "a"}
    assert entry["fault"] is None


def test_an_injected_throttle_uses_the_emulators_envelope(toy, client: httpx.Client) -> None:
    _faults(toy, throttle_rate=1.0, throttle_retry_after=3)

    response = client.post("/items", json={"name": "a"})

    assert response.status_code == 429
    assert response.json() == {"toy_error": "throttled"}
    assert response.headers["retry-after"] == "3"
    assert toy.emulator.items == []
    assert toy.emulator.log.entries()[-1]["fault"] == "throttle"


@pytest.mark.parametrize("status", [500, 503])
def test_an_injected_server_error_has_one_of_the_configured_statuses(
    toy, client: httpx.Client, status: int
) -> None:
    _faults(toy, error_rate=1.0, error_statuses=[status])

    response = client.get("/items")

    assert response.status_code == status
    assert response.json() == {"toy_error": status}


def test_a_drop_before_processing_changes_nothing(toy, client: httpx.Client) -> None:
    _faults(toy, drop_rate=1.0, drop_phase="before")

    with pytest.raises(httpx.RemoteProtocolError):
        client.post("/items", json={"name": "a"})

    assert toy.emulator.items == []


def test_a_drop_after_processing_applies_the_change_and_loses_the_answer(
    toy, client: httpx.Client
) -> None:
    _faults(toy, drop_rate=1.0, drop_phase="after")

    with pytest.raises(httpx.RemoteProtocolError):
        client.post("/items", json={"name": "a"})

    assert toy.emulator.items == ["a"]


def test_a_slow_answer_waits_the_configured_time(toy, client: httpx.Client) -> None:
    _faults(toy, slow_rate=1.0, slow_seconds=0.3)

    started = time.perf_counter()
    response = client.get("/items")

    assert response.status_code == 200
    assert time.perf_counter() - started >= 0.3


def test_token_endpoints_are_spared_and_their_bodies_never_logged(
    toy, client: httpx.Client
) -> None:
    _faults(toy, error_rate=1.0)

    response = client.post("/token", data={"client_secret": "s3cret-value"})

    assert response.status_code == 200
    [entry] = toy.emulator.log.entries()
    assert entry["body"] is None
    assert "s3cret-value" not in str(toy.emulator.log.entries())


def test_admin_endpoints_are_neither_faulted_nor_logged(toy, client: httpx.Client) -> None:
    _faults(toy, error_rate=1.0)

    state = client.get("/_emulator/state")
    requests = client.get("/_emulator/requests")

    assert state.status_code == 200
    assert state.json() == {"items": []}
    assert requests.json() == {"requests": []}


def test_state_can_be_replaced_and_read_back(client: httpx.Client) -> None:
    assert client.put("/_emulator/state", json={"items": ["x", "y"]}).status_code == 204

    assert client.get("/_emulator/state").json() == {"items": ["x", "y"]}
    assert client.get("/items").json() == ["x", "y"]


def test_the_request_log_filters_by_method_and_position(client: httpx.Client) -> None:
    client.get("/items")
    client.post("/items", json={"name": "a"})
    client.post("/items", json={"name": "b"})

    posts = client.get("/_emulator/requests", params={"method": "POST"}).json()["requests"]
    after_first = client.get("/_emulator/requests", params={"since": posts[0]["seq"]}).json()

    assert [e["body"]["name"] for e in posts] == ["a", "b"]
    assert [e["body"]["name"] for e in after_first["requests"]] == ["b"]


def test_settings_change_while_running_and_bad_keys_are_refused(toy, client: httpx.Client) -> None:
    changed = client.patch("/_emulator/settings", json={"faults": {"throttle_rate": 1.0}})
    refused = client.patch("/_emulator/settings", json={"faults": {"throttle_ratio": 1.0}})

    assert changed.status_code == 200
    assert changed.json()["faults"]["throttle_rate"] == 1.0
    assert client.get("/items").status_code == 429
    assert refused.status_code == 400
    assert "throttle_ratio" in refused.json()["error"]


def test_an_unknown_path_gets_the_emulators_not_found_body(client: httpx.Client) -> None:
    response = client.get("/nowhere")

    assert response.status_code == 404
    assert response.json() == {"toy_error": 404}


def _eventually(condition: Callable[[], bool], what: str) -> None:
    """Wait for a state the emulator reaches on its own (a deadline, not a guess of the time)."""
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.01)


def test_a_hold_lets_the_set_writes_through_and_holds_the_rest(toy, client: httpx.Client) -> None:
    _faults(toy, hold_after_writes=2)
    assert client.get("/items").status_code == 200  # reads do not count
    assert client.post("/items", json={"name": "a"}).status_code == 201
    assert client.post("/items", json={"name": "b"}).status_code == 201
    outcome: list[BaseException] = []

    def third_write() -> None:
        try:
            client.post("/items", json={"name": "c"})
        except httpx.HTTPError as exc:
            outcome.append(exc)

    writer = threading.Thread(target=third_write)
    writer.start()
    _eventually(lambda: client.get("/_emulator/held").json() == {"held": 1}, "the write held")
    assert toy.emulator.items == ["a", "b"]
    _faults(toy, hold_after_writes=None)  # lifted: the held request is dropped, never processed
    writer.join(timeout=10)

    assert [type(e) for e in outcome] == [httpx.RemoteProtocolError]
    assert toy.emulator.items == ["a", "b"]
    assert client.get("/_emulator/held").json() == {"held": 0}
    assert client.post("/items", json={"name": "d"}).status_code == 201


def test_a_held_request_is_forgotten_when_its_client_goes_away(toy) -> None:
    _faults(toy, hold_after_writes=0)
    verify = ssl.create_default_context(cafile=toy.ca_bundle)
    with (
        httpx.Client(base_url=toy.url, verify=verify, timeout=0.5) as impatient,
        pytest.raises(httpx.ReadTimeout),
    ):
        impatient.post("/items", json={"name": "late"})
    _eventually(lambda: toy.emulator.faults.held == 0, "the held request released")
    _faults(toy, hold_after_writes=None)

    assert toy.emulator.items == []


def test_the_clock_is_frozen_and_moved_on_through_the_admin_endpoints(
    toy, client: httpx.Client
) -> None:
    client.patch("/_emulator/settings", json={"time_scale": 4, "time_frozen": True})
    start = client.get("/_emulator/clock").json()

    moved = client.post("/_emulator/clock/advance", json={"seconds": 2.5})
    refused = client.post("/_emulator/clock/advance", json={"seconds": "soon"})

    assert (start["scale"], start["frozen"]) == (4.0, True)
    assert moved.json()["now"] == start["now"] + 10.0
    assert client.get("/_emulator/clock").json() == moved.json()
    assert refused.status_code == 400
    client.patch("/_emulator/settings", json={"time_frozen": False})
    assert client.get("/_emulator/clock").json()["frozen"] is False

"""Fault injection and Spring-style errors of the Huma emulator.

Pins: injected 5xx answers carry Spring Boot's error body (the spec's
`StandardServerErrorResponse` for 500); an injected 429 has a `Retry-After` in whole real seconds
from the emulated clock; token endpoints are spared unless `include_auth`; a connection dropped
before processing leaves the user unchanged, one dropped after applies the change and loses the
answer; wrong methods are Spring's 405.
"""

from __future__ import annotations

import httpx
import pytest

SPRING_KEYS = {"timestamp", "status", "error", "message", "path"}


def test_an_injected_500_has_the_spec_server_error_body(huma, api, spec) -> None:
    huma.admin.update_settings({"faults": {"error_rate": 1.0, "error_statuses": [500]}})

    response = api.get("/users")

    assert response.status_code == 500
    body = spec.check(response)
    assert body["status"] == 500
    assert body["error"] == "Internal Server Error"
    assert body["path"] == "/users"
    assert huma.admin.requests()[-1]["fault"] == "error"


@pytest.mark.parametrize("status", [502, 503, 504])
def test_other_injected_5xx_use_the_same_spring_body(huma, api, status: int) -> None:
    huma.admin.update_settings({"faults": {"error_rate": 1.0, "error_statuses": [status]}})

    response = api.get("/users/x")

    assert response.status_code == status
    assert set(response.json()) == SPRING_KEYS
    assert response.json()["status"] == status


@pytest.mark.parametrize(
    ("retry_after", "time_scale", "header"),
    [
        pytest.param(2, 1, "2", id="real-time"),
        pytest.param(30, 10, "3", id="scaled"),
        pytest.param(1, 100, "1", id="never-below-one"),
    ],
)
def test_an_injected_429_says_when_to_retry_in_real_seconds(
    huma, api, retry_after: float, time_scale: float, header: str
) -> None:
    huma.admin.update_settings(
        {
            "time_scale": time_scale,
            "faults": {"throttle_rate": 1.0, "throttle_retry_after": retry_after},
        }
    )

    response = api.get("/users")

    assert response.status_code == 429
    assert response.headers["Retry-After"] == header
    assert response.json()["status"] == 429
    assert set(response.json()) == SPRING_KEYS


def test_token_requests_are_spared_unless_asked(huma, uid_of) -> None:
    grant = {"grant_type": "client_credentials"}
    grant |= {"client_id": uid_of("key"), "client_secret": uid_of("secret")}
    huma.admin.update_settings({"faults": {"error_rate": 1.0}})
    with huma.client() as client:
        spared = client.post("/auth/oauth/token", data=grant)
        huma.admin.update_settings({"faults": {"include_auth": True}})
        hit = client.post("/auth/oauth/token", data=grant)

    assert spared.status_code == 200
    assert hit.status_code >= 500


@pytest.mark.parametrize(
    ("phase", "applied"),
    [pytest.param("before", False, id="before"), pytest.param("after", True, id="after")],
)
def test_a_dropped_connection_loses_the_answer(huma, api, uid_of, phase, applied) -> None:
    path = f"/users/{uid_of('Carla Eng')}"
    huma.admin.update_settings({"faults": {"drop_rate": 1.0, "drop_phase": phase}})

    with pytest.raises(httpx.TransportError):
        api.patch(path, json={"phone": "+47 123"})

    stored = huma.admin.call("GET", path)
    assert (stored["phone"] == "+47 123") is applied


def test_a_wrong_method_is_springs_405(api) -> None:
    response = api.delete("/users")

    assert response.status_code == 405
    assert response.json()["error"] == "Method Not Allowed"
    assert set(response.json()) == SPRING_KEYS

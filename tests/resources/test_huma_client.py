"""The Huma client against the Huma emulator over TLS: complete snapshots and careful writes.

Pins: a snapshot holds every user (deactivated ones with their status) with every mapped field
exactly as the emulator holds it; under 429s, 5xx, dropped connections and people added and
removed mid-scan it still equals the emulator's final state, having scanned again; writes
change what they say and come back with Huma's error code and fields when refused; a refused
API key says what to do and never shows the secret.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from resources.errors import AuthenticationError
from resources.huma import HumaResource
from resources.huma_client import HumaApiError, HumaClient
from resources.huma_snapshot import huma_users_frame
from tests.resources.conftest import Outside, huma_credentials
from tests.resources.huma_oracle import expected_huma_rows


@pytest.fixture
def huma_resource() -> Iterator[Callable[..., HumaResource]]:
    """Makes `HumaResource`s and closes them after the test, as Dagster would after a run."""
    made: list[HumaResource] = []

    def make(**config: Any) -> HumaResource:
        made.append(HumaResource(**config))
        return made[-1]

    yield make
    for resource in made:
        resource.close()


def _by_id(frame) -> dict[str, dict[str, Any]]:
    rows = {}
    for row in frame.to_dicts():
        row["unknown_fields"] = sorted(row["unknown_fields"])
        rows[row["huma_id"]] = row
    return rows


def _expected(state: dict[str, Any]) -> dict[str, dict[str, Any]]:
    rows = expected_huma_rows(state, dt.datetime.now(dt.UTC).date())
    for row in rows.values():
        row["unknown_fields"] = sorted(row["unknown_fields"])
    return rows


def test_a_snapshot_holds_every_user_exactly(
    outside: Outside, huma_resource: Callable[..., HumaResource]
) -> None:
    snapshot = huma_resource(**huma_credentials(outside)).snapshot()

    assert snapshot.complete
    assert _by_id(snapshot.users) == _expected(outside.world.huma)
    assert snapshot.raw.height == len(outside.world.huma["users"])
    deactivated = set(outside.world.manifest["deactivated"])
    assert deactivated
    assert {r["huma_id"] for r in snapshot.users.to_dicts() if not r["active"]} == deactivated


def test_a_faulty_scan_with_people_coming_and_going_equals_a_clean_one(
    outside: Outside, huma_resource
) -> None:
    credentials = huma_credentials(outside)
    users = outside.world.huma["users"]
    leaving = [users[3]["id"], users[150]["id"]]
    group = outside.world.huma["groups"][0]["id"]
    churned = False

    def churn_after_the_second_page(stage: str, done: int, total: int) -> None:
        nonlocal churned
        if stage == "list" and done == 100 and not churned:
            churned = True
            with HumaClient(**credentials) as hr:
                for name in ("Aaron", "Zelda"):  # sorts before and after the current page
                    hr.create_user(
                        {
                            "email": f"{name.lower()}.new@example.no",
                            "givenName": name,
                            "familyName": "Newcomer",
                            "groups": [group],
                        }
                    )
            for user_id in leaving:
                outside.huma.call("DELETE", f"/users/{user_id}")

    outside.huma_settings(
        throttle_rate=0.2, error_rate=0.05, drop_rate=0.02, throttle_retry_after=1, seed=5
    )
    with HumaClient(**credentials) as client:
        scan = client.scan_users(progress=churn_after_the_second_page)
    outside.huma_settings(throttle_rate=0, error_rate=0, drop_rate=0)
    clean = huma_resource(**credentials).snapshot()

    faulty = _by_id(huma_users_frame(scan.details.values()))
    assert churned
    assert scan.complete
    assert scan.passes >= 2
    assert faulty == _by_id(clean.users)
    assert faulty == _expected(outside.huma.state())
    assert not set(leaving) & set(faulty)
    assert len(faulty) == len(users)  # two left, two came
    faults = [e["fault"] for e in outside.huma.requests() if e["fault"]]
    assert {"throttle", "error"} <= set(faults)


def test_an_update_changes_the_fields_sent_and_only_those(
    outside: Outside, huma_resource: Callable[..., HumaResource]
) -> None:
    user = outside.world.huma["users"][0]
    huma = huma_resource(**huma_credentials(outside))
    address = {
        "line1": "Kirkegata 1",
        "line2": "",
        "line3": "",
        "postalCode": "5003",
        "city": "Bergen",
        "country": "NO",
    }

    details = huma.update_user(huma_id=user["id"], changes={"homeAddress": address})

    assert details["homeAddress"]["value"]["city"] == "Bergen"
    stored = outside.huma.call("GET", f"/users/{user['id']}")
    assert stored["homeAddress"]["city"] == "Bergen"
    assert stored["givenName"] == user["givenName"]
    assert stored["phone"] == user["phone"]


def test_a_refused_update_carries_humas_code_and_fields(
    outside: Outside, huma_resource: Callable[..., HumaResource]
) -> None:
    first, second = outside.world.huma["users"][:2]
    huma = huma_resource(**huma_credentials(outside))

    with pytest.raises(HumaApiError) as refused:
        huma.update_user(huma_id=second["id"], changes={"phone": first["phone"]})

    assert refused.value.status == 400
    assert refused.value.code == "field:invalid-format"
    assert refused.value.fields == ("phone",)


def test_a_created_user_is_in_the_next_snapshot(
    outside: Outside, huma_resource: Callable[..., HumaResource]
) -> None:
    group = outside.world.huma["groups"][0]["id"]
    huma = huma_resource(**huma_credentials(outside))

    created = huma.create_user(
        user={
            "email": "Ny.Ansatt@example.no",
            "givenName": "Ny",
            "familyName": "Ansatt",
            "groups": [group],
        }
    )

    rows = _by_id(huma.snapshot().users)
    assert rows[created["id"]]["email_key"] == "ny.ansatt@example.no"


def test_a_write_whose_answer_is_lost_is_not_resent(outside: Outside) -> None:
    user = outside.world.huma["users"][0]
    outside.huma_settings(drop_rate=1.0, drop_phase="after")

    with (
        HumaClient(**huma_credentials(outside)) as client,
        pytest.raises(httpx.TransportError),
    ):
        client.update_user(user["id"], {"employmentId": "NEW-1"})

    patches = outside.huma.requests(method="PATCH")
    assert len(patches) == 1
    assert outside.huma.call("GET", f"/users/{user['id']}")["employmentId"] == "NEW-1"


def test_a_refused_key_says_what_to_do_without_the_secret(
    outside: Outside, huma_resource: Callable[..., HumaResource]
) -> None:
    credentials = huma_credentials(outside) | {
        "client_secret": "00000000-0000-4000-8000-000000000000"
    }

    with pytest.raises(AuthenticationError) as refused:
        huma_resource(**credentials).snapshot()

    text = str(refused.value)
    assert "HUMA_CLIENT_SECRET" in text
    assert refused.value.status == 401
    assert credentials["client_secret"] not in text
    assert huma_credentials(outside)["client_secret"] not in text

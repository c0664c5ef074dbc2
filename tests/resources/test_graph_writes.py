"""Graph writes through `$batch` against the emulator: exactly once, paced, with Graph's errors.

Pins: with answers shuffled and items throttled, every accepted change is applied exactly once
and lands on the right user; refused items come back with Graph's code and are sent once; a
refused hire date does not sink the rest of its PATCH; a duplicate create comes back as
`ObjectConflict`; with the write quota scaled down, 2,000 PATCHes finish with at most a handful
of 429s, each applied once.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from resources.graph_batch import GraphWrite
from tests.resources.conftest import Outside, graph_credentials


def _members(outside: Outside, *, synced: bool) -> list[dict[str, Any]]:
    """Enabled members, cloud-managed or synced from on-premises."""
    return [
        u
        for u in outside.tenant["users"]
        if u["userType"] == "Member"
        and u["accountEnabled"]
        and bool(u.get("onPremisesSyncEnabled")) == synced
    ]


def _applied_bodies(outside: Outside) -> Counter[tuple[str, str]]:
    """(user id, body) of every batch item the emulator answered 2xx."""
    applied: Counter[tuple[str, str]] = Counter()
    for entry in outside.entra.requests():
        if entry["parent"] is not None and entry["status"] and entry["status"] < 300:
            applied[(entry["path"].rsplit("/", 1)[-1], str(entry["body"]))] += 1
    return applied


def test_shuffled_throttled_batches_apply_each_change_once(outside, graph_resource) -> None:
    cloud = _members(outside, synced=False)[:36]
    synced = _members(outside, synced=True)[:2]
    writes = [
        GraphWrite(f"title-{u['id']}", "PATCH", f"/users/{u['id']}", {"jobTitle": f"Title {i}"})
        for i, u in enumerate(cloud[:34])
    ]
    writes += [
        GraphWrite(f"long-{u['id']}", "PATCH", f"/users/{u['id']}", {"employeeId": "X" * 17})
        for u in cloud[34:]
    ]
    writes += [
        GraphWrite(
            f"synced-{u['id']}", "PATCH", f"/users/{u['id']}", {"mobilePhone": "+4790000000"}
        )
        for u in synced
    ]
    outside.entra_settings(throttle_rate=0.3, throttle_retry_after=1, seed=9)

    outcomes = graph_resource(**graph_credentials(outside)).write(writes=writes)

    by_key = {o.key: o for o in outcomes}
    assert [o.key for o in outcomes] == [w.key for w in writes]
    assert all(by_key[w.key].ok for w in writes[:34])
    refused = [by_key[w.key] for w in writes[34:]]
    assert [(o.ok, o.status, o.code) for o in refused] == [(False, 400, "Request_BadRequest")] * 4
    assert "on-premises mastered" in refused[-1].message
    answered_400 = Counter(
        e["path"].rsplit("/", 1)[-1] for e in outside.entra.requests() if e["status"] == 400
    )
    assert answered_400 == Counter({u["id"]: 1 for u in [*cloud[34:], *synced]})
    applied = _applied_bodies(outside)
    for i, user in enumerate(cloud[:34]):
        assert applied[(user["id"], str({"jobTitle": f"Title {i}"}))] == 1
        stored = outside.entra.call("GET", f"/tenants/{outside.tenant['id']}/users/{user['id']}")
        assert stored["jobTitle"] == f"Title {i}"
    statuses = Counter(e["status"] for e in outside.entra.requests() if e["parent"] is not None)
    assert statuses[429] > 0  # the throttles really happened, and were retried


def test_a_refused_hire_date_does_not_sink_the_rest(outside, graph_resource) -> None:
    user = _members(outside, synced=False)[0]
    outside.entra.update_settings({"deny_app_only_hire_date_writes": True})
    write = GraphWrite(
        "c1",
        "PATCH",
        f"/users/{user['id']}",
        {"jobTitle": "Lead", "employeeHireDate": "2020-02-03T00:00:00Z"},
    )

    outcomes = graph_resource(**graph_credentials(outside)).write(writes=[write])

    assert [(o.key, o.ok, o.status) for o in outcomes] == [
        ("c1", True, 204),
        ("c1#employeeHireDate", False, 403),
    ]
    stored = outside.entra.call("GET", f"/tenants/{outside.tenant['id']}/users/{user['id']}")
    assert stored["jobTitle"] == "Lead"
    assert stored["employeeHireDate"] == user["employeeHireDate"]


def test_a_duplicate_create_is_an_object_conflict(outside, graph_resource) -> None:
    existing = _members(outside, synced=False)[0]
    body = {
        "accountEnabled": True,
        "displayName": "Dup Licate",
        "mailNickname": "dup",
        "userPrincipalName": existing["userPrincipalName"],
        "passwordProfile": {"password": "Xy7!long-enough", "forceChangePasswordNextSignIn": True},
    }

    [outcome] = graph_resource(**graph_credentials(outside)).write(
        writes=[GraphWrite("create-1", "POST", "/users", body)]
    )

    assert (outcome.ok, outcome.status, outcome.code) == (False, 400, "Request_BadRequest")
    assert "already exists" in outcome.message


def test_pacing_keeps_two_thousand_patches_within_the_write_quota(outside, graph_resource):
    # 300 writes per 150 emulated s, 150 times faster: 300 writes per real second.
    outside.entra.update_settings(
        {
            "time_scale": 150,
            "token_lifetime_seconds": 3599 * 150,
            "throttling": {"writes_per_150s": 300},
        }
    )
    users = _members(outside, synced=False)
    writes = [
        GraphWrite(
            f"c{i}", "PATCH", f"/users/{users[i % len(users)]['id']}", {"jobTitle": f"Paced {i}"}
        )
        for i in range(2000)
    ]
    resource = graph_resource(
        **graph_credentials(outside), writes_per_150s=300, write_window_seconds=1.0
    )

    outcomes = resource.write(writes=writes)

    assert all(o.ok for o in outcomes)
    items = [e for e in outside.entra.requests() if e["parent"] is not None]
    assert sum(e["status"] == 429 for e in items) <= 5
    applied = Counter(e["body"]["jobTitle"] for e in items if e["status"] == 204)
    assert set(applied.values()) == {1}
    assert len(applied) == 2000

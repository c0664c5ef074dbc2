"""The Huma snapshot reads each answer as it arrives and keeps no decoded payload.

Pins: the snapshot read on arrival (`HumaResource.snapshot`) has exactly the frame, the listing of
unreadable values and the raw payloads that reading the scan's decoded payloads afterwards gives,
also when a pass is not consistent (a user read in it left before the accepted pass, another came,
the order changed), with an answer that is not JSON, a value that cannot be read and an id that
may not be requested; the scan keeps only what `keep` makes of each answer, for the accepted
pass's users; and it never has more reads submitted than it lets run ahead.
"""

from __future__ import annotations

import concurrent.futures
import threading
import uuid
from typing import Any

import httpx
import pytest
from polars.testing import assert_frame_equal

from resources.huma import HumaResource
from resources.huma_client import HumaClient, _in_order
from resources.huma_snapshot import read_huma_users
from resources.snapshot_reading import raw_frame
from tests.resources.test_ids_never_steer import _details

_UNREQUESTABLE = "a?x#"


class _FakeHuma:
    """A Huma whose list changes between the first and the second pass when `churn`: the first
    pass's pages disagree on the total, one user read in it is gone from the second, and a new
    one comes first."""

    def __init__(self, *, churn: bool) -> None:
        self.people = [str(uuid.UUID(int=n + 1)) for n in range(70)]
        self.not_json = self.people[5]
        self.bad_email = self.people[60]
        self.leaving, self.coming = self.people[10], str(uuid.UUID(int=999))
        self.churn = churn
        self.pages = 0
        self._lock = threading.Lock()

    def listed(self) -> list[str]:
        second_pass = self.churn and self.pages > 2
        people = [self.coming, *self.people] if second_pass else list(self.people)
        if second_pass:
            people.remove(self.leaving)
        return [*people[:30], _UNREQUESTABLE, *people[30:]]

    def answer(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/auth/oauth/token":
            return httpx.Response(200, json={"access_token": "t", "expires_in": 3600})
        if path == "/users":
            with self._lock:
                self.pages += 1
                listed = self.listed()
                offset = int(request.url.params["offset"])
                total = len(listed) + (1 if self.churn and self.pages == 1 else 0)
            items = [
                {"id": i, "email": f"{n}@x.test", "givenName": "Eve", "familyName": "Listed"}
                for n, i in enumerate(listed[offset : offset + 50])
            ]
            return httpx.Response(200, json={"total": total, "items": items})
        user_id = path.removeprefix("/users/")
        if user_id == self.not_json:
            return httpx.Response(200, content=b"<html>not the details</html>")
        details = _details(user_id)
        if user_id == self.bad_email:
            details["email"] = {"value": 42, "editable": True}
        return httpx.Response(200, json=details)


def _client(huma: _FakeHuma) -> HumaClient:
    return HumaClient(
        base_url="https://huma.test",
        client_id="id",
        client_secret="secret",
        max_concurrency=4,
        transport=httpx.MockTransport(huma.answer),
    )


@pytest.mark.parametrize("churn", [False, True])
def test_reading_on_arrival_equals_reading_the_kept_payloads(churn: bool) -> None:
    with _client(_FakeHuma(churn=churn)) as client:
        kept = client.scan_users()
    before = read_huma_users(kept.details.items(), ["phone"])

    huma = _FakeHuma(churn=churn)
    resource = HumaResource(
        base_url="https://huma.test",
        client_id="id",
        client_secret="secret",
        optional_fields=["phone"],
    )
    resource._client = _client(huma)
    try:
        snapshot = resource.snapshot()
    finally:
        resource.close()

    assert kept.complete
    assert snapshot.complete
    assert kept.passes == (2 if churn else 1)
    assert_frame_equal(snapshot.users, before.users)
    assert_frame_equal(snapshot.unreadable, before.unreadable)
    assert_frame_equal(
        snapshot.raw.frame(), raw_frame("huma_id", kept.details.keys(), kept.details.values())
    )
    assert snapshot.users["huma_id"].to_list() == huma.listed()
    problems = set(zip(snapshot.unreadable["user_id"], snapshot.unreadable["field"], strict=True))
    assert {(huma.not_json, "payload"), (huma.bad_email, "email")} <= problems
    assert _UNREQUESTABLE in snapshot.unreadable["user_id"].to_list()
    assert (huma.leaving in snapshot.users["huma_id"].to_list()) is not churn


def test_the_scan_keeps_what_keep_makes_of_each_answer_for_the_accepted_users() -> None:
    huma = _FakeHuma(churn=True)
    seen: list[str] = []

    def keep(user_id: str, payload: Any) -> str:
        seen.append(user_id)
        return f"kept {user_id}"

    with _client(huma) as client:
        scan = client.scan_users(keep=keep)

    assert scan.complete
    assert scan.details == {i: f"kept {i}" for i in huma.listed()}
    assert huma.leaving in seen  # read in the first pass, let go with it
    assert seen.count(_UNREQUESTABLE) == 2  # its list entry, once per pass


def test_reads_are_submitted_only_so_far_ahead_and_come_back_in_order() -> None:
    submitted = 0
    handed_on = 0
    ahead_seen: list[int] = []

    class Counting(concurrent.futures.ThreadPoolExecutor):
        def submit(self, fn, /, *args, **kwargs):  # type: ignore[override]
            nonlocal submitted
            submitted += 1
            return super().submit(fn, *args, **kwargs)

    items = [str(n) for n in range(200)]
    with Counting(4) as pool:
        results = []
        for result in _in_order(pool, lambda item: f"read {item}", items, 8):
            handed_on += 1
            ahead_seen.append(submitted - handed_on)
            results.append(result)

    assert results == [f"read {item}" for item in items]
    assert max(ahead_seen) == 8


def test_a_failed_read_stops_the_reads_not_yet_under_way() -> None:
    started: list[str] = []

    def read(item: str) -> str:
        started.append(item)
        if item == "3":
            raise RuntimeError("Huma failed")
        return item

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        results = _in_order(pool, read, [str(n) for n in range(100)], 4)
        assert [next(results) for _ in range(3)] == ["0", "1", "2"]
        with pytest.raises(RuntimeError, match="Huma failed"):
            next(results)
    assert len(started) <= 3 + 4 + 1

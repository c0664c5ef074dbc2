"""Edge cases of the `$batch` executor that are hard to stage on a server, with a fake Graph.

Pins: answers are matched by id whatever their order; only 429/503/424 items are resent (a 504 is
re-read first), after the longest `Retry-After` (one longer than the retry policy's ceiling ends
their retries); other errors come back as failures with Graph's code, sent once; a batch whose
answer was lost is settled by re-reading, so an applied change is never sent again and an unapplied
one is sent once more; batches never exceed 20 requests; a hire date travels alone.
"""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import httpx
import orjson
import pytest

from resources.graph_batch import BatchExecutor, GraphWrite, split_hire_date
from resources.graph_client import GraphClient
from resources.graph_pacing import GraphPacer


class FakeTokens:
    def token(self) -> str:
        return "token"

    def forget(self, token: str) -> None:
        pass


class FakeGraph:
    """Users as dicts; `script[user] = [status, ...]` answers that user's writes in turn."""

    def __init__(self, users: int) -> None:
        self.users = {f"u{i}": {"id": f"u{i}", "jobTitle": None} for i in range(users)}
        self.script: dict[str, list[Any]] = {}
        self.applied: Counter[str] = Counter()
        self.batch_sizes: list[int] = []
        self.lose_next_batch: str | None = None  # "before" or "after" applying
        self.random = random.Random(3)

    def handler(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            user = self.users.get(request.url.path.rsplit("/", 1)[-1])
            return httpx.Response(200, json=user) if user else httpx.Response(404, json={})
        requests = orjson.loads(request.content)["requests"]
        self.batch_sizes.append(len(requests))
        lose, self.lose_next_batch = self.lose_next_batch, None
        if lose == "before":
            raise httpx.RemoteProtocolError("peer closed connection")
        responses = [self._answer(item) for item in requests]
        if lose == "after":
            raise httpx.RemoteProtocolError("peer closed connection")
        self.random.shuffle(responses)
        return httpx.Response(200, json={"responses": responses})

    def _answer(self, item: dict[str, Any]) -> dict[str, Any]:
        user_id = item["url"].rsplit("/", 1)[-1]
        status, headers = 204, {}
        if self.script.get(user_id):
            status = self.script[user_id].pop(0)
            if isinstance(status, tuple):
                status, headers = status
        if status == 204:
            self.users[user_id].update(item["body"])
            self.applied[user_id] += 1
            return {"id": item["id"], "status": 204, "headers": {}}
        code = {400: "Request_BadRequest", 429: "TooManyRequests"}.get(status, "Other")
        body = {
            "error": {
                "code": code,
                "message": f"fake {status}",
                "innerError": {"request-id": f"req-{user_id}"},
            }
        }
        return {"id": item["id"], "status": status, "headers": headers, "body": body}


@pytest.fixture
def graph() -> FakeGraph:
    return FakeGraph(users=50)


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def executor(graph: FakeGraph, sleeps: list[float]) -> BatchExecutor:
    clock = [0.0]

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock[0] += seconds

    pacer = GraphPacer(clock=lambda: clock[0], sleep=sleep)
    client = GraphClient(
        tokens=FakeTokens(),
        base_url="https://graph.test/v1.0",
        pacer=pacer,
        transport=httpx.MockTransport(graph.handler),
        sleep=sleep,
    )
    return BatchExecutor(client)


def _writes(count: int) -> list[GraphWrite]:
    return [
        GraphWrite(f"change-{i}", "PATCH", f"/users/u{i}", {"jobTitle": f"Title {i}"})
        for i in range(count)
    ]


def test_shuffled_answers_throttles_and_refusals(graph, executor, sleeps) -> None:
    graph.script = {
        "u1": [(429, {"Retry-After": "3"}), 204],
        "u2": [(503, {"Retry-After": "7"}), (429, {"Retry-After": "1"}), 204],
        "u3": [400],
        "u4": [(504, {}), 204],
        "u5": [424, 204],
    }

    outcomes = executor.run(_writes(10))

    assert [o.key for o in outcomes] == [f"change-{i}" for i in range(10)]
    assert all(graph.applied[f"u{i}"] == 1 for i in range(10) if i != 3)
    assert graph.applied["u3"] == 0
    refused = outcomes[3]
    assert (refused.ok, refused.status, refused.code, refused.attempts) == (
        False,
        400,
        "Request_BadRequest",
        1,
    )
    assert refused.request_id == "req-u3"
    assert [o.attempts for o in outcomes[1:3]] == [2, 3]
    assert all(o.ok for i, o in enumerate(outcomes) if i != 3)
    assert 7.0 in sleeps  # the longest Retry-After of the first round


def test_batches_hold_at_most_twenty_requests(graph, executor) -> None:
    executor.run(_writes(45))

    assert graph.batch_sizes == [20, 20, 5]


@pytest.mark.parametrize(
    ("phase", "sent_again"),
    [
        pytest.param("after", False, id="applied-then-lost"),
        pytest.param("before", True, id="lost-before-applying"),
    ],
)
def test_a_lost_answer_is_settled_by_reading_the_targets(
    graph, executor, phase: str, sent_again: bool
) -> None:
    graph.lose_next_batch = phase

    outcomes = executor.run(_writes(5))

    assert all(o.ok for o in outcomes)
    assert all(graph.applied[f"u{i}"] == 1 for i in range(5))
    assert all(o.verified != sent_again for o in outcomes)
    assert len(graph.batch_sizes) == (2 if sent_again else 1)


def test_an_item_that_never_gets_through_is_reported_not_retried_forever(graph, executor) -> None:
    graph.script = {"u0": [(429, {"Retry-After": "1"})] * 20}

    [outcome] = executor.run(_writes(1))

    assert not outcome.ok
    assert outcome.status == 429
    assert outcome.attempts == 8
    assert "gave up after 8 attempts" in outcome.message


def test_the_hire_date_travels_alone() -> None:
    write = GraphWrite(
        "c1", "PATCH", "/users/u1", {"jobTitle": "Lead", "employeeHireDate": "2019-03-01T00:00:00Z"}
    )

    parts = split_hire_date(write)

    assert [(p.key, dict(p.body)) for p in parts] == [
        ("c1", {"jobTitle": "Lead"}),
        ("c1#employeeHireDate", {"employeeHireDate": "2019-03-01T00:00:00Z"}),
    ]
    only_hire = GraphWrite("c2", "PATCH", "/users/u1", {"employeeHireDate": "2019-03-01T00:00:00Z"})
    assert split_hire_date(only_hire) == [only_hire]


def test_write_keys_must_be_distinct(executor) -> None:
    with pytest.raises(ValueError, match="distinct key"):
        executor.run(_writes(2) + _writes(1))


def test_a_retry_after_beyond_the_policys_ceiling_ends_the_items_retries(graph, executor) -> None:
    graph.script = {"u0": [(429, {"Retry-After": "3600"}), 204]}

    [outcome] = executor.run(_writes(1))

    assert (outcome.ok, outcome.attempts, graph.applied["u0"]) == (False, 1, 0)
    assert "asked to wait 3600 s" in outcome.message

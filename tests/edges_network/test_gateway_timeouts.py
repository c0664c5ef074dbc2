"""A write answered 504 is settled by re-reading, never sent again blind.

A 504 is a gateway's word that it stopped waiting for the service: the service may have carried
the write out. Pins: a Huma PATCH that Huma applied behind a 504 is found applied by re-reading
and sent once; a `$batch` item answered 504 after Graph applied it is found applied and not sent
again, and one Graph did not apply is sent once more after the re-read; a whole `$batch` answered
504 after Graph applied it is settled the same way, and so is a `$batch` whose answer cannot be
read (not JSON, or not the shape of one), which ends no run, as a Huma write answered 2xx with a
body that is not JSON ends none either (re-read, found applied); a read answered 504 is still
simply retried.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import orjson
import pytest

from assets.apply.huma_apply import apply_huma
from assets.apply.writes import PlannedWrite
from resources.graph_batch import BatchExecutor, GraphWrite
from resources.graph_client import GraphClient
from resources.graph_pacing import GraphPacer
from resources.huma_client import HumaClient
from resources.retrying import RetryPolicy

USER = "0b6f7d2c-6d8e-4f5a-9a53-3c1c8f2e0a11"
NO_WAIT = RetryPolicy(base_delay=0.0, max_delay=0.0)


class HumaBehindGateway:
    """Huma's token, user and PATCH endpoints; the first PATCH is applied, then answered 504."""

    def __init__(self) -> None:
        self.user: dict[str, Any] = {
            "id": USER,
            "email": {"editable": False, "value": "ada@example.no"},
            "jobTitle": {"editable": True, "value": "Analyst"},
        }
        self.patches = 0

    def handler(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/auth/oauth/token":
            return httpx.Response(200, json={"access_token": "tok", "expires_in": 3600})
        if request.method == "GET":
            return httpx.Response(200, json=self.user)
        self.patches += 1
        for prop, value in orjson.loads(request.content).items():
            self.user[prop] = {"editable": True, "value": value}
        if self.patches == 1:
            return httpx.Response(504, text="upstream timed out")
        return httpx.Response(200, json=self.user)


class Resource:
    """The two methods of `HumaResource` the apply step uses, over one client."""

    def __init__(self, client: HumaClient) -> None:
        self._client = client

    def client(self) -> HumaClient:
        return self._client

    def update_user(self, *, huma_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        return self._client.update_user(huma_id, changes)


def _huma_client(handler: Callable[[httpx.Request], httpx.Response]) -> HumaClient:
    return HumaClient(
        base_url="https://huma.test",
        client_id="id",
        client_secret="secret",
        retry=NO_WAIT,
        sleep=lambda _: None,
        transport=httpx.MockTransport(handler),
    )


def test_a_huma_write_answered_504_is_re_read_not_resent() -> None:
    huma = HumaBehindGateway()
    client = _huma_client(huma.handler)
    write = PlannedWrite("change-1", "huma", "patch", USER, {"jobTitle": "Engineer"})

    with client:
        [result] = apply_huma(Resource(client), [write])  # type: ignore[arg-type]

    assert huma.patches == 1
    assert result.status == "applied"
    assert "found the change applied" in (result.note or "")


class GraphBehindGateway:
    """Users as dicts; writes to a user in `applied_then_504` are carried out and answered 504
    (in the item), to one in `refused_504` answered 504 without being carried out; with
    `whole_batch_504` the batch is carried out and the whole answer is a 504."""

    def __init__(self) -> None:
        self.users = {f"u{i}": {"id": f"u{i}", "jobTitle": None} for i in range(4)}
        self.applied_then_504: set[str] = set()
        self.refused_504: set[str] = set()
        self.whole_batch_504 = False
        self.sent: Counter[str] = Counter()

    def handler(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            user = self.users.get(request.url.path.rsplit("/", 1)[-1])
            return httpx.Response(200, json=user) if user else httpx.Response(404, json={})
        answers = [self._answer(item) for item in orjson.loads(request.content)["requests"]]
        if self.whole_batch_504:
            self.whole_batch_504 = False
            return httpx.Response(504, text="gateway timeout")
        return httpx.Response(200, json={"responses": answers})

    def _answer(self, item: dict[str, Any]) -> dict[str, Any]:
        user = item["url"].rsplit("/", 1)[-1]
        self.sent[user] += 1
        if user in self.refused_504:
            self.refused_504.discard(user)
            return {"id": item["id"], "status": 504, "body": {"error": {"code": "Timeout"}}}
        self.users[user].update(item["body"])
        if user in self.applied_then_504:
            self.applied_then_504.discard(user)
            return {"id": item["id"], "status": 504, "body": {"error": {"code": "Timeout"}}}
        return {"id": item["id"], "status": 204}


def _executor(
    graph: GraphBehindGateway, handler: Callable[[httpx.Request], httpx.Response] | None = None
) -> BatchExecutor:
    clock = [0.0]

    def sleep(seconds: float) -> None:
        clock[0] += seconds

    client = GraphClient(
        tokens=_Tokens(),
        base_url="https://graph.test/v1.0",
        pacer=GraphPacer(clock=lambda: clock[0], sleep=sleep),
        transport=httpx.MockTransport(handler or graph.handler),
        sleep=sleep,
    )
    return BatchExecutor(client)


class _Tokens:
    def token(self) -> str:
        return "token"

    def forget(self, token: str) -> None:
        pass


def _writes() -> list[GraphWrite]:
    return [GraphWrite(f"c{i}", "PATCH", f"/users/u{i}", {"jobTitle": f"T{i}"}) for i in range(4)]


def test_a_batch_item_answered_504_is_re_read_not_resent() -> None:
    graph = GraphBehindGateway()
    graph.applied_then_504 = {"u1"}
    graph.refused_504 = {"u2"}

    outcomes = _executor(graph).run(_writes())

    assert all(o.ok for o in outcomes)
    assert graph.sent == Counter({"u0": 1, "u1": 1, "u2": 2, "u3": 1})
    assert outcomes[1].verified
    assert {u["jobTitle"] for u in graph.users.values()} == {"T0", "T1", "T2", "T3"}


def test_a_whole_batch_answered_504_is_re_read_not_resent() -> None:
    graph = GraphBehindGateway()
    graph.whole_batch_504 = True

    outcomes = _executor(graph).run(_writes())

    assert all(o.ok and o.verified for o in outcomes)
    assert graph.sent == Counter({"u0": 1, "u1": 1, "u2": 1, "u3": 1})


#: `$batch` answers a broken proxy could make of Graph's.
UNREADABLE_BATCH_ANSWERS = [
    pytest.param(b"<html>proxy error</html>", id="not-json"),
    pytest.param(b'{"responses": 5}', id="responses-not-a-list"),
    pytest.param(b'{"responses": [5, "x"]}', id="items-not-objects"),
    pytest.param(b'{"responses": [{"id": "1", "status": "done"}]}', id="status-not-a-number"),
]


@pytest.mark.parametrize("answer", UNREADABLE_BATCH_ANSWERS)
def test_a_batch_answer_that_cannot_be_read_is_settled_by_re_reading(answer: bytes) -> None:
    graph = GraphBehindGateway()
    unreadable = [answer]

    def broken(request: httpx.Request) -> httpx.Response:
        response = graph.handler(request)  # Graph carries the batch out
        if request.method == "POST" and unreadable:
            return httpx.Response(200, content=unreadable.pop())  # a proxy mangles its answer
        return response

    outcomes = _executor(graph, broken).run(_writes())

    assert all(o.ok and o.verified for o in outcomes)
    assert graph.sent == Counter({"u0": 1, "u1": 1, "u2": 1, "u3": 1})


def test_a_huma_write_answered_2xx_unreadably_is_re_read_and_ends_no_run() -> None:
    huma = HumaBehindGateway()
    handler = huma.handler

    def mangled(request: httpx.Request) -> httpx.Response:
        response = handler(request)
        if request.method == "PATCH":  # carried out; a proxy mangles the answer
            return httpx.Response(200, content=b"<html>ok</html>")
        return response

    client = _huma_client(mangled)
    write = PlannedWrite("change-1", "huma", "patch", USER, {"jobTitle": "Engineer"})

    with client:
        [result] = apply_huma(Resource(client), [write])  # type: ignore[arg-type]

    assert huma.patches == 1
    assert result.status == "applied"

"""Credentials go only to the configured origin, and paging ends (SPEC §12).

Pins: an `@odata.nextLink` or a redirect naming another origin (host, port or scheme) stops the
read with a clear error, and not one request goes there (nor MSAL's to a token endpoint on
another origin); a link on the configured origin is followed; a link that repeats, or more
pages than the first page announced, stop the read; Huma's offset paging stops when its `total`
is absurd or its pages stop bringing new users; a client configured with a URL that is not
`https` refuses it before sending anything.

A fake outside world (`httpx.MockTransport`) answers every request the client sends, whatever
host it names, so the tests see everything that left the client.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from resources.entra_msal import MsalHttpClient
from resources.errors import UntrustedAnswer
from resources.graph_auth import GraphTokenProvider
from resources.graph_client import GraphClient
from resources.graph_pacing import GraphPacer
from resources.graph_user_auth import DelegatedTokenProvider
from resources.http import InsecureUrl
from resources.huma_client import HumaClient

GRAPH = "https://graph.test/v1.0"
HUMA = "https://huma.test"


class World:
    """Records every request; `answer(request)` decides what comes back."""

    def __init__(self, answer: Callable[[httpx.Request], httpx.Response]) -> None:
        self.answer = answer
        self.requests: list[httpx.Request] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answer(request)

    def hosts(self) -> set[tuple[str, str, int | None]]:
        return {(r.url.scheme, r.url.host, r.url.port) for r in self.requests}

    def list_requests(self) -> int:
        return sum(1 for r in self.requests if r.url.path.endswith("/users"))


class CountingTokens:
    def __init__(self) -> None:
        self.issued = 0

    def token(self) -> str:
        self.issued += 1
        return f"token-{self.issued}"

    def forget(self, token: str) -> None:
        pass


def _graph(world: World) -> GraphClient:
    no_wait = GraphPacer(clock=lambda: 0.0, sleep=lambda _: None)
    return GraphClient(
        tokens=CountingTokens(),
        base_url=GRAPH,
        pacer=no_wait,
        transport=httpx.MockTransport(world.handler),
        sleep=lambda _: None,
    )


def _user() -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "userPrincipalName": f"{uuid.uuid4().hex[:8]}@x.test"}


def _page(users: int, next_link: str | None = None, count: int | None = None) -> httpx.Response:
    body: dict[str, Any] = {"value": [_user() for _ in range(users)]}
    if next_link:
        body["@odata.nextLink"] = next_link
    if count is not None:
        body["@odata.count"] = count
    return httpx.Response(200, json=body)


@pytest.mark.parametrize(
    "elsewhere",
    [
        pytest.param("http://elsewhere:8080/v1.0/users?$skiptoken=2", id="other-host-in-clear"),
        pytest.param("https://elsewhere.test/v1.0/users?$skiptoken=2", id="other-host"),
        pytest.param("https://graph.test:8443/v1.0/users?$skiptoken=2", id="other-port"),
        pytest.param("http://graph.test/v1.0/users?$skiptoken=2", id="other-scheme"),
    ],
)
def test_a_next_link_to_another_origin_is_never_followed(elsewhere: str) -> None:
    world = World(lambda request: _page(2, elsewhere, count=4))

    with _graph(world) as client, pytest.raises(UntrustedAnswer) as stopped:
        list(itertools.islice(client.user_pages(page_size=2), 50))

    assert world.hosts() == {("https", "graph.test", None)}
    assert len(world.requests) == 1
    assert "another origin" in str(stopped.value)
    assert stopped.value.service == "graph"


def test_a_next_link_on_the_configured_origin_is_followed() -> None:
    answers = iter([_page(2, f"{GRAPH}/users?$skiptoken=2", count=3), _page(1)])
    world = World(lambda request: next(answers))

    with _graph(world) as client:
        pages = list(client.user_pages(page_size=2))

    assert [len(p.users) for p in pages] == [2, 1]
    assert len(world.requests) == 2


def test_a_next_link_that_repeats_stops_the_read() -> None:
    looping = f"{GRAPH}/users?$skiptoken=same"
    world = World(lambda request: _page(2, looping, count=40))

    with _graph(world) as client, pytest.raises(UntrustedAnswer, match="already"):
        list(itertools.islice(client.user_pages(page_size=2), 50))

    assert len(world.requests) == 2


def test_no_more_pages_are_read_than_the_first_page_announced_allows() -> None:
    fresh = (f"{GRAPH}/users?$skiptoken={n}" for n in itertools.count())
    announced = 6  # three pages of two
    world = World(lambda request: _page(2, next(fresh), count=announced))

    with _graph(world) as client, pytest.raises(UntrustedAnswer, match="announced"):
        list(itertools.islice(client.user_pages(page_size=2), 50))

    assert 3 < len(world.requests) < 30


def test_a_redirect_to_another_origin_is_not_followed() -> None:
    def redirect(request: httpx.Request) -> httpx.Response:
        if request.url.host == "graph.test":
            return httpx.Response(307, headers={"Location": "https://elsewhere.test/v1.0/users"})
        return _page(1)

    world = World(redirect)

    with _graph(world) as client, pytest.raises(UntrustedAnswer, match="redirect"):
        list(client.user_pages())

    assert world.hosts() == {("https", "graph.test", None)}


# -- Huma's offset paging ------------------------------------------------------------------------


def _huma(world: World) -> HumaClient:
    return HumaClient(
        base_url=HUMA,
        client_id="id",
        client_secret="secret",
        max_passes=2,
        sleep=lambda _: None,
        transport=httpx.MockTransport(world.handler),
    )


def _huma_world(list_page: Callable[[int, int], dict[str, Any]], budget: int = 60) -> World:
    """A Huma whose list answers `list_page(offset, number)`; after `budget` list requests it
    answers empty pages, so a client without bounds ends instead of hanging the test."""
    served = itertools.count(1)

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/auth/oauth/token":
            return httpx.Response(200, json={"access_token": "t", "expires_in": 3600})
        if request.url.path == "/users":
            number = next(served)
            if number > budget:
                return httpx.Response(200, json={"total": 0, "items": []})
            return httpx.Response(200, json=list_page(int(request.url.params["offset"]), number))
        return httpx.Response(404, json={"errorCode": "object:not-found"})

    return World(answer)


def _items(count: int) -> list[dict[str, Any]]:
    return [{"id": str(uuid.uuid4())} for _ in range(count)]


def test_an_absurd_total_stops_the_huma_scan() -> None:
    world = _huma_world(lambda offset, number: {"total": 2**31 - 1, "items": _items(50)})

    with _huma(world) as client, pytest.raises(UntrustedAnswer, match="total"):
        client.scan_users()

    assert world.list_requests() == 1


def test_huma_pages_that_bring_no_new_users_stop_the_scan() -> None:
    same = _items(50)
    world = _huma_world(lambda offset, number: {"total": 5000, "items": same})

    with _huma(world) as client, pytest.raises(UntrustedAnswer, match="advanc"):
        client.scan_users()

    assert world.list_requests() == 2


def test_a_huma_redirect_to_another_origin_sends_nothing_there() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.host != "huma.test":
            return httpx.Response(200, json={"access_token": "stolen", "expires_in": 3600})
        return httpx.Response(308, headers={"Location": "https://elsewhere.test/auth/oauth/token"})

    world = World(answer)

    with _huma(world) as client, pytest.raises(UntrustedAnswer, match="redirect"):
        client.scan_users()

    assert {r.url.host for r in world.requests} == {"huma.test"}


# -- configured URLs -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(
            lambda transport: HumaClient(
                base_url="http://huma.test",
                client_id="id",
                client_secret="secret",
                transport=transport,
            ),
            id="huma",
        ),
        pytest.param(
            lambda transport: GraphClient(
                tokens=CountingTokens(), base_url="http://graph.test/v1.0", transport=transport
            ),
            id="graph",
        ),
        pytest.param(
            lambda transport: GraphTokenProvider(
                tenant_id="t", client_id="c", client_secret="s", authority_host="http://login.test"
            ),
            id="entra-authority",
        ),
        pytest.param(
            lambda transport: DelegatedTokenProvider(
                tenant_id="t",
                client_id="c",
                cache_path="/nonexistent/cache.json",
                authority_host="http://login.test",
            ),
            id="entra-authority-user-account",
        ),
    ],
)
def test_a_client_refuses_a_url_in_clear_before_sending_anything(make) -> None:
    world = World(lambda request: httpx.Response(200, json={}))

    with pytest.raises(InsecureUrl, match="must be an https:// URL"):
        make(httpx.MockTransport(world.handler))

    assert world.requests == []


def test_msal_sends_the_client_secret_only_to_the_configured_authority() -> None:
    # MSAL posts the secret to the token endpoint the authority's discovery document names.
    msal_http = MsalHttpClient(5.0, "https://login.test")
    try:
        with pytest.raises(UntrustedAnswer, match="another origin"):
            msal_http.post(
                "https://elsewhere.test/tenant/oauth2/v2.0/token", data={"client_secret": "s"}
            )
        with pytest.raises(UntrustedAnswer, match="another origin"):
            msal_http.get("http://login.test/tenant/v2.0/.well-known/openid-configuration")
    finally:
        msal_http.close()

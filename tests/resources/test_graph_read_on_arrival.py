"""The Entra snapshot read a page at a time as the pages arrive gives what reading every decoded
user at the end gave: the same frame, listing of unreadable values and raw texts.

Pins: on the same pages (served as JSON through the real client, or handed to
`EntraUsersOnArrival` directly; written compactly without escapes as Graph writes them, which
Polars reads straight into columns, or with spaces and escapes, read user by user), the frame,
the listing and the raw payloads equal those of `read_entra_users` and `raw_frame` over every
user as the standard library's `json` decodes them, for plain pages, pages with odd or
unreadable values (numbers beyond 64 bits, lone surrogates, NUL, control characters, blanks,
whitespace of every kind, huge text, wrong types, missing, extra or repeated properties, objects
that are not users), the manager (absent, null, an object, an unreadable one), with and without
optional fields; a plain page written compactly is read by Polars; a paging that fails part-way
gives no snapshot at all; a page's users are not held once it is read.
"""

from __future__ import annotations

import gc
import json
from typing import Any

import httpx
import orjson
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from resources.errors import UntrustedAnswer
from resources.graph import EntraSnapshot, GraphResource
from resources.graph_client import GraphApiError, GraphClient, user_select
from resources.graph_plain_page import PlainPages
from resources.graph_snapshot import EntraUsersOnArrival, read_entra_users
from resources.snapshot_reading import raw_frame
from tests.resources.test_graph_batch_edges import FakeTokens
from tests.resources.test_snapshot_frames import _DROP, _graph_user

_BASE = "https://graph.test/v1.0"
_ALL_FIELDS = ("manager", "department", "display_name", "office")


def _id(n: int) -> str:
    return f"0f6e7c1a-0000-4000-8000-{n:012d}"


def _user(n: int, fields: tuple[str, ...] = (), **overrides: Any) -> dict[str, Any]:
    """A plain user as Graph answers the product's `$select` (with `fields`' properties)."""
    user = _graph_user(id=_id(n))
    for prop in user_select(fields):
        user.setdefault(prop, None)
    if "manager" in fields:
        user["manager"] = {"@odata.type": "#microsoft.graph.user", "id": _id(n + 1000)}
    user.update(overrides)
    return {k: v for k, v in user.items() if v is not _DROP}


#: Users that are not plain, each in its own way (a page holding one is read user by user).
_ODD: list[dict[str, Any]] = [
    {"givenName": 7},
    {"employeeId": 10**30},
    {"mobilePhone": -(10**25)},
    {"jobTitle": 1.5},
    {"surname": "\ud800"},
    {"city": "  Bergen \u00a0"},
    {"mobilePhone": ""},
    {"mail": None, "userPrincipalName": " Sa@Fjordline.NO "},
    {"employeeHireDate": "2019-02-30"},
    {"employeeHireDate": "2019-03-01"},
    {"employeeHireDate": ""},
    {"accountEnabled": "false"},
    {"onPremisesSyncEnabled": True},
    {"userType": ["Member"]},
    {"id": "not-a-guid"},
    {"id": _DROP},
    {"surname": _DROP},
    {"extra": {"nested": [1, 2**70]}},
    {"manager": None},
    {"manager": _DROP},
    {"manager": {"id": "not-a-guid"}},
    {"manager": "0f6e7c1a-0000-4000-8000-000000000001"},
    {"manager": {"id": _id(5), "n": 2**70}},
]


#: Users whose odd values a page written compactly without escapes can hold (see `_compact`).
_ODD_IN_PLAIN_SIGHT: list[dict[str, Any]] = [
    {"givenName": True},
    {"givenName": {"x": "y"}},
    {"givenName": ["Ida"]},
    {"accountEnabled": 1},
    {"accountEnabled": None, "onPremisesSyncEnabled": False},
    {"surname": "x" * 100_000},
    {"surname": "\u3000Haugen\u2028", "city": "\u00a0", "jobTitle": "\x85CTO\u205f"},
    {"givenName": "Åse\u2009", "surname": "Ødegård"},
    {"mail": "ÅSE@Fjordline.NO"},
    {"mail": None, "userPrincipalName": "STRASSE@Fjordline.NO"},
    {"mail": "Straße@fjordline.no"},
    {"employeeHireDate": "2019-03-01"},
    {"employeeHireDate": "2019-03-01T00:00:00Z"},
    {"employeeHireDate": "2019-03-01T05:00:00-05:00"},
    {"employeeHireDate": "2019-02-30T00:00:00Z"},
    {"employeeHireDate": "\uff12\uff10\uff11\uff19-03-01"},  # full-width digits
    {"employeeHireDate": " "},
    {"employeeHireDate": "2019-03-01T99:99"},
    {"city": "Ber\x00gen"},
    {"surname": "\x1cHaugen\x1f", "jobTitle": 'CTO "acting"\n'},
    {"id": "0F6E7C1A-0000-4000-8000-00000000000A"},
    {"id": "0f6e7c1a-0000-4000-8000-0000000000001"},
    {"id": None},
    {"value": [1]},
    {"givenName": "value", "surname": '"value":['},
    {"manager": {"id": _id(7)}},
    {"manager": {"id": _id(7), "@odata.type": "#microsoft.graph.user"}},
    {"manager": {"@odata.type": "#microsoft.graph.user"}},
    {"manager": {"@odata.type": None, "id": _id(7)}},
    {"manager": {"@odata.type": "#microsoft.graph.user", "id": None}},
]


def _pages(fields: tuple[str, ...]) -> list[list[Any]]:
    """Plain pages, pages with one odd user each, an empty page, and a page of non-users."""
    plain = [[_user(p * 10 + n, fields) for n in range(4)] for p in range(3)]
    odd = [[_user(100 + i, fields), _user(200 + i, fields, **odd)] for i, odd in enumerate(_ODD)]
    trimmed = [[_user(300, fields, surname=" Haugen ", mobilePhone="  ", jobTitle="CTO")]]
    seen = [
        [_user(400 + i, fields), _user(500 + i, fields, **odd)]
        for i, odd in enumerate(_ODD_IN_PLAIN_SIGHT)
    ]
    reordered = [[dict(reversed(_user(600 + n, fields).items())) for n in range(3)]]
    among_users = [[_user(700, fields), None, _user(701, fields)], [_user(702, fields), "x"]]
    return [*plain, *odd, *trimmed, *seen, *reordered, *among_users, [], ["not a user", None, 42]]


def _compact(body: Any) -> bytes:
    """`body` written as Graph writes it: no spaces, text as is (escaped only where JSON must:
    quotes, backslashes, control characters, lone surrogates)."""
    text = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8", "backslashreplace")


def _spaced(body: Any) -> bytes:
    """`body` as the standard library writes it by default: spaces, non-ASCII text escaped."""
    return json.dumps(body).encode()


_WRITINGS = pytest.mark.parametrize("write", [_compact, _spaced], ids=["compact", "spaced"])


class _Pages:
    """Graph's `GET /users` answering `pages` (JSON written by the standard library) in turn;
    `fail_at` answers that page with `failure` instead."""

    def __init__(
        self,
        pages: list[list[Any]],
        fail_at: int | None = None,
        failure: Any = None,
        write: Any = _spaced,
    ) -> None:
        self.pages = pages
        self.write = write
        self.fail_at = fail_at
        self.failure = failure
        self.asked: list[int] = []
        # As many users as allow these (small) pages, at either page size.
        self.count = 999 * len(pages)

    def answer(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1.0/domains":
            return httpx.Response(200, json={"value": [{"id": "fjordline.no", "isVerified": True}]})
        if request.url.path == "/v1.0/users/$count":
            return httpx.Response(200, text=str(self.count))
        number = int(request.url.params.get("page", "0"))
        self.asked.append(number)
        if number == self.fail_at:
            return self.failure(number)
        body: dict[str, Any] = {"value": self.pages[number]}
        if number == 0:
            body["@odata.count"] = self.count
        if number + 1 < len(self.pages):
            body["@odata.nextLink"] = f"{_BASE}/users?page={number + 1}"
        return httpx.Response(200, content=self.write(body))


def _snapshot(pages: _Pages, fields: tuple[str, ...]) -> EntraSnapshot:
    resource = GraphResource(
        tenant_id="t",
        client_id="c",
        client_secret="s",
        authority_host="https://login.example",
        graph_base_url=_BASE,
        optional_fields=list(fields),
    )
    resource._client = GraphClient(
        tokens=FakeTokens(), base_url=_BASE, transport=httpx.MockTransport(pages.answer)
    )
    return resource.snapshot()


def _as_before(pages: list[list[Any]], fields: tuple[str, ...]) -> tuple[Any, pl.DataFrame]:
    """What reading every user at the end gave: each page as `json` decodes it."""
    users = [u for page in pages for u in json.loads(json.dumps({"value": page}))["value"]]
    read = read_entra_users(users, fields)
    return read, raw_frame("entra_id", read.users.get_column("entra_id"), users)


@_WRITINGS
@pytest.mark.parametrize("fields", [(), _ALL_FIELDS], ids=["no-optional-fields", "all-fields"])
def test_a_snapshot_read_as_the_pages_arrive_hands_on_what_it_did_before(
    fields: tuple[str, ...], write: Any
) -> None:
    pages = _pages(fields)

    snapshot = _snapshot(_Pages(pages, write=write), fields)

    before, raw = _as_before(pages, fields)
    assert_frame_equal(snapshot.users, before.users)
    assert_frame_equal(snapshot.unreadable, before.unreadable)
    assert_frame_equal(snapshot.raw, raw)
    assert snapshot.complete is (before.users.get_column("entra_id").null_count() == 0)
    assert snapshot.requests == len(pages)
    assert before.unreadable.height > 0  # the odd values were listed, not read
    assert str(10**30) in "".join(raw.get_column("payload"))  # as received, not as a float


def _failure_not_json(_: int) -> httpx.Response:
    return httpx.Response(200, content=b'{"value": [{"id": "0f6e7c1a-')


def _failure_refused(_: int) -> httpx.Response:
    return httpx.Response(400, json={"error": {"code": "Request_BadRequest", "message": "no"}})


def _failure_foreign_link(number: int) -> httpx.Response:
    body = {"value": [_user(900)], "@odata.nextLink": "https://elsewhere.test/v1.0/users?page=9"}
    return httpx.Response(200, content=json.dumps(body).encode())


@pytest.mark.parametrize(
    ("failure", "error"),
    [
        pytest.param(_failure_not_json, json.JSONDecodeError, id="a-page-cut-mid-way"),
        pytest.param(_failure_refused, GraphApiError, id="a-page-refused"),
        pytest.param(_failure_foreign_link, UntrustedAnswer, id="a-link-elsewhere"),
    ],
)
def test_a_paging_that_fails_part_way_gives_no_snapshot(failure: Any, error: type) -> None:
    pages = _Pages([[_user(n)] for n in range(4)], fail_at=2, failure=failure)

    with pytest.raises(error):
        _snapshot(pages, ())

    assert max(pages.asked) == 2  # nothing asked for past the failure (nor elsewhere)


_TEXTS = st.one_of(
    st.none(),
    st.sampled_from(["", " ", "Bergen", " Haugen ", "Ås\u00a0", "\u2028x", "2019-03-01", "ß"]),
    st.text(max_size=6),
    st.text(st.sampled_from(' \t\x00\x1c\x85\u00a0\u3000\u2028"\\/aÅß'), max_size=4),
)
_VALUES = st.one_of(
    _TEXTS,
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.lists(st.integers(), max_size=2),
)


@st.composite
def _users(draw: st.DrawFn, fields: tuple[str, ...]) -> Any:
    n = draw(st.integers(min_value=0, max_value=999))
    user = _user(n, fields)
    for prop in draw(st.lists(st.sampled_from(sorted(user)), max_size=3)):
        user[prop] = draw(st.one_of(_VALUES, st.just(_DROP)))
    if draw(st.booleans()):
        user["employeeHireDate"] = draw(
            st.sampled_from([None, "2020-01-31", "2020-01-31T23:00:00-05:00", "2020-13-01", "x"])
        )
    if draw(st.integers(min_value=0, max_value=20)) == 0:
        return draw(_VALUES)
    return {k: v for k, v in user.items() if v is not _DROP}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), fields=st.sampled_from([(), _ALL_FIELDS]))
def test_any_pages_read_on_arrival_read_as_every_user_read_at_the_end(
    data: st.DataObject, fields: tuple[str, ...]
) -> None:
    pages = data.draw(st.lists(st.lists(_users(fields), max_size=4), max_size=5))
    # Plain pages are read together once they hold this many users, or at the end.
    reading = EntraUsersOnArrival(fields, held_users=data.draw(st.integers(1, 12)))
    for page in pages:
        text = data.draw(st.sampled_from([_compact, _spaced]))({"value": page})
        try:  # as the client decodes a page: orjson, and json where orjson refuses it
            decoded = orjson.loads(text)["value"]
        except orjson.JSONDecodeError:
            decoded = json.loads(text)["value"]
        reading.add(decoded, lambda text=text: json.loads(text)["value"], text)

    read, texts = reading.finished()

    before, raw = _as_before(pages, fields)
    assert_frame_equal(read.users, before.users)
    assert_frame_equal(read.unreadable, before.unreadable)
    assert texts.to_list() == raw.get_column("payload").to_list()


@_WRITINGS
@pytest.mark.parametrize("fields", [(), _ALL_FIELDS], ids=["no-optional-fields", "all-fields"])
def test_a_property_given_twice_reads_as_json_reads_it(fields: tuple[str, ...], write: Any) -> None:
    pages = [[_user(n, fields) for n in range(3)] for _ in range(2)]

    def twice(body: Any) -> bytes:  # the first user of each page names givenName twice
        return write(body).replace(b'"givenName":', b'"givenName":"Ola","givenName":', 1)

    snapshot = _snapshot(_Pages(pages, write=twice), fields)

    answered = [[u for u in json.loads(twice({"value": page}))["value"]] for page in pages]
    before, raw = _as_before(answered, fields)
    assert answered[0][0]["givenName"] == pages[0][0]["givenName"]  # json keeps the last
    assert_frame_equal(snapshot.users, before.users)
    assert_frame_equal(snapshot.unreadable, before.unreadable)
    assert_frame_equal(snapshot.raw, raw)


@pytest.mark.parametrize("fields", [(), _ALL_FIELDS], ids=["no-optional-fields", "all-fields"])
def test_a_page_that_repeats_its_users_written_plainly_elsewhere_reads_as_json_reads_it(
    fields: tuple[str, ...],
) -> None:
    page = [_user(n, fields) for n in range(3)]
    del page[1]["surname"]  # not returned: unknown

    def elsewhere(body: Any) -> bytes:  # before `value`, its users as if every one had it
        shown = [
            _user(n, fields, surname=None if n == 1 else _user(n)["surname"]) for n in range(3)
        ]
        return b'{"x":' + _compact({"value": shown}) + b',"value":' + _compact(body["value"]) + b"}"

    snapshot = _snapshot(_Pages([page], write=elsewhere), fields)

    before, raw = _as_before([page], fields)
    assert snapshot.users.get_column("unknown_fields").to_list() == [[], ["family_name"], []]
    assert_frame_equal(snapshot.users, before.users)
    assert_frame_equal(snapshot.raw, raw)


@pytest.mark.parametrize("fields", [(), _ALL_FIELDS], ids=["no-optional-fields", "all-fields"])
def test_a_page_that_names_value_again_after_its_users_reads_as_json_reads_it(
    fields: tuple[str, ...],
) -> None:
    pages = [[_user(n, fields) for n in range(3)], [_user(n, fields) for n in range(10, 12)]]

    def again(body: Any) -> bytes:  # json reads the last `value`: other users
        other = [_user(n, fields, surname="Other") for n in range(20, 22)]
        return _compact(body)[:-1] + b',"value":' + _compact(other) + b"}"

    snapshot = _snapshot(_Pages(pages, write=again), fields)

    answered = [json.loads(again({"value": page}))["value"] for page in pages]
    before, raw = _as_before(answered, fields)
    assert set(snapshot.users.get_column("family_name")) == {"Other"}
    assert_frame_equal(snapshot.users, before.users)
    assert_frame_equal(snapshot.unreadable, before.unreadable)
    assert_frame_equal(snapshot.raw, raw)


@pytest.mark.parametrize("fields", [(), _ALL_FIELDS], ids=["no-optional-fields", "all-fields"])
def test_a_plain_page_written_as_graph_writes_it_is_read_by_polars(
    fields: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    read_by_polars: list[int] = []
    polars_read = PlainPages.read

    def spied(self: PlainPages) -> Any:
        for content, read in polars_read(self):
            read_by_polars.append(0 if read is None else read[0].height)
            yield content, read

    monkeypatch.setattr(PlainPages, "read", spied)
    pages = [[_user(p * 10 + n, fields) for n in range(4)] for p in range(3)]
    pages[1][2].pop("manager", None)  # a user without a manager: Graph leaves it out

    _snapshot(_Pages(pages, write=_compact), fields)
    _snapshot(_Pages(pages, write=_spaced), fields)

    assert read_by_polars == [4, 4, 4]  # the spaced pages are not even taken


@pytest.mark.parametrize("body", [False, True], ids=["decoded-only", "with-its-body"])
def test_no_user_of_a_page_is_held_once_the_page_is_read(body: bool) -> None:
    page = [_user(n, ("manager",)) for n in range(5)]
    reading = EntraUsersOnArrival(("manager",))

    # With its body, a plain page is held as its body until it is read with the pages after it.
    reading.add(page, None, _compact({"value": page}) if body else None)

    gc.collect()
    assert all(gc.get_referrers(user) == [page] for user in page)
    assert reading.finished()[0].users.height == 5

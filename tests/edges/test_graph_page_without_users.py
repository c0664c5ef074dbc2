"""A Graph answer that is not a page of users stops the snapshot (SPEC §7: a partial snapshot is
never read as people leaving). The paging read a page's users as `body.get("value", [])`: a 200
answer without `value` (a proxy's `{}`, a body cut to an object without its users) was read as a
page of nobody, and, without `@odata.nextLink`, as the last page. The snapshot then said it was
complete with the users of the pages after it missing, and planning read them as deleted in
Entra. A `value` that is null or not a list, or a body that is not an object, failed with a bare
TypeError or AttributeError. Each is now an `UntrustedAnswer` naming the page, as Huma's paging
says of a list page that is not one; an empty `value` list stays an empty page."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from resources.errors import UntrustedAnswer
from tests.resources.test_graph_read_on_arrival import _BASE, _Pages, _snapshot, _user

_NEXT = f"{_BASE}/users?page=3"


def _answering(body: Any) -> Callable[[int], httpx.Response]:
    return lambda _: httpx.Response(200, content=json.dumps(body).encode())


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({}, id="an-empty-object"),
        pytest.param({"@odata.nextLink": _NEXT}, id="a-link-without-users"),
        pytest.param({"value": None, "@odata.nextLink": _NEXT}, id="null-users"),
        pytest.param({"value": {"id": "x"}, "@odata.nextLink": _NEXT}, id="an-object-for-users"),
        pytest.param([_user(2)], id="a-list-for-the-page"),
    ],
)
def test_a_page_that_is_not_a_page_of_users_gives_no_snapshot(body: Any) -> None:
    pages = _Pages([[_user(n)] for n in range(4)], fail_at=2, failure=_answering(body))

    with pytest.raises(UntrustedAnswer, match="users page 3"):
        _snapshot(pages, ())

    assert max(pages.asked) == 2  # nothing asked for past it


def test_an_empty_page_of_users_is_read_as_one() -> None:
    empty = {"value": [], "@odata.nextLink": _NEXT}
    pages = _Pages([[_user(n)] for n in range(4)], fail_at=2, failure=_answering(empty))

    snapshot = _snapshot(pages, ())

    assert snapshot.complete
    assert snapshot.users.height == 3

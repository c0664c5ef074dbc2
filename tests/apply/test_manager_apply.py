"""Applying the manager against the Graph emulator: a row's manager beside its other fields.

Pins: a row setting the manager and another field sends both (the manager as a `$ref` write) and
is applied; one whose manager Graph refuses is a failure of the row naming the manager, with the
other fields applied and kept as what was written (so a rollback undoes just those); clearing is a
`DELETE`; an interrupted run's manager write is settled by re-reading the manager, found applied
or not, never sent again from there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import polars as pl
import pytest

from assets.apply.graph_apply import apply_graph
from assets.apply.settle import INTERRUPTED_APPLIED, settle_open_intents
from assets.apply.verify import graph_applied
from assets.apply.writes import PlannedWrite
from resources.graph import GraphResource
from tests.resources.conftest import (  # noqa: F401 - fixtures
    Outside,
    graph_credentials,
    graph_resource,
)

_GHOST = "00000000-0000-4000-8000-00000000dead"


@pytest.fixture
def graph(
    outside: Outside,
    graph_resource: Callable[..., GraphResource],  # noqa: F811 - the fixture
) -> GraphResource:
    return graph_resource(**graph_credentials(outside))


def _members(outside: Outside, count: int) -> list[dict[str, Any]]:
    users = outside.entra.state()["tenants"][0]["users"]
    return [
        u for u in users if u.get("userType") == "Member" and not u.get("onPremisesSyncEnabled")
    ][:count]


def _user(outside: Outside, user_id: str) -> dict[str, Any]:
    users = outside.entra.state()["tenants"][0]["users"]
    return next(u for u in users if u["id"] == user_id)


def _patch(change_id: str, target: str, body: dict[str, Any]) -> PlannedWrite:
    return PlannedWrite(change_id, "graph", "patch", target, body)


def test_the_manager_goes_with_the_other_fields(outside: Outside, graph: GraphResource) -> None:
    person, boss = _members(outside, 2)

    [result] = apply_graph(
        graph, [_patch("c1", person["id"], {"jobTitle": "Lead", "manager": boss["id"]})]
    )

    assert (result.status, result.after) == ("applied", {"jobTitle": "Lead", "manager": boss["id"]})
    assert _user(outside, person["id"]).get("manager") == boss["id"]
    assert _user(outside, person["id"])["jobTitle"] == "Lead"
    assert graph_applied(graph.client(), _patch("c1", person["id"], {"manager": boss["id"]}))[0]

    [cleared] = apply_graph(graph, [_patch("c2", person["id"], {"manager": None})])

    assert cleared.status == "applied"
    assert _user(outside, person["id"]).get("manager") is None


def test_a_refused_manager_fails_the_row_and_keeps_the_rest(
    outside: Outside, graph: GraphResource
) -> None:
    [person] = _members(outside, 1)

    [result] = apply_graph(
        graph, [_patch("c1", person["id"], {"jobTitle": "Lead", "manager": _GHOST})]
    )

    assert result.status == "failed"
    assert result.error.startswith("manager refused (the other fields were applied)")
    assert (result.remote_status, result.after) == (404, {"jobTitle": "Lead"})
    assert _user(outside, person["id"])["jobTitle"] == "Lead"
    assert _user(outside, person["id"]).get("manager") is None


def test_an_interrupted_manager_write_is_settled_by_reading(
    outside: Outside, graph: GraphResource
) -> None:
    person, boss, other = _members(outside, 3)
    apply_graph(graph, [_patch("done", person["id"], {"manager": boss["id"]})])
    outside.entra.clear_requests()
    intents = pl.DataFrame(
        [
            {
                "change_id": change_id,
                "system": "graph",
                "operation": "patch",
                "target_id": target,
                "request": orjson.dumps({"body": {"manager": manager}}).decode(),
            }
            for change_id, target, manager in (
                ("done", person["id"], boss["id"]),
                ("not-sent", other["id"], boss["id"]),
            )
        ]
    )

    settled = settle_open_intents(intents, huma=None, graph=graph)  # type: ignore[arg-type]

    assert [(r.change_id, r.status) for r in settled] == [
        ("done", "applied"),
        ("not-sent", "failed"),
    ]
    assert settled[0].note == INTERRUPTED_APPLIED
    assert not [r for r in outside.entra.requests() if r["method"] != "GET"]
    assert _user(outside, other["id"]).get("manager") is None

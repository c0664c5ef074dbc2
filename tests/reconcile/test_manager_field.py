"""The optional `manager` field: Huma's supervisor, through the links, to Entra's manager.

Pins, one case per rule: Huma's supervisor is compared and written as the Entra object id of the
account linked to that person (SPEC §4); the three-way table decides it like any field (set when
Entra has none, changed once agreed, in sync when the ids agree, cleared only by Huma's explicit
"no supervisor" once an agreed value exists, drift otherwise); a supervisor without a certain link
(none, an account gone or out of scope, not in Huma's snapshot or not read, held out by
validation) is never guessed: no row, and the person is listed with the reason; a supervisor Huma
did not return is unknown and never clears anything; a new user's create never carries the
manager; the field is off unless the policy names it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

import polars as pl
import pytest

from reconcile.bodies import graph_patch_body
from reconcile.engine import PlanResult, plan_run
from reconcile.frames import entra_users_schema, huma_users_schema
from reconcile.policy import Policy
from reconcile.supervisors import UNLINKED_SUPERVISOR
from reconcile.vocabulary import AUTO_APPROVED, CREATE_ENTRA, OUT_DRIFT, UPDATE_ENTRA
from tests.reconcile.plan_helpers import CONTEXT
from tests.reference.builders import baseline_frame, entra_user, huma_user, links_frame, state_with

_POLICY = Policy(fields=frozenset({"manager"}), initial_direction={"manager": "huma_to_entra"})


def _person(n: int, **fields: Any) -> dict[str, Any]:
    return {"phone": f"+47900000{n:02d}", "employment_id": f"E{n}", **fields}


def _huma(huma_id: str, n: int, supervisor: str | None = None, **fields: Any) -> dict[str, Any]:
    return huma_user(huma_id, f"p{n}@example.com", **_person(n, manager=supervisor, **fields))


def _entra(entra_id: str, n: int, manager: str | None = None, **fields: Any) -> dict[str, Any]:
    return entra_user(entra_id, f"p{n}@example.com", **_person(n, manager=manager, **fields))


def _plan(
    ann: Mapping[str, Any],
    ann_in_entra: Mapping[str, Any],
    *,
    baseline: Iterable[Mapping[str, Any]] = (),
    huma_more: Iterable[Mapping[str, Any]] = (),
    entra_more: Iterable[Mapping[str, Any]] = (),
    links: Iterable[tuple[str, str]] = (("h1", "e1"), ("h2", "e2")),
    policy: Policy = _POLICY,
    **context: Any,
) -> PlanResult:
    """Ann (h1 ↔ e1) and Bob (h2 ↔ e2, a linked supervisor) plus the given users."""
    humas = [ann, _huma("h2", 2), *huma_more]
    entras = [ann_in_entra, _entra("e2", 2), *entra_more]
    return plan_run(
        pl.DataFrame(humas, schema=huma_users_schema(policy.fields)),
        pl.DataFrame(entras, schema=entra_users_schema(policy.fields)),
        state_with(
            links=links_frame(*links),
            baseline=baseline_frame([{"huma_id": "h1", **row} for row in baseline]),
        ),
        policy,
        replace(CONTEXT, **context),
    )


def _manager_rows(result: PlanResult) -> list[dict[str, Any]]:
    rows = result.sync_plan.filter(pl.col("fields").list.contains("manager"))
    return list(rows.iter_rows(named=True))


def _unlinked(result: PlanResult) -> list[dict[str, Any]]:
    failures = result.validation_failures.filter(pl.col("rule") == UNLINKED_SUPERVISOR)
    return list(failures.iter_rows(named=True))


@pytest.mark.parametrize(
    ("supervisor", "manager", "baseline", "to"),
    [
        pytest.param("h2", None, (), "e2", id="set-when-entra-has-none"),
        pytest.param("h2", "e9", ({"field": "manager", "agreed": "e9"},), "e2", id="changed"),
        pytest.param("h2", "e9", (), "e2", id="first-sync-by-initial-direction"),
        pytest.param(None, "e2", ({"field": "manager", "agreed": "e2"},), None, id="cleared"),
    ],
)
def test_huma_s_supervisor_is_written_as_the_linked_account(
    supervisor: str | None, manager: str | None, baseline: tuple, to: str | None
) -> None:
    result = _plan(_huma("h1", 1, supervisor), _entra("e1", 1, manager), baseline=baseline)

    [row] = _manager_rows(result)
    assert (row["action"], row["status"], row["fields"]) == (
        UPDATE_ENTRA,
        AUTO_APPROVED,
        ["manager"],
    )
    assert json.loads(row["to_values"]) == {"manager": to}
    assert json.loads(row["from_values"]) == {"manager": manager}
    assert graph_patch_body(row) == {"manager": to}
    assert not _unlinked(result)


def test_ids_that_agree_are_in_sync_and_agreed() -> None:
    result = _plan(_huma("h1", 1, "h2"), _entra("e1", 1, "e2"))

    assert not _manager_rows(result)
    assert not result.field_diffs.filter(pl.col("field") == "manager").height


def test_no_supervisor_without_an_agreed_value_never_clears_entra() -> None:
    result = _plan(_huma("h1", 1, None), _entra("e1", 1, "e2"))

    assert not _manager_rows(result)
    [diff] = result.field_diffs.filter(pl.col("field") == "manager").iter_rows(named=True)
    assert (diff["outcome"], diff["huma_value"], diff["entra_value"]) == (OUT_DRIFT, None, "e2")


@pytest.mark.parametrize(
    "unknown",
    [pytest.param("huma", id="huma-did-not-return-it"), pytest.param("entra", id="entra")],
)
def test_an_unknown_manager_is_never_written_and_never_clears(unknown: str) -> None:
    ann = _huma("h1", 1, None, unknown_fields=["manager"] if unknown == "huma" else [])
    ann_in_entra = _entra("e1", 1, None if unknown == "entra" else "e2")
    if unknown == "entra":
        ann_in_entra["unknown_fields"] = ["manager"]
    result = _plan(ann, ann_in_entra, baseline=({"field": "manager", "agreed": "e2"},))

    assert not _manager_rows(result)


_CAT = _huma("h3", 3)  # in Huma only
_DAN = _huma("h4", 4)  # linked to a guest account
_DAN_GUEST = _entra("e4", 4, user_type="Guest")
_EVE = _huma("h5", 5, given_name=None)  # held out: Huma requires a given name


@pytest.mark.parametrize(
    ("supervisor", "reason", "context"),
    [
        pytest.param("h3", "is not linked to an Entra ID account", {}, id="no-link"),
        pytest.param(
            "h4", "is linked to Entra ID account e4, which is not a valid member", {}, id="guest"
        ),
        pytest.param(
            "h6", "is linked to Entra ID account e6, which is not a valid member", {}, id="gone"
        ),
        pytest.param("h5", "is held out by validation", {}, id="held-out"),
        pytest.param("h7", "is not in Huma's snapshot", {}, id="not-in-huma"),
        pytest.param(
            "h7", "was not read by this run", {"huma_partial": True}, id="not-read-partial"
        ),
    ],
)
def test_a_supervisor_without_a_certain_link_is_reported_never_guessed(
    supervisor: str, reason: str, context: dict[str, Any]
) -> None:
    result = _plan(
        _huma("h1", 1, supervisor),
        _entra("e1", 1, "e2"),
        baseline=({"field": "manager", "agreed": "e2"},),
        huma_more=[_CAT, _DAN, _EVE, _huma("h6", 6)],
        entra_more=[_DAN_GUEST],
        links=(("h1", "e1"), ("h2", "e2"), ("h4", "e4"), ("h6", "e6")),
        **context,
    )

    assert not _manager_rows(result)
    [failure] = _unlinked(result)
    assert (failure["user_id"], failure["field"], failure["value"]) == ("h1", "manager", supervisor)
    assert reason in failure["message"]
    assert "left as it is" in failure["message"]


def test_a_partial_entra_snapshot_never_clears_a_manager() -> None:
    # Bob's account was not read: Ann's supervisor cannot be resolved, and nothing is written.
    result = plan_run(
        pl.DataFrame([_huma("h1", 1, "h2"), _huma("h2", 2)], schema=huma_users_schema(["manager"])),
        pl.DataFrame([_entra("e1", 1, "e2")], schema=entra_users_schema(["manager"])),
        state_with(
            links=links_frame(("h1", "e1"), ("h2", "e2")),
            baseline=baseline_frame([{"huma_id": "h1", "field": "manager", "agreed": "e2"}]),
        ),
        _POLICY,
        replace(CONTEXT, entra_partial=True),
    )

    assert not _manager_rows(result)
    [failure] = _unlinked(result)
    assert "this run did not read" in failure["message"]


def test_a_create_never_carries_the_manager() -> None:
    result = _plan(
        _huma("h1", 1, "h2"), _entra("e1", 1, "e2"), huma_more=[_huma("h8", 8, supervisor="h2")]
    )

    [create] = result.sync_plan.filter(pl.col("action") == CREATE_ENTRA).iter_rows(named=True)
    assert "manager" not in create["fields"]
    assert "manager" not in json.loads(create["to_values"])


def test_the_manager_is_off_unless_the_policy_names_it() -> None:
    assert "manager" not in huma_users_schema()
    assert "manager" not in entra_users_schema()
    assert Policy.from_dict({"fields": ["manager"]}).fields == {"manager"}

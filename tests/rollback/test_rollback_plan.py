"""The rollback plan, pure: from a run's journal to the PATCHes that undo it.

Pins: each applied PATCH is undone by a PATCH of exactly the properties it wrote, back to its
before-values (a unit missing from `before` was empty and is cleared; the address travels as one
unit; Huma's unmapped address lines are sent as the run sent them; hire dates in Graph's format);
the applied part of a partly failed PATCH is undone too; creates are never undone; changes that
never reached their target are not in the plan; a restore may be sent only while the target holds
what the run wrote (`judge`: restore, already restored, moved with what differs, gone); the
baseline of restored fields loses its agreed value and takes the restored side's value as seen;
canonical texts equal the engine's.
"""

from __future__ import annotations

import json
from typing import Any

import polars as pl
import pytest

from assets.rollback.plan import (
    NEVER_DELETED,
    baseline_resets,
    canonical_text,
    judge,
    restore_body,
    rollback_plan,
    written_units,
)
from reconcile.fields import UNITS_BY_NAME, unit_text
from reconcile.frames import ADDRESS_FIELDS
from reconcile.state import BASELINE_SCHEMA
from resources.history import JOURNAL_SCHEMA

_NO = {"city": "Oslo", "country": "NO", "line1": "Storgata 1", "postal_code": "0155"}
_SE = {"city": "Malmö", "country": "SE", "line1": "Södra Förstadsgatan 6", "postal_code": "211 43"}


def _journal(*rows: dict[str, Any]) -> pl.DataFrame:
    full = [
        {
            "run_id": "run-1",
            "connection": "acme",
            "step": 1,
            "operation": "patch",
            "status": "applied",
            **row,
            "before": None if row.get("before") is None else json.dumps(row["before"]),
            "after": None if row.get("after") is None else json.dumps(row["after"]),
        }
        for row in rows
    ]
    return pl.DataFrame(full, schema=JOURNAL_SCHEMA)


_PLAN = pl.DataFrame(
    {"change_id": ["c-ann"], "huma_id": ["h-ann"], "email_key": ["ann@example.com"]}
)
_LINKS = pl.DataFrame(
    {"huma_id": ["h-ann", "h-bo"], "entra_id": ["e-ann", "e-bo"]},
    schema={"huma_id": pl.String(), "entra_id": pl.String()},
)


@pytest.mark.parametrize(
    ("system", "before", "written", "body"),
    [
        pytest.param(
            "graph",
            {"given_name": "Ann"},
            {"givenName": "Anna"},
            {"givenName": "Ann"},
            id="graph-name",
        ),
        pytest.param(
            "graph",
            {},
            {"mobilePhone": "+4790000001"},
            {"mobilePhone": None},
            id="graph-was-empty-is-cleared",
        ),
        pytest.param(
            "graph",
            {"address": _NO},
            {
                "streetAddress": "Kirkegata 2",
                "postalCode": "5003",
                "city": "Bergen",
                "country": "NO",
            },
            {"streetAddress": "Storgata 1", "postalCode": "0155", "city": "Oslo", "country": "NO"},
            id="graph-address-as-one-unit",
        ),
        pytest.param(
            "graph",
            {"hire_date": "2020-01-01", "job_title": "Chef"},
            {"employeeHireDate": "2021-05-01T00:00:00Z", "jobTitle": "Head chef"},
            {"employeeHireDate": "2020-01-01T00:00:00Z", "jobTitle": "Chef"},
            id="graph-hire-date-format",
        ),
        pytest.param(
            "graph",
            {"given_name": "Ann", "hire_date": "2020-01-01"},
            {"givenName": "Anna"},
            {"givenName": "Ann"},
            id="graph-only-what-was-applied",
        ),
        pytest.param(
            "huma",
            {"employment_id": "E1", "phone": None},
            {"employmentId": "E9", "phone": "+4790000009"},
            {"employmentId": "E1", "phone": ""},
            id="huma-empty-string",
        ),
        pytest.param(
            "huma",
            {"address": _NO},
            {
                "homeAddress": {
                    "line1": "Kirkegata 2",
                    "line2": "c/o Berg",
                    "line3": "",
                    "postalCode": "5003",
                    "city": "Bergen",
                    "country": "NO",
                }
            },
            {
                "homeAddress": {
                    "line1": "Storgata 1",
                    "line2": "c/o Berg",
                    "line3": "",
                    "postalCode": "0155",
                    "city": "Oslo",
                    "country": "NO",
                }
            },
            id="huma-address-keeps-unmapped-lines",
        ),
        pytest.param(
            "huma",
            {},
            {"homeAddress": {"line1": "Kirkegata 2", "postalCode": "5003", "city": "Bergen"}},
            {"homeAddress": None},
            id="huma-address-was-empty",
        ),
    ],
)
def test_a_restore_writes_the_before_values_over_exactly_what_was_written(
    system: str, before: dict, written: dict, body: dict
) -> None:
    assert restore_body(system, before, written) == body
    restored = written_units(system, body)
    assert restored == {unit: before.get(unit) for unit in restored}


def test_the_plan_undoes_patches_lists_creates_and_skips_what_never_arrived() -> None:
    journal = _journal(
        {
            "change_id": "c-ann",
            "system": "graph",
            "target_id": "e-ann",
            "before": {"given_name": "Ann"},
            "after": {"givenName": "Anna"},
        },
        {
            "change_id": "c-bo",
            "system": "graph",
            "target_id": "e-bo",
            "status": "failed",  # the hire date was refused; the name went through
            "before": {"given_name": "Bo", "hire_date": "2020-01-01"},
            "after": {"givenName": "Bob"},
        },
        {
            "change_id": "c-cy",
            "system": "graph",
            "operation": "create",
            "target_id": None,
            "created_id": "e-cy",
            "before": {},
            "after": {"userPrincipalName": "cy@example.com"},
        },
        {"change_id": "c-di", "system": "huma", "target_id": "h-di", "status": "failed"},
    )

    restores, kept = rollback_plan(journal, _PLAN, _LINKS)

    assert [(r.change_id, r.huma_id, r.email, dict(r.body)) for r in restores] == [
        ("c-ann", "h-ann", "ann@example.com", {"givenName": "Ann"}),
        ("c-bo", "h-bo", None, {"givenName": "Bo"}),
    ]
    assert [(k.change_id, k.target_id, k.why) for k in kept] == [("c-cy", "e-cy", NEVER_DELETED)]


def _restore(system: str = "graph", **written: Any) -> Any:
    journal = _journal(
        {
            "change_id": "c-ann",
            "system": system,
            "target_id": "e-ann" if system == "graph" else "h-ann",
            "before": {"given_name": "Ann", "phone": None},
            "after": written,
        }
    )
    return rollback_plan(journal, _PLAN, _LINKS)[0][0]


@pytest.mark.parametrize(
    ("system", "current", "verdict", "moved"),
    [
        pytest.param(
            "graph",
            {"givenName": "Anna", "mobilePhone": "+479"},
            "restore",
            (),
            id="still-as-written",
        ),
        pytest.param(
            "graph",
            {"givenName": "Ann", "mobilePhone": None},
            "already_restored",
            (),
            id="already-as-before",
        ),
        pytest.param(
            "graph",
            {"givenName": "Annie", "mobilePhone": "+479"},
            "moved",
            (("givenName", "Anna", "Annie"),),
            id="moved-since",
        ),
        pytest.param(
            "graph",
            {"givenName": "Anna", "mobilePhone": None},
            "moved",
            (("mobilePhone", "+479", None),),
            id="one-of-two-moved",
        ),
        pytest.param("graph", None, "gone", (), id="user-gone"),
        pytest.param(
            "huma", {"givenName": "Ann", "phone": None}, "already_restored", (), id="huma-empty"
        ),
    ],
)
def test_a_restore_is_sent_only_while_the_target_holds_what_the_run_wrote(
    system: str, current: dict | None, verdict: str, moved: tuple
) -> None:
    prop = "mobilePhone" if system == "graph" else "phone"
    restore = _restore(system, givenName="Anna", **{prop: "+479"})

    judged = judge(restore, current)

    assert (judged.verdict, judged.moved) == (verdict, moved)


def test_restored_fields_lose_their_agreed_value_and_see_the_restored_value() -> None:
    kept = pl.DataFrame(
        [
            {"huma_id": "h-ann", "field": "given_name", "has_agreed": True, "agreed": "Anna",
             "huma_seen": "Anna", "entra_seen": "Anna"},
            {"huma_id": "h-ann", "field": "phone", "has_agreed": True, "agreed": "+479",
             "huma_seen": "+479", "entra_seen": "+479"},
            {"huma_id": "h-ann", "field": "family_name", "has_agreed": True, "agreed": "Berg",
             "huma_seen": "Berg", "entra_seen": "Berg"},
        ],
        schema=BASELINE_SCHEMA,
    )  # fmt: skip
    restore = _restore("graph", givenName="Anna", mobilePhone="+479")

    resets = baseline_resets(kept, [restore], BASELINE_SCHEMA)

    assert resets.to_dicts() == [
        {"huma_id": "h-ann", "field": "given_name", "has_agreed": False, "agreed": None,
         "huma_seen": "Anna", "entra_seen": "Ann"},
        {"huma_id": "h-ann", "field": "phone", "has_agreed": False, "agreed": None,
         "huma_seen": "+479", "entra_seen": None},
    ]  # fmt: skip


@pytest.mark.parametrize("address", [_NO, _SE, {**_NO, "line1": None}], ids=["no", "se", "part"])
def test_canonical_texts_are_the_engines(address: dict) -> None:
    columns = dict(
        zip(sorted(ADDRESS_FIELDS), ("city", "country", "line1", "postal_code"), strict=True)
    )
    frame = pl.DataFrame([{column: address[key] for column, key in columns.items()}])
    engine = frame.select(unit_text(UNITS_BY_NAME["address"])).item()

    assert canonical_text("address", address) == engine


def test_links_name_the_huma_user_of_a_run_without_a_plan() -> None:
    journal = _journal(
        {
            "change_id": "c-bo",
            "system": "graph",
            "target_id": "e-bo",
            "before": {"given_name": "Bo"},
            "after": {"givenName": "Bob"},
        }
    )
    empty_plan = pl.DataFrame(schema={"change_id": pl.String(), "huma_id": pl.String()})

    restores, _ = rollback_plan(journal, empty_plan, _LINKS)

    assert (restores[0].huma_id, restores[0].email) == ("h-bo", None)

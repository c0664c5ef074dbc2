"""The field rules of SPEC §3 (and §5's one-way, position and address rules) on a linked pair.

Pins: employment ID only ever flows Entra → Huma and hire date / job title only Huma → Entra (the
wrong way round is reported as drift, never written); position fields are recorded at first
sight, pushed only once changed in Huma afterwards, unless the policy backfills them; the address
is compared and written as one unit and comes into Huma only from an ISO country with every part;
Huma's required names are never emptied; Entra users mastered on-premises are never written; the
automatic updates of one user go out as one row.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl
import pytest

from reconcile.builders import (
    baseline_frame,
    entra_frame,
    entra_user,
    huma_frame,
    huma_user,
    links_frame,
    state_with,
)
from reconcile.engine import plan_run
from reconcile.fields import ADDRESS
from reconcile.policy import Policy
from reconcile.vocabulary import (
    AUTO_APPROVED,
    BLOCKED,
    ENTRA_TO_HUMA,
    HUMA_TO_ENTRA,
    KIND_CONFLICT,
    KIND_ENTRA_TO_HUMA,
    KIND_INCONSISTENCY,
    OUT_DRIFT,
    OUT_POSITION_NOT_PUSHED,
    OUT_POSITION_RECORDED,
    OUT_WRITE_ENTRA,
    PENDING,
    RESOLVE_CONFLICT,
    UPDATE_ENTRA,
    UPDATE_HUMA,
)
from tests.reconcile.plan_helpers import CONTEXT, diff_of, only_row, plan_pair

_ADDRESS_NO = '{"city":"Oslo","country":"NO","line1":"Storgata 1","postal_code":"0155"}'


@pytest.mark.parametrize(
    ("field", "huma", "entra", "baseline", "outcome"),
    [
        pytest.param(
            "employment_id", "E2", "E1", {"agreed": "E1"}, OUT_DRIFT, id="employment-id-huma-edit"
        ),
        pytest.param(
            "employment_id", "E2", None, {}, OUT_DRIFT, id="employment-id-missing-in-entra"
        ),
        pytest.param(
            "job_title", "Engineer", "Boss", {"agreed": "Engineer"}, OUT_DRIFT, id="title-in-entra"
        ),
        pytest.param(
            "job_title", "Engineer", "Boss", {}, OUT_POSITION_RECORDED, id="title-first-sight"
        ),
        pytest.param(
            "job_title",
            "Engineer",
            "Boss",
            {"has_agreed": False, "huma_seen": "Engineer"},
            OUT_POSITION_NOT_PUSHED,
            id="title-unchanged-since-activation",
        ),
        pytest.param(
            "hire_date",
            date(2020, 1, 1),
            None,
            {},
            OUT_POSITION_RECORDED,
            id="hire-date-first-sight-not-pushed",
        ),
        pytest.param(
            "job_title",
            None,
            "Boss",
            {"has_agreed": False, "huma_seen": "Engineer"},
            OUT_POSITION_NOT_PUSHED,
            id="ended-position-does-not-clear-without-agreement",
        ),
    ],
)
def test_one_way_and_position_fields_never_write_the_wrong_way(
    field: str, huma: Any, entra: Any, baseline: dict[str, Any], outcome: str
) -> None:
    rows = [{"field": field, **baseline}] if baseline else []

    result = plan_pair({field: huma}, {field: entra}, rows)

    assert diff_of(result, field)["outcome"] == outcome
    assert result.sync_plan.height == 0


@pytest.mark.parametrize(
    ("field", "huma", "entra", "baseline", "policy", "expected"),
    [
        pytest.param(
            "employment_id",
            "E1",
            "E9",
            {"agreed": "E1"},
            {},
            (UPDATE_HUMA, PENDING, KIND_ENTRA_TO_HUMA),
            id="employment-id-entra-edit-comes-in-on-approval",
        ),
        pytest.param(
            "employment_id",
            "E2",
            "E9",
            {},
            {},
            (UPDATE_HUMA, PENDING, KIND_INCONSISTENCY),
            id="employment-id-inconsistency-offered-toward-huma-only",
        ),
        pytest.param(
            "employment_id",
            "E2",
            "E9",
            {"agreed": "E1"},
            {},
            (UPDATE_HUMA, PENDING, KIND_CONFLICT),
            id="employment-id-conflict-asks-about-the-allowed-direction",
        ),
        pytest.param(
            "job_title",
            "Lead",
            "Boss",
            {"has_agreed": False, "huma_seen": "Engineer"},
            {},
            (UPDATE_ENTRA, AUTO_APPROVED, None),
            id="title-changed-after-activation-is-pushed",
        ),
        pytest.param(
            "job_title",
            "Lead",
            "Engineer",
            {"agreed": "Engineer"},
            {},
            (UPDATE_ENTRA, AUTO_APPROVED, None),
            id="title-changed-after-agreement-is-pushed",
        ),
        pytest.param(
            "job_title",
            "Lead",
            "Boss",
            {"agreed": "Engineer"},
            {},
            (UPDATE_ENTRA, PENDING, KIND_CONFLICT),
            id="title-changed-on-both-sides-asks",
        ),
        pytest.param(
            "job_title",
            "Engineer",
            None,
            {},
            {"backfill_positions": True},
            (UPDATE_ENTRA, AUTO_APPROVED, None),
            id="backfill-fills-missing-title",
        ),
        pytest.param(
            "job_title",
            "Engineer",
            "Boss",
            {},
            {"backfill_positions": True},
            (UPDATE_ENTRA, PENDING, KIND_INCONSISTENCY),
            id="backfill-inconsistency-asks-by-default",
        ),
        pytest.param(
            "hire_date",
            date(2021, 5, 1),
            date(2020, 1, 1),
            {"agreed": "2020-01-01"},
            {},
            (UPDATE_ENTRA, AUTO_APPROVED, None),
            id="hire-date-changed-in-huma-is-pushed",
        ),
    ],
)
def test_one_way_and_position_fields_write_their_own_way(
    field: str,
    huma: Any,
    entra: Any,
    baseline: dict[str, Any],
    policy: dict[str, Any],
    expected: tuple[str, str, str | None],
) -> None:
    rows = [{"field": field, **baseline}] if baseline else []

    row = only_row(plan_pair({field: huma}, {field: entra}, rows, Policy(**policy)))

    assert (row["action"], row["status"], row["decision_kind"]) == expected
    assert row["direction"] == (ENTRA_TO_HUMA if field == "employment_id" else HUMA_TO_ENTRA)


def test_the_address_is_one_unit() -> None:
    result = plan_pair(
        {"address_city": "Bergen", "address_postal_code": "5003"},
        {},
        [{"field": ADDRESS, "agreed": _ADDRESS_NO}],
    )

    row = only_row(result)
    assert row["fields"] == [ADDRESS]
    assert row["to_values"] == (
        '{"address":{"city":"Bergen","country":"NO","line1":"Storgata 1","postal_code":"5003"}}'
    )
    assert result.field_diffs.get_column("field").to_list() == [ADDRESS]


@pytest.mark.parametrize(
    ("entra", "reason"),
    [
        pytest.param({"address_country": "Norway"}, "not an ISO 3166-1", id="country-not-iso"),
        pytest.param({"address_country": "no"}, "not an ISO 3166-1", id="country-lower-case"),
        pytest.param({"address_city": None}, "needs line 1", id="incomplete-address"),
        pytest.param(
            {key: None for key in ("address_line1", "address_postal_code", "address_city")}
            | {"address_country": None},
            "(empty)",
            id="address-emptied-in-entra",
        ),
    ],
)
def test_an_address_comes_into_huma_only_from_an_iso_country_with_every_part(
    entra: dict[str, Any], reason: str
) -> None:
    row = only_row(plan_pair({}, entra, [{"field": ADDRESS, "agreed": _ADDRESS_NO}]))

    assert (row["action"], row["status"]) == (UPDATE_HUMA, BLOCKED)
    assert reason in row["blocked_reason"]


def test_an_address_question_with_an_unusable_entra_side_asks_only_about_pushing_huma() -> None:
    row = only_row(plan_pair({}, {"address_country": "Norway"}))

    assert (row["action"], row["direction"], row["status"]) == (
        UPDATE_ENTRA,
        HUMA_TO_ENTRA,
        PENDING,
    )
    assert row["decision_kind"] == KIND_INCONSISTENCY


@pytest.mark.parametrize("field", ["given_name", "family_name"])
def test_a_required_name_is_never_emptied_in_huma(field: str) -> None:
    row = only_row(
        plan_pair(
            {},
            {field: None},
            [{"field": field, "agreed": "Ann" if field == "given_name" else "Lee"}],
        )
    )

    assert (row["action"], row["status"]) == (UPDATE_HUMA, BLOCKED)
    assert "required in Huma" in row["blocked_reason"]


def test_an_entra_user_mastered_on_premises_is_never_written() -> None:
    result = plan_pair(
        {"phone": "+4799999999"},
        {"on_premises_sync_enabled": True},
        [{"field": "phone", "agreed": "+4790000001"}],
    )

    row = only_row(result)
    assert (row["action"], row["status"]) == (UPDATE_ENTRA, BLOCKED)
    assert "on-premises" in row["blocked_reason"]


def test_an_on_premises_conflict_asks_only_about_the_huma_side() -> None:
    row = only_row(
        plan_pair(
            {"phone": "+4799999999"},
            {"phone": "+4788888888", "on_premises_sync_enabled": True},
            [{"field": "phone", "agreed": "+4790000001"}],
        )
    )

    assert (row["action"], row["direction"], row["status"]) == (UPDATE_HUMA, ENTRA_TO_HUMA, PENDING)


def test_automatic_updates_of_one_user_go_out_as_one_row() -> None:
    result = plan_pair(
        {"given_name": "Anna", "job_title": "Lead", "phone": "+4799999999"},
        {},
        [
            {"field": "given_name", "agreed": "Ann"},
            {"field": "job_title", "agreed": "Engineer"},
            {"field": "phone", "agreed": "+4790000001"},
        ],
    )

    row = only_row(result)
    assert row["fields"] == ["given_name", "job_title", "phone"]
    assert row["to_values"] == '{"given_name":"Anna","job_title":"Lead","phone":"+4799999999"}'
    assert set(result.field_diffs.get_column("change_id")) == {row["change_id"]}
    assert set(result.field_diffs.get_column("outcome")) == {OUT_WRITE_ENTRA}


def test_rows_a_person_decides_stay_one_per_field() -> None:
    result = plan_pair({"phone": "+4799999999", "given_name": "Anna"}, {})

    assert result.sync_plan.get_column("action").to_list() == [RESOLVE_CONFLICT] * 2
    assert sorted(result.sync_plan.get_column("fields").to_list()) == [["given_name"], ["phone"]]


def test_a_pushed_phone_another_entra_user_has_is_blocked() -> None:
    # Pushing it would leave two Entra users with one phone, and both held out next run.
    result = plan_run(
        huma_frame(huma_user("h1", phone="+4799999999")),
        entra_frame(
            entra_user("e1"),
            entra_user("e2", "bob@example.com", phone="+4799999999", employment_id="E2"),
        ),
        state_with(
            links=links_frame(("h1", "e1")),
            baseline=baseline_frame([{"huma_id": "h1", "field": "phone", "agreed": "+4790000001"}]),
        ),
        Policy(),
        CONTEXT,
    )

    row = result.sync_plan.filter(pl.col("huma_id") == "h1").row(0, named=True)
    assert (row["action"], row["status"]) == (UPDATE_ENTRA, BLOCKED)
    assert row["blocked_reason"] == "phone +4799999999 is already used by Entra user e2"

"""Field rules of SPEC §3 about units and blocks, on a linked pair.

Pins: the address is compared and written as one unit and comes into Huma only from an ISO
country with every part (an address emptied in Entra is blocked: Huma cannot clear one); Huma's
required names are never emptied; Entra users mastered on-premises are never written; a pushed
phone another Entra user holds is blocked; the automatic updates of one user go out as one row
while rows a person decides stay one per field.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

from reconcile.engine import plan_run
from reconcile.fields import ADDRESS
from reconcile.policy import Policy
from reconcile.vocabulary import (
    BLOCKED,
    ENTRA_TO_HUMA,
    HUMA_TO_ENTRA,
    KIND_INCONSISTENCY,
    OUT_WRITE_ENTRA,
    PENDING,
    RESOLVE_CONFLICT,
    UPDATE_ENTRA,
    UPDATE_HUMA,
)
from tests.reconcile.plan_helpers import CONTEXT, only_row, plan_pair
from tests.reference.builders import (
    baseline_frame,
    entra_frame,
    entra_user,
    huma_frame,
    huma_user,
    links_frame,
    state_with,
)

_ADDRESS_NO = '{"city":"Oslo","country":"NO","line1":"Storgata 1","postal_code":"0155"}'


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
        pytest.param({"address_country": None}, "needs line 1", id="country-emptied"),
        pytest.param(
            {key: None for key in ("address_line1", "address_postal_code", "address_city")}
            | {"address_country": None},
            "the address is empty in Entra ID, and Huma cannot clear an address",
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

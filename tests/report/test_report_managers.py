"""The report names a referenced user (the manager) as people know them, not by object id alone.

Pins: an updated manager, a decision waiting about one and a manager's drift show the person's
email beside the Entra object id for the users the run knows; an id it does not know, and every
other field, read as before; the plan rows keep their order.
"""

from __future__ import annotations

import polars as pl

from tests.report.report_frames import field_diff, outcome, outcomes, plan, plan_row, report_of

_ADA, _BO, _GONE = (
    "0f000000-0000-4000-8000-00000000000a",
    "0f000000-0000-4000-8000-00000000000b",
    "0f000000-0000-4000-8000-0000000000ff",
)
_PEOPLE = pl.DataFrame(
    {"entra_id": [_ADA, _BO], "email_key": ["ada@example.com", "bo@example.com"]}
)


def test_managers_are_shown_with_the_person_s_email() -> None:
    changed = plan_row(
        "m1", fields=("job_title", "manager"),
        before={"job_title": "Engineer", "manager": _ADA},
        after={"job_title": "Boss", "manager": _BO},
    )  # fmt: skip
    unknown = plan_row(
        "m2", fields=("manager",), before={"manager": _GONE}, after={"manager": None}
    )
    waiting = plan_row(
        "m3", "update_entra", "pending", fields=("manager",),
        huma={"manager": _BO}, entra={"manager": _ADA}, kind="inconsistency",
    )  # fmt: skip

    report = report_of(
        plan(changed, unknown, waiting),
        outcomes(outcome("m1"), outcome("m2")),
        diffs=[field_diff("manager", None, _ADA), field_diff("job_title", "A", "B")],
        people=_PEOPLE,
    )

    updated = {(u.change_id, u.field): (u.from_value, u.to_value) for u in report.updated.rows}
    assert updated == {
        ("m1", "job_title"): ("Engineer", "Boss"),
        ("m1", "manager"): (f"ada@example.com ({_ADA})", f"bo@example.com ({_BO})"),
        ("m2", "manager"): (_GONE, "(empty)"),
    }
    [decision] = report.pending.rows
    assert decision.huma_values == f"manager: bo@example.com ({_BO})"
    assert decision.entra_values == f"manager: ada@example.com ({_ADA})"
    drift = {d.field: d.entra_value for d in report.differences.rows}
    assert drift == {"manager": f"ada@example.com ({_ADA})", "job_title": "B"}


def test_without_people_the_ids_are_shown() -> None:
    row = plan_row("m1", fields=("manager",), before={"manager": None}, after={"manager": _BO})

    [updated] = report_of(plan(row), outcomes(outcome("m1"))).updated.rows

    assert updated.to_value == _BO

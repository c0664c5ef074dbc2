"""`build_run_report`: the engine's and the apply step's frames → the report's model (SPEC §8).

Pins: counts per action and status are complete, and the apply step's outcome wins over the
plan's status; created users carry the new id and the person's name; updated fields list from
and to per field; failures carry the remote error; decisions waiting carry both sides' values
and the commands that decide them (a conflict: one per winning side, never a bulk approval);
guard trips say whether they stopped the writes and how to override; email mismatches of linked
pairs and drift (a one-way field differing the wrong way round) are counted per field and listed
with both values and why nothing is written; long sections are capped while counts stay complete
and the attachment's sections keep every row; frames that break their schema and unsafe arguments
are refused.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import polars as pl
import pytest

from reconcile.context import RunContext
from reconcile.engine import plan_run
from reconcile.outputs import APPLY_OUTCOMES_SCHEMA
from reconcile.policy import Policy
from tests.reference.builders import (
    RUN_AT,
    baseline_frame,
    entra_frame,
    entra_user,
    huma_frame,
    huma_user,
    links_frame,
    state_with,
)
from tests.report.report_frames import (
    SCRIPT_NAME,
    field_diff,
    guard_trip,
    outcome,
    outcomes,
    plan,
    plan_row,
    report_of,
)

UPDATE = plan_row("u1", "update_entra", "auto_approved")
CONFLICT = plan_row(
    "c1",
    "resolve_conflict",
    "pending",
    fields=("phone",),
    huma={"phone": "+4711"},
    entra={"phone": "+4722"},
    kind="conflict",
)
CREATE = plan_row(
    "n1",
    "create_entra",
    "pending",
    email="new.person@example.com",
    fields=("display_name", "given_name"),
    huma={"display_name": "Nora Berg", "given_name": "Nora"},
    after={"display_name": "Nora Berg", "given_name": "Nora"},
    kind="create",
)
BLOCKED = plan_row("b1", "create_huma", "blocked", blocked_reason="no default Huma group")


@pytest.mark.parametrize(
    ("rows", "results", "expected"),
    [
        pytest.param([], [], {}, id="empty-plan"),
        pytest.param(
            [UPDATE, CONFLICT, CREATE, BLOCKED],
            [],
            {
                ("update_entra", "auto_approved"): 1,
                ("resolve_conflict", "pending"): 1,
                ("create_entra", "pending"): 1,
                ("create_huma", "blocked"): 1,
            },
            id="one-of-each",
        ),
        pytest.param(
            [UPDATE, plan_row("u2"), plan_row("u3")],
            [outcome("u1"), outcome("u2", "failed", error="refused")],
            {
                ("update_entra", "applied"): 1,
                ("update_entra", "failed"): 1,
                ("update_entra", "auto_approved"): 1,
            },
            id="outcomes-win-over-plan-status",
        ),
    ],
)
def test_counts_per_action_and_status(rows, results, expected) -> None:
    report = report_of(plan(*rows), outcomes(*results))

    counted = {
        (row.action, status): count
        for row in report.counts.rows
        for status, count in report.counts.breakdown(row)
    }
    assert counted == expected
    assert report.counts.total == len(rows)
    assert sum(report.counts.totals) == len(rows)


@pytest.mark.parametrize(
    ("mode", "expected_applied"),
    [
        pytest.param("apply", 1, id="apply-counts-what-was-written"),
        pytest.param("dry_run", 2, id="dry-run-counts-what-would-be-written"),
    ],
)
def test_summary_figures(mode: str, expected_applied: int) -> None:
    rows = [UPDATE, plan_row("u2", status="approved"), CONFLICT, BLOCKED]
    results = [outcome("u1"), outcome("u2", "failed")] if mode == "apply" else []

    report = report_of(plan(*rows), outcomes(*results), mode=mode)

    assert (report.applied, report.waiting, report.blocked) == (expected_applied, 1, 1)
    assert report.failed == (1 if mode == "apply" else 0)


def test_created_users_carry_new_id_name_and_a_failed_follow_up() -> None:
    created = plan_row(
        "n1",
        "create_huma",
        "approved",
        email="ola@example.com",
        fields=("given_name",),
        entra={"given_name": SCRIPT_NAME, "family_name": "Nordmann"},
        after={"given_name": SCRIPT_NAME, "family_name": "Nordmann"},
    )
    half = plan_row(
        "n2",
        "create_entra",
        "approved",
        email="kari@example.com",
        after={"display_name": "Kari Holm"},
    )
    never = plan_row("n3", "create_entra", "approved", email="per@example.com")
    results = [
        outcome("n1", created_id="h-new-1", note="already existed: linked"),
        outcome("n2", "failed", created_id="e-new-2", error="PATCH refused"),
        outcome("n3", "failed", error="POST refused"),
    ]

    report = report_of(plan(created, half, never), outcomes(*results))

    listed = {(u.user, u.name, u.created_id) for u in report.created.rows}
    assert listed == {
        ("ola@example.com", f"{SCRIPT_NAME} Nordmann", "h-new-1"),
        ("kari@example.com", "Kari Holm", "e-new-2"),
    }
    notes = {u.user: u.note for u in report.created.rows}
    assert notes["ola@example.com"] == "already existed: linked"
    assert "failed" in notes["kari@example.com"]
    assert {f.user for f in report.failures.rows} == {"kari@example.com", "per@example.com"}


def test_updated_fields_one_row_per_field_with_from_and_to() -> None:
    grouped = plan_row(
        "u1",
        "update_entra",
        "auto_approved",
        fields=("address", "job_title"),
        before={"job_title": "Engineer"},
        after={
            "address": {
                "city": "Oslo",
                "country": "NO",
                "line1": "Storgata 1",
                "postal_code": "0155",
            },
            "job_title": "Boss",
        },
    )
    decided = plan_row(
        "c1",
        "resolve_conflict",
        "approved",
        fields=("phone",),
        direction="entra_to_huma",
        before={"phone": "+4711"},
        after={"phone": "+4722"},
    )

    report = report_of(plan(grouped, decided), outcomes(outcome("u1"), outcome("c1")))

    rows = {(u.field, u.from_value, u.to_value, u.direction) for u in report.updated.rows}
    assert rows == {
        ("address", "(empty)", "Storgata 1, 0155 Oslo, NO", "huma_to_entra"),
        ("job_title", "Engineer", "Boss", "huma_to_entra"),
        ("phone", "+4711", "+4722", "entra_to_huma"),
    }


@pytest.mark.parametrize(
    ("results", "expected"),
    [
        pytest.param(
            outcomes(
                outcome(
                    "u1",
                    "failed",
                    error="<b>Invalid</b> jobTitle",
                    remote_status=400,
                    remote_code="Request_BadRequest",
                    request_id="req-42",
                )
            ),
            ("<b>Invalid</b> jobTitle", 400, "Request_BadRequest", "req-42"),
            id="full-remote-error",
        ),
        pytest.param(
            pl.DataFrame(
                [
                    {
                        "change_id": "u1",
                        "status": "failed",
                        "created_id": None,
                        "error": "connection reset",
                    }
                ],
                schema=APPLY_OUTCOMES_SCHEMA,
            ),
            ("connection reset", None, None, None),
            id="engine-outcomes-only",
        ),
        pytest.param(
            outcomes(outcome("u1", "failed")),
            ("no error was reported", None, None, None),
            id="no-error-text",
        ),
    ],
)
def test_failures_carry_the_remote_error(results: pl.DataFrame, expected: tuple) -> None:
    report = report_of(plan(UPDATE), results)

    [failure] = report.failures.rows
    assert (failure.error, failure.remote_status, failure.remote_code, failure.request_id) == (
        expected
    )
    assert (failure.user, failure.fields) == ("ann.lee@example.com", "job_title")


def test_decisions_waiting_with_values_and_commands() -> None:
    stale = {**CREATE, "change_id": "n2", "status": "stale", "email_key": "x@example.com"}

    report = report_of(plan(CONFLICT, CREATE, stale, UPDATE))

    by_id = {p.change_id: p for p in report.pending.rows}
    assert set(by_id) == {"c1", "n1", "n2"}
    conflict = by_id["c1"]
    assert (conflict.huma_values, conflict.entra_values) == ("phone: +4711", "phone: +4722")
    assert conflict.approve_commands == (
        "huma-entra-sync decisions approve --connection acme --id c1 --winner huma",
        "huma-entra-sync decisions approve --connection acme --id c1 --winner entra",
    )
    assert conflict.reject_command == "huma-entra-sync decisions reject --connection acme --id c1"
    assert by_id["n1"].approve_commands == (
        "huma-entra-sync decisions approve --connection acme --id n1",
    )
    assert by_id["n1"].name == "Nora Berg"
    assert by_id["n2"].status == "stale"
    assert report.commands.list_all == "huma-entra-sync decisions list --connection acme"
    bulk = [(k.kind, k.count, k.command) for k in report.commands.approve_kinds]
    assert bulk == [
        ("create", 2, "huma-entra-sync decisions approve --connection acme --all --kind create")
    ]


def test_commands_quote_a_connection_name_for_the_shell() -> None:
    report = report_of(plan(CREATE), connection="north; rm -rf ~")

    assert (
        report.commands.list_all == "huma-entra-sync decisions list --connection 'north; rm -rf ~'"
    )


@pytest.mark.parametrize(
    ("trip", "stopped", "command"),
    [
        pytest.param(
            guard_trip("mass_change"),
            True,
            "huma-entra-sync run --connection acme --override-guard mass_change",
            id="mass-change-stops",
        ),
        pytest.param(
            guard_trip("snapshot_shrink", side="huma"),
            True,
            "huma-entra-sync run --connection acme --override-guard snapshot_shrink",
            id="snapshot-shrink-stops",
        ),
        pytest.param(
            guard_trip("snapshot_partial", side="entra"),
            True,
            "huma-entra-sync run --connection acme --override-guard snapshot_partial",
            id="partial-snapshot-stops",
        ),
        pytest.param(
            guard_trip("mass_change", overridden=True),
            False,
            None,
            id="overridden-is-reported-only",
        ),
    ],
)
def test_guard_trips(trip: dict[str, Any], stopped: bool, command: str | None) -> None:
    report = report_of(trips=[trip])

    [reported] = report.guard_trips
    assert report.writes_stopped is stopped
    assert reported.override_command == command
    assert reported.message == trip["message"]
    assert ("overrode" in reported.hint) is not stopped


def test_long_sections_are_capped_but_counted_in_full() -> None:
    updates = [plan_row(f"u{i}", email=f"p{i}@example.com") for i in range(7)]
    failed = [plan_row(f"f{i}", email=f"q{i}@example.com") for i in range(5)]
    results = [outcome(r["change_id"]) for r in updates]
    results += [outcome(r["change_id"], "failed", error="no") for r in failed]
    left = [
        {"kind": "locked_in_huma", "email_key": f"l{i}@example.com", "message": "locked"}
        for i in range(4)
    ]

    report = report_of(plan(*updates, *failed), outcomes(*results), left_alone=left, max_listed=3)

    assert (report.updated.total, len(report.updated.shown), report.updated.more) == (7, 3, 4)
    assert (report.notices.total, len(report.notices.shown), report.notices.more) == (4, 3, 1)
    # The attachment's sections keep every row; the email still shows only three.
    assert (len(report.failures.rows), len(report.failures.shown), report.failures.more) == (
        5,
        3,
        2,
    )
    assert report.counts.count(status="applied") == 7


MISMATCH = field_diff(
    "email",
    "ann.lee@example.com",
    "ann.l@example.com",
    case="email_mismatch",
    outcome="report_only",
)
DRIFT = field_diff("employment_id", "E9", "E1", email="bo@example.com")
DRIFT_EMPTY = field_diff("employment_id", "E7", None, email="cy@example.com", case="missing_value")
WRITTEN = field_diff("phone", "+4711", "+4722", outcome="write_entra")


def test_email_mismatches_and_drift_are_counted_and_listed_with_what_differs() -> None:
    report = report_of(diffs=[WRITTEN, DRIFT_EMPTY, MISMATCH, DRIFT])

    rows = report.differences.rows
    assert [(d.kind, d.user, d.field, d.huma_value, d.entra_value) for d in rows] == [
        (
            "email_mismatch",
            "ann.lee@example.com",
            "email",
            "ann.lee@example.com",
            "ann.l@example.com",
        ),
        ("drift", "bo@example.com", "employment_id", "E9", "E1"),
        ("drift", "cy@example.com", "employment_id", "E7", "(empty)"),
    ]
    assert [(c.kind, c.field, c.count) for c in report.difference_counts] == [
        ("email_mismatch", "email", 1),
        ("drift", "employment_id", 2),
    ]
    assert "never written" in rows[0].reason
    assert "Entra ID → Huma" in rows[1].reason
    assert report.differences.total == 3


def test_differences_are_capped_in_the_email_but_kept_whole_for_the_attachment() -> None:
    drift = [field_diff("job_title", f"T{i}", "X", email=f"p{i}@example.com") for i in range(5)]

    report = report_of(diffs=drift, max_listed=2)

    assert (len(report.differences.rows), len(report.differences.shown)) == (5, 2)
    assert report.differences.more == 3


def test_differences_from_the_engine() -> None:
    huma = huma_frame(huma_user("h1", email="ann.lee@example.com", employment_id="E9"))
    entra = entra_frame(entra_user("e1", mail="ann.l@example.com", employment_id="E1"))
    state = state_with(
        links=links_frame(("h1", "e1")),
        baseline=baseline_frame([{"huma_id": "h1", "field": "employment_id", "agreed": "E1"}]),
    )
    context = RunContext(run_at=RUN_AT, verified_domains=frozenset({"example.com"}))
    result = plan_run(huma, entra, state, Policy(), context)

    report = report_of(result.sync_plan, diffs=result.field_diffs.to_dicts())

    assert [(d.kind, d.field, d.huma_value, d.entra_value) for d in report.differences.rows] == [
        ("email_mismatch", "email", "ann.lee@example.com", "ann.l@example.com"),
        ("drift", "employment_id", "E9", "E1"),
    ]


def test_a_plan_from_the_engine() -> None:
    huma = huma_frame(
        huma_user("h1", job_title="Boss"),
        huma_user(
            "h2",
            email="new.person@example.com",
            given_name=SCRIPT_NAME,
            phone="+4702",
            employment_id="E2",
        ),
        huma_user("h4", email="gone@example.com", phone="+4704", employment_id="E4", active=False),
    )
    entra = entra_frame(
        entra_user("e1"),
        entra_user("e4", mail="gone@example.com", phone="+4704", employment_id="E4"),
    )
    state = state_with(
        links=links_frame(("h1", "e1"), ("h4", "e4")),
        baseline=baseline_frame([{"huma_id": "h1", "field": "job_title", "agreed": "Engineer"}]),
    )
    context = RunContext(run_at=RUN_AT, verified_domains=frozenset({"example.com"}))
    result = plan_run(huma, entra, state, Policy(), context)
    update_id = result.sync_plan.filter(pl.col("action") == "update_entra").item(0, "change_id")

    report = report_of(
        result.sync_plan,
        outcomes(outcome(update_id)),
        left_alone=result.notices.to_dicts(),
        failures=result.validation_failures.to_dicts(),
        trips=result.guard_trips.to_dicts(),
    )

    assert [(u.user, u.field, u.to_value) for u in report.updated.rows] == [
        ("ann.lee@example.com", "job_title", "Boss")
    ]
    assert [(p.user, p.kind) for p in report.pending.rows] == [("new.person@example.com", "create")]
    assert SCRIPT_NAME in report.pending.rows[0].name
    assert [(n.user, n.kind) for n in report.notices.rows] == [
        ("gone@example.com", "locked_in_huma")
    ]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param({"mode": "live"}, "mode", id="unknown-mode"),
        pytest.param({"outcome": "ok"}, "outcome", id="unknown-outcome"),
        pytest.param({"started_at": datetime(2026, 3, 1)}, "timezone", id="naive-time"),
        pytest.param({"dagster_run_url": "javascript:alert(1)"}, "http", id="script-url"),
        pytest.param({"max_listed": 0}, "max_listed", id="nothing-listed"),
        pytest.param({"plan": plan(UPDATE).drop("reason")}, "sync_plan", id="plan-schema"),
        pytest.param(
            {"outcomes": outcomes(outcome("u1"), outcome("u1"))}, "twice", id="outcome-twice"
        ),
        pytest.param(
            {"outcomes": pl.DataFrame({"change_id": ["u1"]})}, "lack", id="outcome-columns"
        ),
    ],
)
def test_refuses_what_breaks_the_contract(change: dict[str, Any], message: str) -> None:
    arguments: dict[str, Any] = {"sync_plan": plan(UPDATE), **change}
    if "plan" in arguments:
        arguments["sync_plan"] = arguments.pop("plan")
    if "outcomes" in arguments:
        arguments["results"] = arguments.pop("outcomes")

    with pytest.raises(ValueError, match=message):
        report_of(**arguments)


def test_same_frames_same_report() -> None:
    frames = (plan(UPDATE, CONFLICT, CREATE, BLOCKED), outcomes(outcome("u1")))

    assert report_of(*frames) == report_of(*frames)

"""`render_report`: the email's subject, HTML and text parts (SPEC §8).

Pins: the subject tells the outcome at a glance in one line; both parts carry the counts, the
decisions with the commands, the failures with the remote error, the guard's stop and its
override, the email mismatches and drift with their counts, and the "N more" lines of capped
sections; names and remote messages arrive escaped in
the HTML and verbatim in the text; the HTML has no scripts, images or external resources; a name
a template uses but the model lacks fails the render instead of leaving a blank.
"""

from __future__ import annotations

import re
from dataclasses import fields
from types import SimpleNamespace

import jinja2
import pytest

from assets.report.model import RunReport
from assets.report.render import environment, render_report
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

UPDATES = [plan_row("u1"), plan_row("u2", email="bo@example.com")]
PENDING = plan_row(
    "n1",
    "create_entra",
    "pending",
    email="new.person@example.com",
    fields=("given_name",),
    huma={"given_name": SCRIPT_NAME},
    after={"given_name": SCRIPT_NAME},
    kind="create",
)
FAILING = plan_row("f1", email="cy@example.com")
REMOTE_MESSAGE = "<b>Invalid</b> value for jobTitle"


def _report(**options):
    return report_of(
        plan(*UPDATES, PENDING, FAILING),
        outcomes(
            outcome("u1"),
            outcome("u2"),
            outcome(
                "f1",
                "failed",
                error=REMOTE_MESSAGE,
                remote_status=400,
                remote_code="Request_BadRequest",
                request_id="req-42",
            ),
        ),
        **options,
    )


@pytest.mark.parametrize(
    ("rows", "results", "options", "expected"),
    [
        pytest.param(
            [*UPDATES, PENDING, FAILING],
            [outcome("u1"), outcome("u2"), outcome("f1", "failed")],
            {},
            "Huma ↔ Entra ID (acme): 2 changes applied, 1 waiting for you, 1 failed",
            id="applied-waiting-failed",
        ),
        pytest.param(
            [UPDATES[0]],
            [outcome("u1")],
            {},
            "Huma ↔ Entra ID (acme): 1 change applied",
            id="one-change",
        ),
        pytest.param(
            [], [], {}, "Huma ↔ Entra ID (acme): in agreement, nothing to do", id="nothing-to-do"
        ),
        pytest.param(
            UPDATES,
            [],
            {"mode": "dry_run"},
            "Huma ↔ Entra ID (acme), dry run: 2 changes would be applied",
            id="dry-run",
        ),
        pytest.param(
            [UPDATES[0]],
            [outcome("u1")],
            {"mode": "rollback"},
            "Huma ↔ Entra ID (acme), rollback: 1 change rolled back",
            id="rollback",
        ),
        pytest.param(
            [PENDING],
            [],
            {"trips": [guard_trip("mass_change")]},
            "Huma ↔ Entra ID (acme): stopped by the mass-change guard, nothing written, "
            "1 waiting for you",
            id="mass-change-guard",
        ),
        pytest.param(
            [],
            [],
            {"trips": [guard_trip("mass_change"), guard_trip("snapshot_partial")]},
            "Huma ↔ Entra ID (acme): stopped by the mass-change guard and the snapshot guard, "
            "nothing written",
            id="two-guards",
        ),
        pytest.param(
            [UPDATES[0]],
            [outcome("u1")],
            {"trips": [guard_trip("mass_change", overridden=True)]},
            "Huma ↔ Entra ID (acme): 1 change applied",
            id="overridden-guard",
        ),
        pytest.param(
            [], [], {"outcome": "failed"}, "Huma ↔ Entra ID (acme): the run failed", id="run-failed"
        ),
        pytest.param(
            [],
            [],
            {"connection": "acme\r\nBcc: x@evil.example"},
            "Huma ↔ Entra ID (acme Bcc: x@evil.example): in agreement, nothing to do",
            id="newline-in-connection-name",
        ),
    ],
)
def test_subject_tells_the_outcome(rows, results, options, expected: str) -> None:
    rendered = render_report(report_of(plan(*rows), outcomes(*results), **options))

    assert rendered.subject == expected


def test_both_parts_carry_counts_decisions_and_failures() -> None:
    rendered = render_report(_report())

    assert "update in Entra ID: 3 (2 applied, 1 failed)" in rendered.text
    header = re.search(r"<th[^>]*>Action</th>(.*?)</tr>", rendered.html).group(1)
    assert re.findall(r">([^<>]+)</th>", header) == [
        "waiting for you",
        "applied",
        "failed",
        "total",
    ]
    cells = re.search(r"update in Entra ID</td>(.*?)</tr>", rendered.html).group(1)
    assert re.findall(r">(\d+)</td>", cells) == ["0", "2", "1", "3"]
    for part in (rendered.text, rendered.html):
        assert "WAITING FOR YOUR DECISION (1)" in part.upper()
        assert "huma-entra-sync decisions approve --connection acme --all --kind create" in part
        assert "huma-entra-sync decisions list --connection acme" in part
        assert "Request_BadRequest" in part
        assert "req-42" in part
        assert "run-1" in part
    assert "\n\nHow to decide" in rendered.text


def test_names_and_remote_messages_escaped_in_html_verbatim_in_text() -> None:
    rendered = render_report(_report())

    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered.html
    assert "&lt;b&gt;Invalid&lt;/b&gt;" in rendered.html
    assert "<script" not in rendered.html.lower()
    assert "<b>Invalid" not in rendered.html
    assert SCRIPT_NAME in rendered.text
    assert REMOTE_MESSAGE in rendered.text
    assert "&lt;" not in rendered.text
    assert "<td" not in rendered.text


def test_html_has_no_scripts_images_or_outside_resources() -> None:
    html = render_report(_report(dagster_run_url="https://dagster.example/runs/run-1")).html

    for forbidden in ("<script", "<img", "<link", "<style", "<iframe", "src=", "url("):
        assert forbidden not in html.lower()


@pytest.mark.parametrize(
    ("url", "expected_href"),
    [
        pytest.param(
            "https://dagster.example/runs/run-1",
            'href="https://dagster.example/runs/run-1"',
            id="plain",
        ),
        pytest.param(
            'https://dagster.example/runs/x"onmouseover="alert(1)',
            'href="https://dagster.example/runs/x&#34;onmouseover=&#34;alert(1)"',
            id="quote-in-url",
        ),
    ],
)
def test_dagster_link_when_configured(url: str, expected_href: str) -> None:
    rendered = render_report(_report(dagster_run_url=url))

    assert expected_href in rendered.html
    assert f"Dagster: {url}" in rendered.text


def test_no_dagster_link_without_a_url() -> None:
    rendered = render_report(_report())

    assert "href=" not in rendered.html
    assert "Dagster:" not in rendered.text


def test_guard_stop_and_override_command_in_both_parts() -> None:
    rendered = render_report(_report(trips=[guard_trip("mass_change")]))

    command = "huma-entra-sync run --connection acme --override-guard mass_change"
    assert "MASS-CHANGE GUARD STOPPED THE WRITES" in rendered.text
    assert "mass-change guard stopped the writes" in rendered.html
    for part in (rendered.text, rendered.html):
        assert command in part
        assert "the mass_change guard tripped" in part


def test_email_mismatches_and_drift_in_both_parts() -> None:
    diffs = [
        field_diff(
            "email",
            "ann.lee@example.com",
            "ann.l@example.com",
            case="email_mismatch",
            outcome="report_only",
        ),
        field_diff("job_title", "Engineer", "Boss", email="bo@example.com", case="entra_changed"),
        field_diff("job_title", "Chef", "Cook", email="cy@example.com", case="entra_changed"),
    ]

    rendered = render_report(report_of(diffs=diffs, max_listed=2))

    assert "NOT SYNCED (3)" in rendered.text
    assert "email mismatch: 1" in rendered.text
    assert "drift of job_title: 2" in rendered.text
    assert '- bo@example.com: job_title, Huma "Engineer", Entra ID "Boss"' in rendered.text
    assert "Not synced (3)" in rendered.html
    assert "ann.l@example.com" in rendered.html
    for part in (rendered.text, rendered.html):
        assert "the email is never written" in part
        assert "job_title flows Huma → Entra ID only" in part
        assert "cy@example.com" not in part
        assert "and 1 more — see the attachment" in part


def test_no_difference_section_when_nothing_differs() -> None:
    rendered = render_report(_report())

    assert "NOT SYNCED" not in rendered.text
    assert "Not synced" not in rendered.html


def test_capped_sections_say_how_many_more_and_where() -> None:
    updates = [plan_row(f"u{i}", email=f"p{i}@example.com") for i in range(5)]
    failed = [plan_row(f"f{i}", email=f"q{i}@example.com") for i in range(4)]
    results = [outcome(r["change_id"]) for r in updates]
    results += [outcome(r["change_id"], "failed", error="no") for r in failed]

    rendered = render_report(report_of(plan(*updates, *failed), outcomes(*results), max_listed=2))

    for part in (rendered.text, rendered.html):
        assert "and 3 more — see the history" in part
        assert "and 2 more — see the attachment" in part
        assert "p1@example.com" in part
        assert "p2@example.com" not in part


@pytest.mark.parametrize(
    ("options", "text", "html"),
    [
        pytest.param(
            {"mode": "dry_run"},
            "FIELDS THAT WOULD BE UPDATED",
            "Fields that would be updated",
            id="dry-run-wording",
        ),
        pytest.param({"outcome": "failed"}, "THE RUN FAILED", "The run failed", id="failed-run"),
    ],
)
def test_mode_and_outcome_wording(options, text: str, html: str) -> None:
    rendered = render_report(report_of(plan(*UPDATES), outcomes(), **options))

    assert text in rendered.text
    assert html in rendered.html


@pytest.mark.parametrize("html", [pytest.param(True, id="html"), pytest.param(False, id="text")])
def test_a_misspelt_name_in_a_template_fails(html: bool) -> None:
    template = environment(html=html).from_string("{{ report.connectoin }}")

    with pytest.raises(jinja2.UndefinedError):
        template.render(report=_report())


def test_a_model_missing_a_field_fails_the_render() -> None:
    report = _report()
    partial = SimpleNamespace(
        **{f.name: getattr(report, f.name) for f in fields(RunReport) if f.name != "notices"},
        writes_stopped=report.writes_stopped,
        dry_run=report.dry_run,
    )

    with pytest.raises(jinja2.UndefinedError):
        render_report(partial)  # type: ignore[arg-type]


def test_a_value_held_out_for_its_length_is_shown_shortened_with_its_length() -> None:
    """A field far past Graph's limit (one record with megabytes in a name) would otherwise be
    copied whole into both parts of every report, and a relay refuses such a message: the
    report that names the record would never arrive. The history keeps the value whole."""
    huge = "Ann" + "a" * 2_000_000
    failure = {
        "side": "huma",
        "user_id": "h1",
        "email_key": "ann@example.com",
        "field": "given_name",
        "value": huge,
        "rule": "max_length",
        "message": "given_name is longer than 64 characters (Graph's limit)",
    }

    rendered = render_report(report_of(failures=[failure]))

    for part in (rendered.html, rendered.text):
        assert huge not in part
        assert huge[:64] in part
        assert f"{len(huge):,} characters" in part
        assert "ann@example.com" in part
        assert "given_name is longer than 64 characters" in part

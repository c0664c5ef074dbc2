"""The run-failure email is rendered through the report's templates, and what it says is kept.

Pins: the subject, the text part's words (the run, the connection, the error line by line, what
the history holds, the link to Dagster when known) and the recipients' headers; an HTML part in
the report's layout; an error (or a run link) carrying markup, terminal escape sequences or
bidirectional overrides is shown as text: the HTML has only the templates' own tags and
attributes, and no part holds a control character bar its own line breaks.
"""

from __future__ import annotations

import pytest

from assets.report.failure import failure_message, render_failure
from tests.report.test_report_hostile_text import (
    CONTROL,
    HOSTILE,
    MARKUP,
    TEMPLATE_ATTRIBUTES,
    TEMPLATE_TAGS,
    _Tags,
)

ERROR = "fetch_entra_users: AADSTS7000215: Invalid client secret provided.\napply: not started"


def test_the_subject_and_text_say_what_failed_and_what_happens_next() -> None:
    rendered = render_failure(
        "acme", run_id="run-1", error=ERROR, run_url="https://dagster.example/runs/run-1"
    )

    assert rendered.subject == "Huma ↔ Entra ID (acme): the run failed"
    assert rendered.text.splitlines() == [
        "The reconciliation run run-1 of connection acme failed before it finished.",
        "",
        "Error:",
        "fetch_entra_users: AADSTS7000215: Invalid client secret provided.",
        "apply: not started",
        "",
        "Changes that were applied before the failure are recorded in the history; the next run "
        "settles any change whose outcome is unknown before it sends anything.",
        "",
        "The run in Dagster: https://dagster.example/runs/run-1",
    ]


def test_without_a_run_link_the_text_says_nothing_of_dagster() -> None:
    rendered = render_failure("acme", run_id="run-1", error=ERROR, run_url=None)

    assert "Dagster" not in rendered.text
    assert "open in Dagster" not in rendered.html


def test_the_html_part_has_the_reports_layout_and_every_error_line() -> None:
    rendered = render_failure(
        "acme", run_id="run-1", error=ERROR, run_url="https://dagster.example/runs/run-1"
    )
    parser = _Tags()
    parser.feed(rendered.html)

    assert parser.tags <= TEMPLATE_TAGS | {"a"}
    assert "<h1" in rendered.html
    assert "Huma ↔ Entra ID — acme" in rendered.html
    assert "Invalid client secret provided.<br>apply: not started" in rendered.html
    assert 'href="https://dagster.example/runs/run-1"' in rendered.html


@pytest.mark.parametrize("text", HOSTILE)
def test_a_hostile_error_is_shown_as_text_never_obeyed(text: str) -> None:
    rendered = render_failure("acme", run_id="run-1", error=f"Graph said: {text}", run_url=None)
    parser = _Tags()
    parser.feed(rendered.html)

    assert parser.tags <= TEMPLATE_TAGS
    assert parser.attributes <= TEMPLATE_ATTRIBUTES
    for part in (rendered.html, rendered.text, rendered.subject):
        assert not CONTROL.search(part.replace("\n", "")), repr(text)
    assert "Graph said:" in rendered.text


def test_markup_in_the_error_and_the_run_link_is_escaped() -> None:
    rendered = render_failure(
        "acme",
        run_id="run-1",
        error=MARKUP,
        run_url='https://x.example/"><script>alert(3)</script>',
    )

    assert "<script>" not in rendered.html
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in rendered.html
    assert "&lt;img src=x onerror=alert(1)&gt;" in rendered.html
    assert (
        'href="https://x.example/&#34;&gt;&lt;script&gt;alert(3)&lt;/script&gt;"' in rendered.html
    )
    assert MARKUP in rendered.text  # plain text has nothing to escape


def test_the_message_goes_to_the_recipients_with_text_and_html() -> None:
    message = failure_message(
        "acme",
        sender="sync@acme.example",
        recipients=["it@acme.example", "hr@acme.example"],
        run_id="run-1",
        error=ERROR,
        run_url=None,
    )

    assert message.get_content_type() == "multipart/alternative"
    assert message["Subject"] == "Huma ↔ Entra ID (acme): the run failed"
    assert message["To"] == "it@acme.example, hr@acme.example"
    assert message["From"].addresses[0].addr_spec == "sync@acme.example"
    assert message["Auto-Submitted"] == "auto-generated"
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    assert "AADSTS7000215" in text
    assert "AADSTS7000215" in html


def test_a_recipient_that_would_add_a_header_is_refused() -> None:
    with pytest.raises(ValueError, match="recipient"):
        failure_message(
            "acme",
            sender="sync@acme.example",
            recipients=["it@acme.example\r\nBcc: ceo@acme.example"],
            run_id="run-1",
            error=ERROR,
            run_url=None,
        )

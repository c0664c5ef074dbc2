"""Hostile text from Huma or Entra stays inert in every form of the report (SPEC §12).

Pins: names, values, remote errors and validation messages that carry markup, terminal escape
sequences (colours, OSC 8 hyperlinks, a lone C1 CSI), bidirectional overrides, line breaks or
spreadsheet formulas behind whitespace, a byte order mark or NUL come out as text: the HTML
has only the template's own tags and attributes, the text part and the CSV hold no control
character (bar the line breaks of their layout), no CSV cell can start a formula, and the
message's headers carry none of it.
"""

from __future__ import annotations

import csv
import io
import re
from html.parser import HTMLParser
from typing import Final

from assets.report.message import email_message
from assets.report.render import RenderedEmail, render_report
from tests.report.report_frames import (
    field_diff,
    outcome,
    outcomes,
    plan,
    plan_row,
    report_of,
)

ESCAPES: Final = "Eve\x1b[31mRed\x1b[0m\x1b[2J"
HYPERLINK: Final = "\x1b]8;;https://evil.example/\x1b\\Click me\x1b]8;;\x1b\\"
C1_CSI: Final = "Mal\x9b31mlory"
BIDI: Final = "Ann\u202etxt.exe"
FAKE_LINE: Final = "Bo\r\nFAILED (0)\n- ceo@example.com"
MARKUP: Final = '"><img src=x onerror=alert(1)><script>alert(2)</script>'
FORMULAS: Final = (
    " =1+1",
    '\ufeff=HYPERLINK("https://evil.example")',
    "\x00@SUM(A1)",
    "\t-2+3",
    "\u00a0\u00a0+cmd",
    "\r\n=1",
)
HOSTILE: Final = (ESCAPES, HYPERLINK, C1_CSI, BIDI, FAKE_LINE, MARKUP, *FORMULAS)

#: Characters a terminal or a mail reader acts on: C0 and C1 controls, DEL, line and paragraph
#: separators, bidirectional embeddings, overrides and isolates.
CONTROL: Final = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
FORMULA_START: Final = re.compile(r"^[\s\ufeff\x00]*[=+\-@\uff1d\uff0b\uff0d\uff20]")
TEMPLATE_TAGS: Final = {
    "html",
    "head",
    "meta",
    "title",
    "body",
    "h1",
    "h2",
    "p",
    "strong",
    "em",
    "br",
    "div",
    "span",
    "code",
    "table",
    "tr",
    "th",
    "td",
}
TEMPLATE_ATTRIBUTES: Final = {"style", "lang", "charset"}


def _hostile_report(text: str):
    """A report whose every outside value (names, emails, values, errors, messages) is `text`."""
    waiting = plan_row(
        "n1",
        "create_entra",
        "pending",
        email=text,
        fields=("given_name",),
        huma={"display_name": text, "given_name": text},
        kind="create",
        reason=text,
    )
    updated = plan_row("u1", email=text, before={"job_title": text}, after={"job_title": text})
    failing = plan_row("f1", email=text)
    blocked = plan_row("b1", "create_huma", "blocked", email=text, blocked_reason=text)
    return report_of(
        plan(waiting, updated, failing, blocked),
        outcomes(outcome("u1"), outcome("f1", "failed", error=text, remote_code=text)),
        failures=[
            {
                "side": "huma",
                "user_id": text,
                "email_key": text,
                "field": "phone",
                "value": text,
                "rule": "unique",
                "message": text,
            }
        ],
        left_alone=[{"kind": "locked_in_huma", "email_key": text, "message": text}],
        diffs=[
            field_diff("job_title", text, text, email=text, case="entra_changed"),
            field_diff(
                "email", text, text, email=text, case="email_mismatch", outcome="report_only"
            ),
        ],
    )


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.attributes: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attributes.update(name for name, _ in attrs)


def _rendered() -> list[tuple[str, RenderedEmail]]:
    return [(text, render_report(_hostile_report(text))) for text in HOSTILE]


def test_the_html_has_only_the_templates_tags_and_attributes() -> None:
    for text, rendered in _rendered():
        parser = _Tags()
        parser.feed(rendered.html)

        assert parser.tags <= TEMPLATE_TAGS, repr(text)
        assert parser.attributes <= TEMPLATE_ATTRIBUTES, repr(text)
        assert not CONTROL.search(rendered.html.replace("\n", "")), repr(text)


def test_the_text_part_holds_no_control_sequence_and_no_forged_line() -> None:
    for text, rendered in _rendered():
        assert not CONTROL.search(rendered.text.replace("\n", "")), repr(text)
        lines = rendered.text.splitlines()
        assert not any(line.startswith("FAILED (0)") for line in lines)
        assert not any(line.startswith("- ceo@example.com") for line in lines)


def test_the_hostile_name_still_reads_in_the_text_part() -> None:
    rendered = render_report(_hostile_report(ESCAPES))

    assert "Eve [31mRed [0m [2J" in rendered.text


def test_no_csv_cell_can_start_a_formula_or_hold_a_control_character() -> None:
    for text, rendered in _rendered():
        rows = list(csv.reader(io.StringIO(rendered.csv_bytes.decode("utf-8-sig"), newline="")))
        cells = [cell for row in rows[1:] for cell in row]

        assert rows[1:], repr(text)
        assert [c for c in cells if FORMULA_START.match(c)] == [], repr(text)
        assert [c for c in cells if CONTROL.search(c.replace("\n", ""))] == [], repr(text)


def test_the_message_headers_carry_no_outside_text() -> None:
    for text, rendered in _rendered():
        message = email_message(rendered, sender="sync@example.com", recipients=["it@example.com"])

        for name, value in message.items():
            assert not CONTROL.search(str(value)), (name, repr(text))
            assert "evil" not in str(value), (name, repr(text))
            assert "ceo@" not in str(value), (name, repr(text))

"""The run-failure email: the connection's recipients hear that a run failed, and why.

Rendered like the run's report (`assets.report.render.environment`: the same templates folder and
styles, `StrictUndefined`, every value made printable, the HTML part escaped) and sent as the
same kind of message (`assets.report.message.alternative_message`). The error may quote an answer
of Huma or Graph: it is shown line by line as text, never obeyed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Final

from assets.printable import one_line, printable
from assets.report.message import alternative_message
from assets.report.model import OUTCOME_FAILED
from assets.report.render import PRODUCT, environment

_HTML_ENV: Final = environment(html=True)
_TEXT_ENV: Final = environment(html=False)
#: What the subject says after the connection's name (the report's words for a failed run).
SUMMARY: Final = f"the run {OUTCOME_FAILED}"


@dataclass(frozen=True)
class RenderedFailure:
    """The rendered failure email."""

    subject: str
    html: str
    text: str


def render_failure(
    connection: str, *, run_id: str, error: str, run_url: str | None
) -> RenderedFailure:
    """Render the email telling a connection's recipients that its run failed.

    Args:
        connection: The connection's name.
        run_id: The failed run's id.
        error: Why it failed (may span lines, may quote a remote answer).
        run_url: The run's page in Dagster, when known.

    Returns:
        The subject (one line) and the HTML and text bodies.
    """
    context = {
        "product": PRODUCT,
        "connection": connection,
        "summary": SUMMARY,
        "run_id": run_id,
        "run_url": run_url,
        # Lines are the error's own layout; everything else in them is made printable.
        "error_lines": printable(error, keep_lines=True).split("\n"),
    }
    return RenderedFailure(
        subject=one_line(f"{PRODUCT} ({connection}): {SUMMARY}"),
        html=_HTML_ENV.get_template("failure.html.j2").render(context),
        text=_TEXT_ENV.get_template("failure.txt.j2").render(context),
    )


def failure_message(
    connection: str,
    *,
    sender: str,
    recipients: Sequence[str],
    run_id: str,
    error: str,
    run_url: str | None,
) -> EmailMessage:
    """The failure email, ready for `SmtpResource.send`.

    Raises:
        ValueError: No recipient, or an address that is not exactly one plain address.
    """
    rendered = render_failure(connection, run_id=run_id, error=error, run_url=run_url)
    return alternative_message(
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        sender=sender,
        recipients=recipients,
    )

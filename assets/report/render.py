"""`render_report`: a `RunReport` → the email's subject, HTML and text parts, and the CSV.

Pure. Both templates run under `StrictUndefined`, so a misspelt name fails the render instead
of leaving a blank; the HTML environment escapes every value (names and remote messages are
data from outside), the text one does not (plain text has nothing to escape, and `&lt;` there
would only garble a name). In both, every value a template shows passes through
`assets.printable.printable` first: a name cannot bring a terminal escape sequence, a forged line
or a bidirectional override into either part. Only the templates' own layout (`Markup`: the
"and N more" lines) is left as it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Final

import jinja2
from markupsafe import Markup

from assets.printable import one_line, printable
from assets.report import labels
from assets.report.attachment import csv_bytes
from assets.report.model import MODE_DRY_RUN, MODE_ROLLBACK, OUTCOME_FAILED, Listing, RunReport
from assets.report.values import shortened
from reconcile.vocabulary import GUARD_MASS_CHANGE

TEMPLATES: Final = Path(__file__).parent / "templates"
PRODUCT: Final = "Huma ↔ Entra ID"


@dataclass(frozen=True)
class RenderedEmail:
    """The rendered report: what the message carries and what is kept as files per run."""

    subject: str
    html: str
    text: str
    csv_name: str
    csv_bytes: bytes


def _plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else (many or one + 's')}"


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S %Z").strip()


def _duration(span: timedelta) -> str:
    seconds = max(0, round(span.total_seconds()))
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {seconds} s" if minutes else f"{seconds} s"


#: The most of one value either part of the email shows: every value that flows fits (an address
#: line is 1,024 characters in Graph), one of megabytes (a record held out for its length) does
#: not, and would otherwise make every report too large for the relay to take. The history keeps
#: it whole (and the attachment, up to what a spreadsheet cell holds).
SHOWN_CHARACTERS: Final = 2048


def _shown(value: object) -> object:
    """What a template shows of a value: outside text made printable and at most
    `SHOWN_CHARACTERS` long, template layout kept."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return printable(shortened(value, SHOWN_CHARACTERS))
    return value


def _more_line(listing: Listing, where: str) -> Markup:
    """The text part's "… and N more" line (layout: `_shown` leaves its line break alone)."""
    # A count and a place the templates name: no text of Huma's or Entra's goes into the markup.
    line = f"  … and {listing.more} more — see {where}.\n" if listing.more else ""
    return Markup(line)  # noqa: S704


def environment(*, html: bool) -> jinja2.Environment:
    """The templates' environment: `StrictUndefined` always, escaping only for HTML, and every
    shown value made printable."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=html,  # noqa: S701 - the plain-text templates are not HTML
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=_shown,
    )
    env.filters["label"] = labels.label
    env.filters["when"] = _when
    env.filters["plural"] = _plural
    if not html:
        # A macro's output is plain text without escaping: the text part's layout line comes
        # from here, marked as layout, so `_shown` keeps its line break.
        env.globals["more"] = _more_line
    return env


_HTML_ENV: Final = environment(html=True)
_TEXT_ENV: Final = environment(html=False)


def summary(report: RunReport) -> str:
    """The outcome at a glance: what the subject says after the connection's name."""
    waiting = f"{report.waiting} waiting for you" if report.waiting else ""
    if report.outcome == OUTCOME_FAILED:
        parts = ["the run failed", waiting]
    elif report.writes_stopped:
        stopped = {
            "mass-change guard" if trip.guard == GUARD_MASS_CHANGE else "snapshot guard"
            for trip in report.guard_trips
            if not trip.overridden
        }
        parts = [f"stopped by the {' and the '.join(sorted(stopped))}, nothing written", waiting]
    else:
        changes = _plural(report.applied, "change")
        if report.mode == MODE_DRY_RUN:
            done = f"{changes} would be applied" if report.applied else ""
        elif report.mode == MODE_ROLLBACK:
            done = f"{changes} rolled back" if report.applied else ""
        else:
            done = f"{changes} applied" if report.applied else ""
        failed = f"{report.failed} failed" if report.failed else ""
        parts = [done, waiting, failed]
        if not any(parts):
            parts = ["in agreement, nothing to do"]
    return ", ".join(part for part in parts if part)


def subject(report: RunReport) -> str:
    """The subject line, e.g. `Huma ↔ Entra ID (acme): 12 changes applied, 3 waiting for you`."""
    mode = {MODE_DRY_RUN: ", dry run", MODE_ROLLBACK: ", rollback"}.get(report.mode, "")
    if report.targeted_users is not None:
        mode += f", targeted run for {_plural(report.targeted_users, 'user')}"
    return one_line(f"{PRODUCT} ({report.connection}){mode}: {summary(report)}")


def csv_name(report: RunReport) -> str:
    """The attachment's file name: connection and run id, reduced to safe characters."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", f"{report.connection}-{report.run_id}").strip("-.")
    return f"huma-entra-sync-{safe or 'run'}.csv"


def render_report(report: RunReport) -> RenderedEmail:
    """Render the email of one run.

    Args:
        report: The run's report model.

    Returns:
        The subject (one line), the HTML and text bodies, and the CSV attachment.

    Raises:
        jinja2.UndefinedError: A template names something the model does not have.
    """
    context = {
        "report": report,
        "product": PRODUCT,
        "summary": summary(report),
        "duration": _duration(report.ended_at - report.started_at),
        "csv_name": csv_name(report),
    }
    return RenderedEmail(
        subject=subject(report),
        html=_HTML_ENV.get_template("report.html.j2").render(context),
        text=_TEXT_ENV.get_template("report.txt.j2").render(context),
        csv_name=context["csv_name"],
        csv_bytes=csv_bytes(report),
    )

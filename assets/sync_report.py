"""The report step of a connection: the result email, the files kept with the run, the run closed.

The report is rendered from the plan and the apply step's results (a pure render), kept as files,
and sent to the connection's recipients. A failed send is recorded with the run and never loses
the run's results: they are already in the history, and the report is on disk. The message is
kept unsent beside the report (`report.outbox`): the run is marked (its `email_status` in the
history, the asset's metadata, the run tag `huma-entra-sync/report: not sent`), and the
connection's next run that sends its own report sends the kept ones after it, and marks each
such run's `email_status` and tag as sent late. A dry run keeps its report as a file and sends
nothing.

Where reports go is configured by two Dagster resources: `ReportsResource`, shared by every
connection (the folder that keeps them, the Dagster UI link), and each connection's
`RecipientsResource` (the addresses may come from the environment).
"""

import dataclasses
import logging
import shutil
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import polars as pl
from dagster import AssetExecutionContext

from assets.keys import (
    APPLIED_CHANGES,
    HISTORY,
    REPORTS,
    SMTP,
    SYNC_PLAN,
    SYNC_REPORT,
    recipients_resource_key,
)
from assets.metadata import StageClock
from assets.planning import RunPlan, scratch_folder
from assets.report.build import build_run_report
from assets.report.message import email_message, write_report_files
from assets.report.outbox import LateSending, keep_unsent, send_unsent, unsent_reports
from assets.report.render import render_report
from assets.run_options import run_options
from assets.targeting import webhook_deletions
from resources.errors import RemoteError
from resources.history.runs import TARGETED

logger = logging.getLogger(__name__)

#: Run tag set on a run whose report the relay did not take.
REPORT_TAG = "huma-entra-sync/report"
NOT_SENT = "not sent"
#: The same tag once a later run sent that report.
SENT_LATE = "sent late"


class ReportsResource(dg.ConfigurableResource):
    """Shared by every connection: where report files are kept and how to link to a run."""

    folder: str = "var/reports"
    #: The Dagster UI's base URL (e.g. `https://dagster.example.com`), for a link to the run.
    dagster_url: str | None = None

    def run_folder(self, connection: str, run_id: str) -> Path:
        """The folder that keeps a run's report files."""
        return Path(self.folder) / connection / run_id

    def run_url(self, run_id: str) -> str | None:
        """The run's page in the Dagster UI, when the UI's URL is configured."""
        return f"{self.dagster_url.rstrip('/')}/runs/{run_id}" if self.dagster_url else None


class RecipientsResource(dg.ConfigurableResource):
    """One connection's report addresses."""

    #: Comma-separated addresses; empty means the report is only kept as a file.
    recipients: str = ""
    sender: str = "huma-entra-sync@localhost"

    def addresses(self) -> list[str]:
        return [a.strip() for a in self.recipients.split(",") if a.strip()]


@dataclasses.dataclass(frozen=True)
class Delivery:
    """What became of a run's report email and of the connection's kept unsent reports.

    Attributes:
        status: In words, as the history keeps it (`sent to 2 recipients`, `failed: …`).
        unsent: Where this run's report was kept unsent, when the relay did not take it.
        error: The relay's error, when this run's report was not sent.
        late: The kept reports of earlier runs this run tried to send.
    """

    status: str
    unsent: Path | None = None
    error: str | None = None
    late: LateSending = dataclasses.field(default_factory=lambda: LateSending((), ()))


def reporting_asset(connection: str) -> dg.AssetsDefinition:
    """The `sync_report` asset of the connection named `connection`."""
    recipients_key = recipients_resource_key(connection)

    @dg.asset(
        key=dg.AssetKey([connection, SYNC_REPORT]),
        ins={
            "run_plan": dg.AssetIn(dg.AssetKey([connection, SYNC_PLAN])),
            "results": dg.AssetIn(dg.AssetKey([connection, APPLIED_CHANGES])),
        },
        group_name=connection,
        required_resource_keys={HISTORY, SMTP, REPORTS, recipients_key},
        kinds={"email", "jinja"},
        tags={"connection": connection},
    )
    def sync_report(
        context: AssetExecutionContext, run_plan: RunPlan, results: pl.DataFrame
    ) -> dg.Output[dict[str, str]]:
        """One result report per run: counts per action and status, created users, updated
        fields, failures, decisions waiting, email mismatches and drift, held-out and locked
        users, guard trips; emailed to the connection's recipients and kept as files (HTML,
        text, CSV)."""
        clock = StageClock()
        options = run_options(context.run)
        result = run_plan.result
        with clock.part("report"):
            rendered, files, ended_at, delivery = _report(context, run_plan, results)
        email_status = delivery.status
        if delivery.unsent is not None:
            context.log.warning(
                "the report was NOT sent (%s); it is kept in %s and the next run sends it",
                delivery.error,
                delivery.unsent,
            )
            context.instance.add_run_tags(context.run.run_id, {REPORT_TAG: NOT_SENT})
        for late_run in delivery.late.sent_by_run():
            if context.instance.has_run(late_run):  # its tag said `not sent`
                context.instance.add_run_tags(late_run, {REPORT_TAG: SENT_LATE})
        if not options.dry_run:
            with clock.part("history"):
                context.resources.history.store().finish_run(
                    run_id=context.run.run_id,
                    outcome="guard_stopped" if result.writes_stopped else "succeeded",
                    ended_at=ended_at,
                    summary={
                        "headline": rendered.subject,
                        **_summary(result.sync_plan, results),
                        "reports_sent_late": len(delivery.late.sent),
                        "reports_unsent": len(delivery.late.still_unsent)
                        + (delivery.unsent is not None),
                    },
                    report_path=str(files.html),
                    email_status=email_status,
                    reports_sent_late=delivery.late.sent_by_run(),
                )
        shutil.rmtree(scratch_folder(context), ignore_errors=True)
        unsent = str(delivery.unsent) if delivery.unsent is not None else ""
        return dg.Output(
            {
                "subject": rendered.subject,
                "html": str(files.html),
                "email": email_status,
                "unsent": unsent,
                "sent_late": str(len(delivery.late.sent)),
                "still_unsent": str(len(delivery.late.still_unsent)),
            },
            metadata={
                "subject": rendered.subject,
                "report": dg.MetadataValue.path(str(files.html)),
                "email": email_status,
                "email_sent": delivery.unsent is None and email_status.startswith("sent"),
                "email_error": delivery.error or "",
                "reports_sent_late": len(delivery.late.sent),
                "reports_still_unsent": len(delivery.late.still_unsent)
                + (delivery.unsent is not None),
                **clock.metadata(),
            },
        )

    def _report(context: AssetExecutionContext, run_plan: RunPlan, results: pl.DataFrame):
        """Build, render, keep and send the report, then the kept unsent ones: (rendered,
        files, ended at, delivery)."""
        options = run_options(context.run)
        result = run_plan.result
        reports = context.resources.reports
        report = build_run_report(
            connection=connection,
            run_id=context.run.run_id,
            mode=options.mode,
            started_at=run_plan.context.run_at,
            ended_at=datetime.now(UTC),
            outcome="completed",
            plan=result.sync_plan,
            outcomes=results,
            validation_failures=result.validation_failures,
            notices=result.notices,
            guard_trips=result.guard_trips,
            field_diffs=result.field_diffs,
            people=result.entra_users.select("entra_id", "email_key"),
            dagster_run_url=reports.run_url(context.run.run_id),
            webhook_deletions=webhook_deletions(
                context, connection, result, huma_partial=run_plan.context.huma_partial
            ),
            # A targeted run's email is short: a few rows per section.
            **(
                {"targeted_users": targeted_users, "max_listed": TARGETED_MAX_LISTED}
                if (targeted_users := _targeted_users(context)) is not None
                else {}
            ),
        )
        rendered = render_report(report)
        folder = reports.run_folder(connection, context.run.run_id)
        files = write_report_files(rendered, folder)
        if report.worth_sending:
            delivery = _send(context, rendered, recipients_key, folder, dry_run=options.dry_run)
        else:
            delivery = Delivery("not sent: a targeted run with nothing applied, failed or waiting")
        return rendered, files, report.ended_at, delivery

    return sync_report


#: Rows per section in a targeted run's email.
TARGETED_MAX_LISTED = 10


def _targeted_users(context: AssetExecutionContext) -> int | None:
    """For a targeted run, how many users it was asked to read (from its run record)."""
    if not run_options(context.run).targeted:
        return None
    record = context.resources.history.store().run(run_id=context.run.run_id)
    if record is None or record.scope != TARGETED:
        return None  # a dry run keeps no record: read as a full run's report
    return record.scope_users or 0


def _summary(plan: pl.DataFrame, results: pl.DataFrame) -> dict[str, int]:
    """Counts for the run record: plan rows per status, changes applied and failed."""
    counts = {f"plan_{s}": n for s, n in plan.get_column("status").value_counts().iter_rows()}
    done = dict(results.get_column("status").value_counts().iter_rows()) if results.height else {}
    return {**counts, "applied": done.get("applied", 0), "failed": done.get("failed", 0)}


def _send(
    context: AssetExecutionContext, rendered, recipients_key: str, folder: Path, *, dry_run: bool
) -> Delivery:
    """Send the report, then (when it went) the connection's kept unsent ones; a report the
    relay does not take is kept unsent in `folder`."""
    if dry_run:
        return Delivery("not sent: dry run")
    addresses = getattr(context.resources, recipients_key)
    smtp = context.resources.smtp
    if not smtp.host or not addresses.addresses():
        return Delivery("not sent: no mail relay or no recipients configured")
    try:
        message = email_message(rendered, sender=addresses.sender, recipients=addresses.addresses())
    except ValueError as exc:  # an address that is not one plain address: nothing to keep
        context.log.warning("the report could not be sent: %s", exc)
        return Delivery(f"failed: {exc}", error=str(exc))
    try:
        smtp.send(message=message)
    except RemoteError as exc:
        kept = keep_unsent(folder, message)
        waiting = tuple(unsent_reports(folder.parent, besides=folder))
        earlier = f"; {len(waiting)} earlier report(s) still wait" if waiting else ""
        status = f"failed: {exc} (kept unsent; the next run sends it{earlier})"
        return Delivery(status, unsent=kept, error=str(exc), late=LateSending((), waiting))
    late = send_unsent(
        unsent_reports(folder.parent, besides=folder),
        lambda kept_message: smtp.send(message=kept_message),
        sender=addresses.sender,
        recipients=addresses.addresses(),
    )
    count = len(addresses.addresses())
    status = f"sent to {count} recipient{'' if count == 1 else 's'}"
    if late.sent:
        status += f"; {len(late.sent)} earlier unsent report(s) sent late"
    if late.still_unsent:
        status += f"; {len(late.still_unsent)} earlier report(s) still unsent: {late.error}"
    return Delivery(status, late=late)

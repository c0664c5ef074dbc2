"""The report step of a connection: the result email, the files kept with the run, the run closed.

The report is rendered from the plan and the apply step's results (a pure render), kept as files,
and sent to the connection's recipients. A failed send is recorded with the run and never loses
the run's results: they are already in the history, and the report is on disk. A dry run keeps
its report as a file and sends nothing.
"""

import logging
import shutil
from datetime import UTC, datetime

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
from assets.planning import RunPlan, scratch_folder
from assets.report.build import build_run_report
from assets.report.message import email_message, write_report_files
from assets.report.render import render_report
from assets.run_options import run_options
from assets.stage_clock import StageClock
from resources.errors import RemoteError
from resources.history.runs import TARGETED

logger = logging.getLogger(__name__)


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
        options = run_options(context.run.tags)
        result = run_plan.result
        with clock.part("report"):
            rendered, files, ended_at, email_status = _report(context, run_plan, results)
        if not options.dry_run:
            with clock.part("history"):
                context.resources.history.store().finish_run(
                    run_id=context.run.run_id,
                    outcome="guard_stopped" if result.writes_stopped else "succeeded",
                    ended_at=ended_at,
                    summary={"headline": rendered.subject, **_summary(result.sync_plan, results)},
                    report_path=str(files.html),
                    email_status=email_status,
                )
        shutil.rmtree(scratch_folder(context), ignore_errors=True)
        return dg.Output(
            {"subject": rendered.subject, "html": str(files.html), "email": email_status},
            metadata={
                "subject": rendered.subject,
                "report": dg.MetadataValue.path(str(files.html)),
                "email": email_status,
                **clock.metadata(),
            },
        )

    def _report(context: AssetExecutionContext, run_plan: RunPlan, results: pl.DataFrame):
        """Build, render, keep and send the report: (rendered, files, ended at, email status)."""
        options = run_options(context.run.tags)
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
            dagster_run_url=reports.run_url(context.run.run_id),
            # A targeted run's email is short: a few rows per section.
            **(
                {"targeted_users": targeted_users, "max_listed": TARGETED_MAX_LISTED}
                if (targeted_users := _targeted_users(context)) is not None
                else {}
            ),
        )
        rendered = render_report(report)
        files = write_report_files(rendered, reports.run_folder(connection, context.run.run_id))
        if report.worth_sending:
            email_status = _send(context, rendered, recipients_key, dry_run=options.dry_run)
        else:
            email_status = "not sent: a targeted run with nothing applied, failed or waiting"
        return rendered, files, report.ended_at, email_status

    return sync_report


#: Rows per section in a targeted run's email.
TARGETED_MAX_LISTED = 10


def _targeted_users(context: AssetExecutionContext) -> int | None:
    """For a targeted run, how many users it was asked to read (from its run record)."""
    if not run_options(context.run.tags).targeted:
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


def _send(context: AssetExecutionContext, rendered, recipients_key: str, *, dry_run: bool) -> str:
    """Send the report; returns what happened, in words (recorded with the run)."""
    if dry_run:
        return "not sent: dry run"
    addresses = getattr(context.resources, recipients_key)
    smtp = context.resources.smtp
    if not smtp.host or not addresses.addresses():
        return "not sent: no mail relay or no recipients configured"
    try:
        message = email_message(rendered, sender=addresses.sender, recipients=addresses.addresses())
        smtp.send(message=message)
    except (RemoteError, ValueError) as exc:
        context.log.warning("the report could not be sent: %s", exc)
        return f"failed: {exc}"
    count = len(addresses.addresses())
    return f"sent to {count} recipient{'' if count == 1 else 's'}"

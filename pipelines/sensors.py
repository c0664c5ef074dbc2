"""The run-failure sensor: a connection's recipients hear about a failed run, with the error."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from email.message import EmailMessage

import dagster as dg

from assets.keys import job_name, targeted_job_name
from assets.printable import printable
from assets.sync_report import ReportsResource
from pipelines.connections import Connection
from resources.errors import RemoteError
from resources.history import HistoryResource
from resources.smtp import SmtpResource


def failure_message(
    connection: str,
    *,
    sender: str,
    recipients: Sequence[str],
    run_id: str,
    error: str,
    run_url: str | None,
) -> EmailMessage:
    """The email telling a connection's recipients that its run failed, and why."""
    message = EmailMessage()
    message["Subject"] = f"Huma ↔ Entra ID ({connection}): the run failed"
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Auto-Submitted"] = "auto-generated"
    lines = [
        f"The reconciliation run {run_id} of connection {connection} failed before it finished.",
        "",
        "Error:",
        # The error may quote an answer of Huma or Graph: no control sequence of theirs goes on.
        printable(error, keep_lines=True),
        "",
        "Changes that were applied before the failure are recorded in the history; the next run "
        "settles any change whose outcome is unknown before it sends anything.",
    ]
    if run_url:
        lines += ["", f"The run in Dagster: {run_url}"]
    message.set_content("\n".join(lines))
    return message


def failure_reason(context: dg.RunFailureSensorContext) -> str:
    """What failed, in the words of the root error of each failed step (not Dagster's wrapper)."""
    reasons = []
    for event in context.get_step_failure_events():
        error = event.step_failure_data.error if event.step_failure_data else None
        while error is not None and error.cause is not None:
            error = error.cause
        message = error.message.strip() if error is not None else event.message
        reasons.append(f"{event.step_key}: {message}")
    return "\n".join(reasons) or context.failure_event.message or "unknown error"


def failure_sensor(
    connections: Sequence[Connection], jobs: Sequence[dg.UnresolvedAssetJobDefinition]
) -> dg.SensorDefinition:
    """One sensor for every connection's job."""
    by_job = {job_name(c.name): c for c in connections} | {
        targeted_job_name(c.name): c for c in connections
    }

    @dg.run_failure_sensor(
        name="email_on_run_failure",
        monitored_jobs=list(jobs),
        description="Records a failed run in the history and emails its connection's recipients "
        "the error.",
    )
    def email_on_run_failure(
        context: dg.RunFailureSensorContext,
        history: HistoryResource,
        smtp: SmtpResource,
        reports: ReportsResource,
    ) -> None:
        connection = by_job.get(context.dagster_run.job_name)
        if connection is None:
            return
        run_id = context.dagster_run.run_id
        error = failure_reason(context)
        store = history.store()
        if store.run(run_id=run_id) is not None:  # the run got as far as beginning its record
            store.finish_run(
                run_id=run_id, outcome="failed", ended_at=datetime.now(UTC), error=error
            )
        recipients, sender = connection.report.resolved(f"connection {connection.name}")
        if not smtp.host or not recipients:
            context.log.info("no mail relay or recipients for %s: nothing sent", connection.name)
            return
        message = failure_message(
            connection.name,
            sender=sender,
            recipients=recipients,
            run_id=run_id,
            error=error,
            run_url=reports.run_url(run_id),
        )
        try:
            smtp.send(message=message)
        except RemoteError as exc:
            context.log.warning(
                "the failure email for %s could not be sent: %s", connection.name, exc
            )

    return email_on_run_failure

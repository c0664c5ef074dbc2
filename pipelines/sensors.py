"""The run-failure sensor: a connection's recipients hear about a failed run, with the error."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import dagster as dg

from assets.keys import job_name, targeted_job_name
from assets.report.failure import failure_message
from assets.sync_report import ReportsResource
from pipelines.connections import Connection
from resources.errors import RemoteError
from resources.history import HistoryResource
from resources.smtp import SmtpResource


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
        try:
            message = failure_message(
                connection.name,
                sender=sender,
                recipients=recipients,
                run_id=run_id,
                error=error,
                run_url=reports.run_url(run_id),
            )
            smtp.send(message=message)
        except (
            RemoteError,
            ValueError,
        ) as exc:  # ValueError: an address that is not one plain address
            context.log.warning(
                "the failure email for %s could not be sent: %s", connection.name, exc
            )

    return email_on_run_failure

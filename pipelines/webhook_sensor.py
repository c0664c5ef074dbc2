"""The webhook sensor of a connection: the Huma webhook events stored for it start runs.

Each tick first gives back the events of runs that took some and will never finish them (failed,
canceled, lost, or a console run killed outright, which `assets.run_exclusion` marks failed:
`assets.targeting.give_back_lost`), so nothing is lost. Then, when nothing of the
connection runs or waits in the queue, it asks for one run covering everything stored:

* an export (`users-export`) waiting: a full run of the connection's nightly job;
* users created or changed: a run of the targeted job, which reads only them (the run takes every
  change event stored up to its start, so a burst becomes one run and each user is read once;
  deletions and exports keep waiting for a full run);
* only deletions: nothing; they wait for the next full run, whose snapshots decide deletions.

While a run of the connection is in progress (the nightly one, say), the sensor waits: the
events that run took at its start are folded into it, the others get a targeted run after it.
The run key is the newest event's sequence and the number of give-backs so far: a tick evaluated
twice never asks for a second run, and events given back after a failure are asked for again.
"""

from __future__ import annotations

import dagster as dg

from assets.keys import job_name, targeted_job_name
from assets.run_exclusion import running_before
from assets.run_options import CONNECTION_TAG, TARGETED_USERS_TAG
from assets.targeting import event_store, give_back_lost
from pipelines.connections import Connection
from resources.history import HistoryResource

#: The statuses of a run waiting to start: a new run would only queue behind it.
_QUEUED = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED]
WEBHOOK_EVENTS_TAG = "huma-entra-sync/webhook-events"


def webhook_sensor_name(connection: str) -> str:
    return f"webhooks_{connection}"


def webhook_sensor(
    connection: Connection,
    full_job: dg.UnresolvedAssetJobDefinition,
    targeted_job: dg.UnresolvedAssetJobDefinition,
) -> dg.SensorDefinition:
    """The sensor turning `connection`'s stored webhook events into runs of its two jobs."""
    name = connection.name

    @dg.sensor(
        name=webhook_sensor_name(name),
        jobs=[targeted_job, full_job],
        minimum_interval_seconds=connection.webhook_min_interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"{name}: a targeted run for the users Huma's webhooks named (a full run "
        "for an export), never while another run of the connection is in progress.",
    )
    def webhooks(context: dg.SensorEvaluationContext, history: HistoryResource):
        return evaluate(context.instance, name, history.path)

    return webhooks


def evaluate(
    instance: dg.DagsterInstance, connection: str, history_path: str
) -> dg.RunRequest | dg.SkipReason:
    """One tick of the connection's webhook sensor (see the module docstring)."""
    store = event_store(history_path, connection)
    # First, so that a console run killed outright is marked failed and gives its events back.
    running = running_before(instance, connection, run_id=None)
    lost = give_back_lost(store, instance)
    busy = [running] if running is not None else []
    busy += instance.get_run_records(
        dg.RunsFilter(tags={CONNECTION_TAG: connection}, statuses=_QUEUED), limit=1
    )
    if busy:
        run = busy[0].dagster_run
        return dg.SkipReason(
            f"run {run.run_id} of {connection} is {run.status.value.lower()}: the events wait "
            "for it (those it took are covered by it)"
        )
    waiting = store.peek()
    if waiting.empty:
        return dg.SkipReason("no webhook events waiting" + (f"; gave back {lost}" if lost else ""))
    if not waiting.changed and not waiting.full_run:
        return dg.SkipReason(
            f"only deletions wait ({len(waiting.deleted)} users): the next full run decides them"
        )
    tags = {
        WEBHOOK_EVENTS_TAG: str(len(waiting.sequences)),
        TARGETED_USERS_TAG: str(len(waiting.changed)),
    }
    # Given back after a failed run, the same events need a new key to run again.
    run_key = f"webhook-events-{max(waiting.sequences)}-{store.give_backs()}"
    if waiting.full_run:
        return dg.RunRequest(run_key=run_key, job_name=job_name(connection), tags=tags)
    return dg.RunRequest(run_key=run_key, job_name=targeted_job_name(connection), tags=tags)

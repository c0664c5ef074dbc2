"""One run per connection at a time, however runs are started (schedule, UI, console).

The deployment's run queue keeps a second run of a connection waiting while one is in progress (a
tag concurrency limit on `CONNECTION_TAG`, one per value, in the instance's `dagster.yaml`), and the
console holds an OS lock per connection (`resources.run_lock`). Both can be bypassed (an instance
without the limit, a console run racing a launched one), so every run also checks at its start:
of the connection's runs in progress, the one that started first goes on and every other stops at
once, before reading or writing anything, naming it. The order by start time (then run id) is
the same for every run that checks, so two runs that start together never both go on.

A rollback (`huma-entra-sync rollback`) is no Dagster run: it holds the connection's console lock
for its writes, and a run refuses at its start while a rollback holds it (the rollback, for its
part, refuses while the instance has a run of the connection in progress).

A console run killed outright stays "started" in the instance; it is told from a live one by its
lock, no longer held for it, and marked failed so it holds up nobody (a run a launcher started is
marked by Dagster's run monitoring instead).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from assets.run_options import CONNECTION_TAG
from resources.run_lock import holder_note, holding_run, lock_path, run_lock_folder

#: Tag of a console run: the lock file its process holds for the run.
CONSOLE_LOCK_TAG = "huma-entra-sync/console-lock"

_RUNNING = [
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


def _order(record: dg.RunRecord) -> tuple[float, str]:
    """Runs in the order they started; a run still starting comes after every started one."""
    started = record.start_time if record.start_time is not None else float("inf")
    return (started, record.dagster_run.run_id)


def _dead_console_run(record: dg.RunRecord) -> bool:
    """A console run whose process no longer holds its connection's lock (it ended without
    telling the instance)."""
    lock = record.dagster_run.tags.get(CONSOLE_LOCK_TAG)
    return lock is not None and holding_run(Path(lock)) != record.dagster_run.run_id


def origin(run: dg.DagsterRun) -> str:
    """How a run was started, in words."""
    tags = run.tags
    if CONSOLE_LOCK_TAG in tags:
        return "started from the console"
    if "dagster/schedule_name" in tags:
        return f"started by the schedule {tags['dagster/schedule_name']}"
    if "dagster/sensor_name" in tags:
        return f"started by the sensor {tags['dagster/sensor_name']}"
    return "started from the UI or the API"


def running_before(
    instance: dg.DagsterInstance, connection: str, *, run_id: str | None
) -> dg.RunRecord | None:
    """The run of `connection` in progress that goes before run `run_id`, if there is one.

    Console runs whose process is gone are marked failed on the way (they go before nobody).

    Args:
        instance: The Dagster instance the runs are kept in.
        connection: The connection.
        run_id: The run asking; None for a run not created yet (every run in progress goes
            before it).

    Returns:
        The first-started other run in progress, when it started before `run_id`; else None.
    """
    records = instance.get_run_records(
        dg.RunsFilter(tags={CONNECTION_TAG: connection}, statuses=_RUNNING)
    )
    mine = next((r for r in records if r.dagster_run.run_id == run_id), None)
    others = []
    for record in records:
        if record is mine:
            continue
        if _dead_console_run(record):
            instance.report_run_failed(
                record.dagster_run,
                "the console process running it ended before the run did (killed?); "
                "the next run settles what it left unfinished",
            )
            continue
        others.append(record)
    first = min(others, key=_order, default=None)
    if first is None or (mine is not None and _order(mine) < _order(first)):
        return None
    return first


def refusal(connection: str, record: dg.RunRecord) -> str:
    """Why a run of `connection` does not go on while `record`'s run is in progress."""
    run = record.dagster_run
    started = (
        datetime.fromtimestamp(record.start_time, UTC).isoformat(timespec="seconds")
        if record.start_time is not None
        else "just now"
    )
    return (
        f"connection {connection} is already running: run {run.run_id} ({origin(run)}, "
        f"since {started}); this run stopped before reading or writing anything"
    )


def rollback_in_progress(history: Path, connection: str) -> str | None:
    """Why a run of `connection` may not start now because a rollback of it holds the
    connection's lock (beside the `history` file), or None when none does."""
    note = holder_note(lock_path(run_lock_folder(history), connection))
    if note is None or not note.get("activity"):
        return None  # free, or held by a console run: the instance knows that one
    where = ", ".join(f"{k} {note[k]}" for k in ("pid", "host", "since") if note.get(k))
    return (
        f"connection {connection} is being rolled back: {note['activity']} (rollback run "
        f"{note.get('run_id', '?')}, {where}); this run stopped before reading or writing anything"
    )


def refuse_if_running(context: dg.AssetExecutionContext, connection: str) -> None:
    """Stop this run when another run of `connection` in progress goes before it, or a
    rollback of `connection` is in progress.

    Raises:
        dg.Failure: Another run goes first, or a rollback is running; the message names it.
    """
    record = running_before(context.instance, connection, run_id=context.run.run_id)
    if record is not None:
        raise dg.Failure(description=refusal(connection, record), allow_retries=False)
    rollback = rollback_in_progress(Path(context.resources.history.path), connection)
    if rollback is not None:
        raise dg.Failure(description=rollback, allow_retries=False)

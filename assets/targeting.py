"""Which users a run reads, from the Huma webhook events it takes (`resources.webhook_events`).

Every run that writes takes the events waiting when its first snapshot step starts
(`WebhookEventStore.take`: both snapshot steps get the same set). A targeted run reads only
the users those events name; a full run reads everybody anyway, so the events it takes are folded
into it and not run again. The apply step marks them done once the writes are settled; a run that
fails or is lost leaves them taken until somebody gives them back (`give_back_lost`, called by
every run's first step and by the webhook sensor's every tick), and the next run covers them.
A dry run takes nothing: it writes nothing, so it cannot be the run that covers a change.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import polars as pl

from assets.run_options import run_options
from resources.webhook_events import TakenEvents, WebhookEventStore, event_store_path

#: Run statuses of a run that may still finish its events.
_LIVE = frozenset(
    {
        dg.DagsterRunStatus.QUEUED,
        dg.DagsterRunStatus.NOT_STARTED,
        dg.DagsterRunStatus.STARTING,
        dg.DagsterRunStatus.STARTED,
        dg.DagsterRunStatus.CANCELING,
    }
)


def event_store(history_path: str | Path, connection: str) -> WebhookEventStore:
    """The connection's webhook event store, beside the history file."""
    return WebhookEventStore(event_store_path(Path(history_path), connection))


def give_back_lost(store: WebhookEventStore, instance: dg.DagsterInstance) -> list[str]:
    """Give back the events of every run that took some and will never finish them: failed,
    canceled, ended without finishing them, or unknown to the instance. Returns those runs."""
    lost = []
    for run_id in sorted(store.holding_runs()):
        run = instance.get_run_by_id(run_id)
        if run is None or run.status not in _LIVE:
            store.give_back(run_id)
            lost.append(run_id)
    return lost


def taken_events(context: dg.AssetExecutionContext, connection: str) -> TakenEvents | None:
    """The events this run covers (taken at its first ask); None for a dry run."""
    if run_options(context.run.tags).dry_run:
        return None
    store = event_store(context.resources.history.path, connection)
    for run_id in give_back_lost(store, context.instance):
        context.log.warning("gave back the webhook events of run %s, which did not finish", run_id)
    return store.take(context.run.run_id)


def finish_events(context: dg.AssetExecutionContext, connection: str) -> int:
    """Mark this run's events done (its writes are settled); returns how many."""
    if run_options(context.run.tags).dry_run:
        return 0
    return event_store(context.resources.history.path, connection).finish(context.run.run_id)


def named_ids_frame(events: TakenEvents) -> pl.DataFrame:
    """The Huma ids a targeted run was asked to read, for the UI (ids only: no emails there)."""
    return pl.DataFrame(
        {"huma_id": [user.huma_id for user in events.changed]}, schema={"huma_id": pl.String()}
    )

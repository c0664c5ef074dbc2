"""Which users a run reads, from the Huma webhook events it takes (`resources.webhook_events`).

Every run that writes takes the events waiting when its first snapshot step starts
(`WebhookEventStore.take`: both snapshot steps get the same set). A targeted run takes only the
changes and reads only the users they name (deletions wait for a full run, whose report lists
them: `webhook_deletions`); a full run reads everybody anyway, so the events it takes are folded
into it and not run again. The apply step marks them done once the writes are settled; a run that
fails or is lost leaves them taken until somebody gives them back (`give_back_lost`, called by
every run's first step and by the webhook sensor's every tick), and the next run covers them.
A dry run takes nothing: it writes nothing, so it cannot be the run that covers a change.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import polars as pl

from assets.report.sections import WEBHOOK_DELETIONS_SCHEMA
from assets.run_options import run_options
from reconcile.engine import PlanResult
from reconcile.uniqueness import key_schemas
from reconcile.vocabulary import HUMA, NOTICE_DELETED_IN_HUMA
from resources.graph import member_upn_domains
from resources.history import HistoryStore
from resources.webhook_events import (
    CHANGE_TOPICS,
    RETENTION,
    TOPICS,
    EventUser,
    TakenEvents,
    WebhookEventStore,
    event_store_path,
)

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
    """The events this run covers (taken at its first ask); None for a dry run. A targeted run
    takes only changes: deletions and exports wait for a full run."""
    options = run_options(context.run)
    if options.dry_run:
        return None
    store = event_store(context.resources.history.path, connection)
    for run_id in give_back_lost(store, context.instance):
        context.log.warning("gave back the webhook events of run %s, which did not finish", run_id)
    return store.take(context.run.run_id, topics=CHANGE_TOPICS if options.targeted else TOPICS)


def finish_events(context: dg.AssetExecutionContext, connection: str) -> int:
    """Mark this run's events done (its writes are settled), and forget what was settled longer
    than `RETENTION` ago (every run that writes passes here, the nightly one at least once a
    day); returns how many events this run finished."""
    if run_options(context.run).dry_run:
        return 0
    store = event_store(context.resources.history.path, connection)
    finished = store.finish(context.run.run_id)
    forgotten = store.forget_done(datetime.now(UTC) - RETENTION)
    if forgotten:
        context.log.info("forgot %d webhook events done more than %s ago", forgotten, RETENTION)
    return finished


def named_ids_frame(events: TakenEvents) -> pl.DataFrame:
    """The Huma ids a targeted run was asked to read, for the UI (ids only: no emails there)."""
    return pl.DataFrame(
        {"huma_id": [user.huma_id for user in events.changed]}, schema={"huma_id": pl.String()}
    )


def webhook_deletions(
    context: dg.AssetExecutionContext, connection: str, result: PlanResult, *, huma_partial: bool
) -> pl.DataFrame | None:
    """For a full run that writes, the users the `users-delete` events it covered named, with
    what it did about them (`deletion_outcomes`); None for a targeted or dry run (they take no
    deletions)."""
    options = run_options(context.run)
    if options.dry_run or options.targeted:
        return None
    covered = event_store(context.resources.history.path, connection).covered(context.run.run_id)
    return deletion_outcomes(covered.deleted, result, huma_partial=huma_partial)


def deletion_outcomes(
    deleted: Sequence[EventUser], result: PlanResult, *, huma_partial: bool
) -> pl.DataFrame:
    """What a full run did about each user a `users-delete` webhook named: the webhook only
    marks them, the run's complete snapshots decide (SPEC §6: nothing is deleted in Entra; a
    linked user gone from Huma is reported, and offered for re-creation when Entra's record did
    not change since).

    Returns:
        `WEBHOOK_DELETIONS_SCHEMA`, one row per user in the events' order.
    """
    users = pl.DataFrame(
        {"huma_id": [u.huma_id for u in deleted], "email": [u.email for u in deleted]},
        schema={"huma_id": pl.String(), "email": pl.String()},
    )
    notices = (
        result.notices.filter(pl.col("kind") == NOTICE_DELETED_IN_HUMA)
        .select("huma_id", pl.col("message").alias("notice"))
        .unique("huma_id", keep="first", maintain_order=True)
    )
    read = pl.concat(
        [
            result.huma_users.select("huma_id"),
            result.validation_failures.filter(pl.col("side") == HUMA).select(
                pl.col("user_id").alias("huma_id")
            ),
        ]
    ).get_column("huma_id")
    outcome = (
        pl.when(pl.col("notice").is_not_null())
        .then(pl.col("notice"))
        .when(pl.col("huma_id").is_in(read.implode()))
        .then(pl.lit("still in Huma (added back, or not deleted after all): synced as usual"))
        .when(pl.lit(huma_partial))
        .then(pl.lit("Huma could not be read in full: the next complete run decides"))
        .otherwise(pl.lit("gone from Huma, linked to no Entra user: nothing to do"))
    )
    return (
        users.join(notices, on="huma_id", how="left", maintain_order="left")
        .select("huma_id", "email", outcome.alias("outcome"))
        .cast(dict(WEBHOOK_DELETIONS_SCHEMA))
    )


def unread_users(
    context: dg.AssetExecutionContext,
    connection: str,
    *,
    huma_read: pl.DataFrame,
    huma_planned: pl.DataFrame,
    entra_read: pl.DataFrame,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """For a targeted run, the Huma and Entra users it does not plan for, whose email, phone and
    employment ID its writes must still not repeat and the users it read must not share
    (SPEC §3, §4): `unread_keys` of this run."""
    return unread_keys(
        context.resources.history.store(),
        connection,
        run_id=context.run.run_id,
        huma_read=huma_read,
        huma_planned=huma_planned,
        entra_read=entra_read,
    )


def known_domains(unread_entra: pl.DataFrame) -> frozenset[str]:
    """For a targeted run, the verified domains the Entra users it did not read show (the
    domains of the members' user principal names, `unread_keys`' Entra side): each is verified,
    whether or not the app may read the tenant's domains."""
    return frozenset(member_upn_domains(unread_entra))


def unread_keys(
    store: HistoryStore,
    connection: str,
    *,
    run_id: str,
    huma_read: pl.DataFrame,
    huma_planned: pl.DataFrame,
    entra_read: pl.DataFrame,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The ids and unique keys (`uniqueness.key_schemas`) of everyone of the connection's
    latest full snapshot of each side that the guards accepted complete (a partial one misses
    users who still hold their keys) that run `run_id` did not read afresh, and of the Huma
    users it read but leaves to the next run (`assets.planning.read_on_both_sides`).

    One read of the history, of those columns only: at 100,000 users a side, the whole
    snapshots cost the run several times the time and memory (`benchmarks.targeted_history`).

    A value another user got after that full snapshot (through a later targeted run) is not
    seen here; the next full run holds such a pair out as duplicates, as it would anyway.

    Returns:
        `(huma, entra)` as `plan_run(unread=...)` takes them.
    """
    huma_schema, entra_schema = key_schemas()
    huma_seen, entra_seen = store.latest_full_columns(
        connection=connection,
        before_run_id=run_id,
        huma_columns=huma_schema.names(),
        entra_columns=entra_schema.names(),
    )
    huma = pl.concat(
        [
            huma_seen.join(huma_read, on="huma_id", how="anti"),
            huma_read.join(huma_planned, on="huma_id", how="anti").select(huma_schema.names()),
        ]
    )
    entra = entra_seen.join(entra_read, on="entra_id", how="anti")
    return huma, entra

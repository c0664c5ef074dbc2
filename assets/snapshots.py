"""The two snapshot assets of a connection: every Huma user and every Entra user, as read.

Thin: the resource reads, the history keeps both snapshots with the run, and the UI gets counts.
Both first make sure no other run of the connection is in progress (`assets.run_exclusion`): they
are the run's first steps.
A snapshot that could not be read consistently is still passed on (the engine's snapshot guard
stops the writes and says why) and fails the `complete` warning check.
"""

import dataclasses
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import dagster as dg
import polars as pl
from dagster import AssetExecutionContext

from assets.keys import (
    ENTRA_USERS_RAW,
    HISTORY,
    HUMA_USERS_RAW,
    graph_resource_key,
    huma_resource_key,
)
from assets.metadata import StageClock, frame_metadata, markdown_table, numbers
from assets.run_exclusion import refuse_if_running
from assets.run_options import run_options
from assets.targeting import named_ids_frame, taken_events
from reconcile.lifecycle import is_guest
from resources.graph import EntraSnapshot, GraphResource
from resources.history.runs import FULL, TARGETED
from resources.huma import HumaSnapshot
from resources.webhook_events import TakenEvents

COMPLETE = "complete"
#: A Huma payload with a second or third address line (what the apply step reads).
_LINES = '"line[23]":'


def snapshot_assets(connection: str) -> list[dg.AssetsDefinition]:
    """`huma_users_raw` and `entra_users_raw` of the connection named `connection`."""
    return [_huma_users_raw(connection), _entra_users_raw(connection)]


def _snapshot_asset(
    connection: str, name: str, resource: str, kind: str, complete_means: str
) -> Callable[[Callable[..., Any]], dg.AssetsDefinition]:
    key = dg.AssetKey([connection, name])
    return dg.asset(
        key=key,
        group_name=connection,
        required_resource_keys={resource, HISTORY},
        kinds={kind, "polars"},
        tags={"connection": connection},
        check_specs=[dg.AssetCheckSpec(COMPLETE, asset=key, description=complete_means)],
    )


def _huma_users_raw(connection: str) -> dg.AssetsDefinition:
    resource = huma_resource_key(connection)

    @_snapshot_asset(
        connection,
        HUMA_USERS_RAW,
        resource,
        "huma",
        "Every user was read in one consistent pass over Huma's user list.",
    )
    def huma_users_raw(context: AssetExecutionContext):
        """One row per Huma user (active and deactivated), as Huma's Open API returns them.

        Read in full every run: `GET /users` pages plus `GET /users/{id}` for each user's details,
        normalised (SPEC §3), with each raw payload kept for the history.
        """

        refuse_if_running(context, connection)
        events = taken_events(context, connection)
        targeted = events is not None and run_options(context.run).targeted

        def progress(stage: str, done: int, total: int) -> None:
            if stage == "details" and done == total:
                context.log.info("read the details of %d Huma users", done)

        clock = StageClock()
        with clock.part("read"):
            huma = getattr(context.resources, resource)
            snapshot: HumaSnapshot = (
                huma.read_users(huma_ids=[user.huma_id for user in events.changed])
                if targeted and events is not None
                else huma.snapshot(progress=progress)
            )
        active = snapshot.users.filter(pl.col("active")).height
        yield from _snapshot_events(
            context,
            connection,
            "huma",
            snapshot,
            clock,
            events,
            active=active,
            deactivated=snapshot.users.height - active,
        )

    return huma_users_raw


def _entra_users_raw(connection: str) -> dg.AssetsDefinition:
    resource = graph_resource_key(connection)

    @_snapshot_asset(
        connection, ENTRA_USERS_RAW, resource, "entra", "Every page of Graph's user list was read."
    )
    def entra_users_raw(context: AssetExecutionContext):
        """One row per Entra user (members and guests, enabled or not), as Microsoft Graph returns
        them, with the tenant's verified domains.

        Read in full every run: `GET /users` with an explicit `$select` and `$top=999`, following
        every `@odata.nextLink`, normalised (SPEC §3), with each raw object kept for the history.
        """
        refuse_if_running(context, connection)
        events = taken_events(context, connection)
        clock = StageClock()
        with clock.part("read"):
            graph = getattr(context.resources, resource)
            if events is not None and run_options(context.run).targeted:
                snapshot: EntraSnapshot = _read_named(context, connection, graph, events)
            else:
                snapshot = graph.snapshot()
        members = snapshot.users.filter(~is_guest())
        yield from _snapshot_events(
            context,
            connection,
            "entra",
            snapshot,
            clock,
            events,
            members=members.height,
            guests=snapshot.users.height - members.height,
            disabled=members.filter(~pl.col("account_enabled")).height,
            verified_domains=len(snapshot.verified_domains),
        )

    return entra_users_raw


def _snapshot_events(
    context: AssetExecutionContext,
    connection: str,
    side: str,
    snapshot: HumaSnapshot | EntraSnapshot,
    clock: StageClock,
    events: TakenEvents | None,
    **counts: int,
) -> Iterator[dg.Output | dg.AssetCheckResult]:
    """Keep the snapshot with the run, then hand it on with its metadata and `complete` check.

    The metadata's numbers (users, requests, the read's and the history's seconds) are plotted
    by the UI run after run.
    """
    options = run_options(context.run)
    targeted = options.targeted and events is not None
    if not options.dry_run:  # a dry run writes nothing, not even to the history
        with clock.part("history"):
            _keep_snapshot(context, connection, side, snapshot, options.mode, events)
    yield dg.Output(
        passed_on(snapshot),
        metadata=frame_metadata(
            snapshot.users,
            complete=snapshot.complete,
            **_scope_metadata(events, targeted=targeted),
            **numbers(
                users=snapshot.users.height,
                requests=snapshot.requests,
                seconds=round(snapshot.seconds, 2),
                **counts,
            ),
            **clock.metadata(),
        ),
    )
    yield dg.AssetCheckResult(
        check_name=COMPLETE,
        passed=snapshot.complete,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"users": snapshot.users.height},
    )


def passed_on(snapshot: HumaSnapshot | EntraSnapshot) -> HumaSnapshot | EntraSnapshot:
    """The snapshot as the later steps get it: the raw payloads are the history's (kept above),
    so only the Huma payloads with a second or third address line stay, which the apply step
    sends back unchanged (`assets.apply.run.address_lines`); the rest would be pickled and
    loaded again by every later step for nothing."""
    if isinstance(snapshot, HumaSnapshot):  # its payloads packed: filtered a chunk at a time
        kept = snapshot.raw.filter(lambda raw: raw.get_column("payload").str.contains(_LINES))
        return dataclasses.replace(snapshot, raw=kept)
    return dataclasses.replace(snapshot, raw=snapshot.raw.clear())


def _keep_snapshot(
    context: AssetExecutionContext,
    connection: str,
    side: str,
    snapshot: HumaSnapshot | EntraSnapshot,
    mode: str,
    events: TakenEvents | None,
) -> None:
    """Begin the run in the history (once) and keep the snapshot with it."""
    targeted = events is not None and run_options(context.run).targeted
    store = context.resources.history.store()
    run_id = context.run.run_id
    started_at = run_started_at(context)
    # One opening of the file for both writes: each opening costs a checkpoint when it closes.
    with store.session(doing=f"run {run_id} of connection {connection}: {side} snapshot"):
        # Both snapshot steps begin the run (whichever comes first); its start is Dagster's.
        store.begin_run(
            run_id=run_id,
            connection=connection,
            mode=mode,
            started_at=started_at,
            dagster_run_id=run_id,
            scope=TARGETED if targeted else FULL,
            scope_users=len(events.changed) if targeted and events is not None else None,
        )
        store.record_snapshot(
            run_id=run_id,
            side=side,
            users=snapshot.users,
            raw=snapshot.raw,
            complete=snapshot.complete,
        )


def _read_named(
    context: AssetExecutionContext, connection: str, graph: GraphResource, events: TakenEvents
) -> EntraSnapshot:
    """The Entra side of the users `events` name: a linked user by its link's object id, any
    other by the email the event carried (mail or UPN)."""
    named = [user.huma_id for user in events.changed]
    links = context.resources.history.store().linked_entra_ids(
        connection=connection, huma_ids=named
    )
    return graph.read_users(
        entra_ids=list(links.values()),
        emails=[user.email for user in events.changed if user.huma_id not in links],
    )


def _scope_metadata(events: TakenEvents | None, *, targeted: bool) -> dict[str, Any]:
    """What the UI shows of a run's scope: full or targeted, the events it took, and for a
    targeted run the Huma ids it was asked to read (ids only, never emails)."""
    if events is None:
        return {"scope": FULL}
    metadata: dict[str, Any] = {
        "scope": TARGETED if targeted else FULL,
        **numbers(webhook_events=len(events.sequences), users_named=len(events.changed)),
    }
    if targeted:
        metadata["named_users"] = dg.MetadataValue.md(
            markdown_table(named_ids_frame(events), limit=50)
        )
    return metadata


def run_started_at(context: AssetExecutionContext) -> datetime:
    """When the Dagster run started (the same for every step of the run)."""
    record = context.instance.get_run_record_by_id(context.run.run_id)
    started = record.start_time if record is not None and record.start_time else None
    return datetime.fromtimestamp(started, UTC) if started else datetime.now(UTC)

"""The two snapshot assets of a connection: every Huma user and every Entra user, as read.

Thin: the resource reads, the history keeps both snapshots with the run, and the UI gets counts.
A snapshot that could not be read consistently is still passed on (the engine's snapshot guard
stops the writes and says why) and fails the `complete` warning check.
"""

from __future__ import annotations

import dagster as dg
import polars as pl

from assets.keys import (
    ENTRA_USERS_RAW,
    HISTORY,
    HUMA_USERS_RAW,
    graph_resource_key,
    huma_resource_key,
)
from assets.metadata import frame_metadata
from assets.run_options import run_options
from resources.graph import EntraSnapshot
from resources.huma import HumaSnapshot

COMPLETE = "complete"


def snapshot_assets(connection: str) -> list[dg.AssetsDefinition]:
    """`huma_users_raw` and `entra_users_raw` of the connection named `connection`."""
    return [_huma_users_raw(connection), _entra_users_raw(connection)]


def _huma_users_raw(connection: str) -> dg.AssetsDefinition:
    key = dg.AssetKey([connection, HUMA_USERS_RAW])
    resource = huma_resource_key(connection)

    @dg.asset(
        key=key,
        group_name=connection,
        required_resource_keys={resource, HISTORY},
        kinds={"huma", "polars"},
        tags={"connection": connection},
        check_specs=[
            dg.AssetCheckSpec(
                COMPLETE,
                asset=key,
                description=("Every user was read in one consistent pass over Huma's user list."),
            )
        ],
    )
    def huma_users_raw(context: dg.AssetExecutionContext):
        """One row per Huma user (active and deactivated), as Huma's Open API returns them.

        Read in full every run: `GET /users` pages plus `GET /users/{id}` for each user's details,
        normalised (SPEC §3), with each raw payload kept for the history.
        """

        def progress(stage: str, done: int, total: int) -> None:
            if stage == "details" and done == total:
                context.log.info("read the details of %d Huma users", done)

        snapshot: HumaSnapshot = getattr(context.resources, resource).snapshot(progress=progress)
        _record(context, connection, "huma", snapshot.users, snapshot.raw)
        active = snapshot.users.filter(pl.col("active")).height
        yield dg.Output(
            snapshot,
            metadata=frame_metadata(
                snapshot.users,
                active=active,
                deactivated=snapshot.users.height - active,
                complete=snapshot.complete,
                requests=snapshot.requests,
                seconds=round(snapshot.seconds, 2),
            ),
        )
        yield dg.AssetCheckResult(
            check_name=COMPLETE,
            passed=snapshot.complete,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"users": snapshot.users.height},
        )

    return huma_users_raw


def _entra_users_raw(connection: str) -> dg.AssetsDefinition:
    key = dg.AssetKey([connection, ENTRA_USERS_RAW])
    resource = graph_resource_key(connection)

    @dg.asset(
        key=key,
        group_name=connection,
        required_resource_keys={resource, HISTORY},
        kinds={"entra", "polars"},
        tags={"connection": connection},
        check_specs=[
            dg.AssetCheckSpec(
                COMPLETE, asset=key, description=("Every page of Graph's user list was read.")
            )
        ],
    )
    def entra_users_raw(context: dg.AssetExecutionContext):
        """One row per Entra user (members and guests, enabled or not), as Microsoft Graph returns
        them, with the tenant's verified domains.

        Read in full every run: `GET /users` with an explicit `$select` and `$top=999`, following
        every `@odata.nextLink`, normalised (SPEC §3), with each raw object kept for the history.
        """
        snapshot: EntraSnapshot = getattr(context.resources, resource).snapshot()
        _record(context, connection, "entra", snapshot.users, snapshot.raw)
        members = snapshot.users.filter(pl.col("user_type") == "Member")
        yield dg.Output(
            snapshot,
            metadata=frame_metadata(
                snapshot.users,
                members=members.height,
                guests=snapshot.users.height - members.height,
                disabled=members.filter(~pl.col("account_enabled")).height,
                verified_domains=len(snapshot.verified_domains),
                requests=snapshot.requests,
                seconds=round(snapshot.seconds, 2),
            ),
        )
        yield dg.AssetCheckResult(
            check_name=COMPLETE,
            passed=snapshot.complete,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"users": snapshot.users.height},
        )

    return entra_users_raw


def _record(
    context: dg.AssetExecutionContext,
    connection: str,
    side: str,
    users: pl.DataFrame,
    raw: pl.DataFrame,
) -> None:
    """Keep the snapshot with the run (not in a dry run, which writes nothing)."""
    options = run_options(context.run.tags)
    if options.dry_run:
        return
    history = context.resources.history
    history.begin_run(run_id=context.run_id, connection=connection, mode=options.mode)
    history.record_snapshot(
        run_id=context.run_id, connection=connection, side=side, users=users, raw=raw
    )

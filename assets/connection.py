"""Every asset of one connection, in one list (what `pipelines.definitions` assembles)."""

from __future__ import annotations

import dagster as dg

from assets.applying import applying_asset
from assets.planning import planning_assets
from assets.reporting import reporting_asset
from assets.snapshots import snapshot_assets
from reconcile.policy import Policy


def connection_assets(connection: str, policy: Policy) -> list[dg.AssetsDefinition]:
    """Every asset (and its checks) of the connection named `connection`."""
    return [
        *snapshot_assets(connection),
        planning_assets(connection, policy),
        applying_asset(connection, policy),
        reporting_asset(connection),
    ]

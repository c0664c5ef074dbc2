"""Thin Dagster assets and checks: one copy of the asset graph per connection.

huma_users_raw ─┐                    ┌─ huma_users, entra_users, validation_failures,
                ├─ (plan_run) ───────┤  user_links, field_diffs, conflicts
entra_users_raw ┘                    └─ sync_plan ── applied_changes ── sync_report
"""

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

"""The deployment's one `Definitions`: every connection's assets, job and nightly schedule, the
run-failure sensor, and the resources; `defs` is what `dagster dev` and `workspace.yaml` load.

The connections come from the file named by `HUMA_ENTRA_SYNC_CONNECTIONS`, or, without one, the
`default` connection from SPEC §11's environment variables.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import dagster as dg

from assets.connection import connection_assets
from assets.keys import job_name
from assets.run_options import CONNECTION_TAG
from pipelines.connections import Connection, load_connections
from pipelines.resources import production_resources
from pipelines.sensors import failure_sensor

CONNECTIONS_FILE_VARIABLE = "HUMA_ENTRA_SYNC_CONNECTIONS"


def build_definitions(
    connections: Sequence[Connection], resources: Mapping[str, Any]
) -> dg.Definitions:
    """The definitions of `connections`, with `resources` (production's, or a test's)."""
    assets: list[dg.AssetsDefinition] = []
    jobs: list[dg.UnresolvedAssetJobDefinition] = []
    schedules: list[dg.ScheduleDefinition] = []
    for connection in connections:
        assets += connection_assets(connection.name, connection.policy)
        job = dg.define_asset_job(
            job_name(connection.name),
            selection=dg.AssetSelection.groups(connection.name),
            description=f"Reconcile Huma and Entra ID for connection {connection.name}.",
            tags={CONNECTION_TAG: connection.name},
        )
        jobs.append(job)
        schedules.append(
            dg.ScheduleDefinition(
                name=f"nightly_{connection.name}",
                job=job,
                cron_schedule=connection.cron,
                execution_timezone=connection.timezone,
                description=f"{connection.name}: nightly at '{connection.cron}' "
                f"({connection.timezone}).",
            )
        )
    return dg.Definitions(
        assets=assets,
        jobs=jobs,
        schedules=schedules,
        sensors=[failure_sensor(connections, jobs)],
        resources=dict(resources),
    )


def deployment_connections() -> list[Connection]:
    """The connections this deployment runs (see the module docstring)."""
    path = os.environ.get(CONNECTIONS_FILE_VARIABLE)
    return load_connections(Path(path) if path else None)


CONNECTIONS = deployment_connections()
defs = build_definitions(CONNECTIONS, production_resources(CONNECTIONS))

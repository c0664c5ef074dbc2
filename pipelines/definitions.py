"""The deployment's one `Definitions`: every connection's assets, jobs (nightly and targeted),
nightly schedule and webhook sensor, the run-failure sensor, and the resources; `defs` is what
`dagster dev` and `workspace.yaml` load.

The connections come from the file named by `HUMA_ENTRA_SYNC_CONNECTIONS`, or, without one, the
`default` connection from SPEC §11's environment variables; they are read when Dagster loads the
definitions (or a command asks for them), not when this module is imported.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import dagster as dg

from assets.applying import applying_asset
from assets.keys import job_name, targeted_job_name
from assets.planning import planning_assets
from assets.run_options import CONNECTION_TAG, TARGETED_TAG
from assets.snapshots import snapshot_assets
from assets.sync_report import reporting_asset
from pipelines.connections import Connection, deployment_connections
from pipelines.io_manager import run_outputs_io_manager
from pipelines.resources import production_resources
from pipelines.sensors import failure_sensor
from pipelines.webhook_sensor import webhook_sensor
from reconcile.policy import Policy
from resources.private_files import owner_only_from_now_on, tighten_tree

#: How a job's steps run, whoever starts it: one after the other in the run's process, as
#: `huma-entra-sync run` does. Dagster's default executor starts a process per step, each paying
#: the imports and the instance again and reading its inputs back from files; here a step hands
#: its outputs to the next in memory (`pipelines.io_manager`), and the files stay for
#: re-execution from a failed step.
ONE_PROCESS = dg.in_process_executor


def connection_assets(connection: str, policy: Policy) -> list[dg.AssetsDefinition]:
    """Every asset (and its checks) of the connection named `connection`, in the order data
    flows."""
    return [
        *snapshot_assets(connection),
        planning_assets(connection, policy),
        applying_asset(connection, policy),
        reporting_asset(connection),
    ]


def build_definitions(
    connections: Sequence[Connection], resources: Mapping[str, Any]
) -> dg.Definitions:
    """The definitions of `connections`, with `resources` (production's, or a test's); outputs pass
    between steps through `pipelines.io_manager` unless `resources` names another `io_manager`
    (which must honour `assets.keys.INPUT_PART`: the apply step takes one part of a snapshot)."""
    assets: list[dg.AssetsDefinition] = []
    jobs: list[dg.UnresolvedAssetJobDefinition] = []
    schedules: list[dg.ScheduleDefinition] = []
    sensors: list[dg.SensorDefinition] = []
    for connection in connections:
        assets += connection_assets(connection.name, connection.policy)
        job = dg.define_asset_job(
            job_name(connection.name),
            selection=dg.AssetSelection.groups(connection.name),
            description=f"Reconcile Huma and Entra ID for connection {connection.name}.",
            tags={CONNECTION_TAG: connection.name},
            executor_def=ONE_PROCESS,
        )
        targeted = dg.define_asset_job(
            targeted_job_name(connection.name),
            selection=dg.AssetSelection.groups(connection.name),
            description=f"Reconcile only the users Huma's webhooks named, for connection "
            f"{connection.name} (started by its webhook sensor).",
            tags={CONNECTION_TAG: connection.name, TARGETED_TAG: "true"},
            executor_def=ONE_PROCESS,
        )
        jobs += [job, targeted]
        sensors.append(webhook_sensor(connection, job, targeted))
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
        sensors=[failure_sensor(connections, jobs), *sensors],
        resources={"io_manager": run_outputs_io_manager, **resources},
    )


def deployment_definitions(connections: Sequence[Connection] | None = None) -> dg.Definitions:
    """The definitions of `connections` (default: the deployment's), with production resources."""
    if connections is None:
        connections = deployment_connections()
    return build_definitions(connections, production_resources(connections))


@dg.definitions
def defs() -> dg.Definitions:
    """What Dagster loads: the deployment's definitions, in a process that writes owner-only."""
    keep_dagster_files_private()
    return deployment_definitions()


def keep_dagster_files_private() -> None:
    """Everything this process writes from now on is owner-only, and so is the Dagster instance.

    Every process that runs our code loads the definitions first (the code server, each run
    worker `dagster dev` or the daemon launches, each step process), so this is where their
    umask is set (SPEC §12): the IO manager's pickles, the event log and the compute logs they
    write are private. The web server and the daemon never load our code: what they made in
    `DAGSTER_HOME` before is tightened here, with a warning.
    """
    owner_only_from_now_on()
    if home := os.environ.get("DAGSTER_HOME"):
        tighten_tree(Path(home), what="the Dagster instance")

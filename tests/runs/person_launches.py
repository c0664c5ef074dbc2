"""The connection's real job, rebuilt from the environment, for Dagster's own re-execution
(`dg.execute_job` with `ReexecutionOptions` needs a job it can reconstruct)."""

from __future__ import annotations

import dagster as dg

from pipelines.connections import deployment_connections
from pipelines.definitions import build_definitions
from pipelines.resources import production_resources


def sync_acme() -> dg.JobDefinition:
    """The `acme` connection's job, with the production resources the environment names."""
    connections = deployment_connections()
    definitions = build_definitions(connections, production_resources(connections))
    return definitions.resolve_job_def("sync_acme")


def reconstructable_sync_acme() -> dg.ReconstructableJob:
    return dg.build_reconstructable_job(__name__, sync_acme.__name__)

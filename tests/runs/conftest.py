"""Runs with options (`--dry-run`, `--override-guard`) and runs at the edges of the lifecycle: a
deployment driven through its console script (`tests/console_deployment.py`)."""

from tests.console_deployment import (  # noqa: F401 - fixtures
    deployment,
    graph_resource,
    outside,
    outside_session,
    world,
)

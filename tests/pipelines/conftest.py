"""The pipelines' console-driven deployment (`tests/console_deployment.py`), for the tests that
start runs of one connection through its console script."""

from tests.console_deployment import (  # noqa: F401 - fixtures
    deployment,
    graph_resource,
    outside,
    outside_session,
    world,
)

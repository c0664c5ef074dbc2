"""The security tests' world: a deployment driven through its console script
(`tests/console_deployment.py`)."""

from tests.console_deployment import (  # noqa: F401 - fixtures
    deployment,
    graph_resource,
    outside,
    outside_session,
    world,
)

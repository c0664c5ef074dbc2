"""The connection's real job run in this process with clients that never really wait.

The job, its assets and every resource are production's (`pipelines.definitions`), with one
difference: the Huma and Graph clients' `sleep` (retry backoff, `Retry-After`) and the Graph
pacer's clock are `NoWait`'s, which records each wait and moves a virtual clock on instead of
sleeping. So a 429 storm asking for ten minutes' patience takes no real time, and a case can pin
what the run waited. `Hooks` let a case change the world at a known point of a run (after a Huma
list page, before the Graph writes).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import dagster as dg
import pytest

from pipelines.connections import deployment_connections
from pipelines.definitions import build_definitions
from pipelines.resources import production_resources
from resources.graph import GraphResource
from resources.graph_client import GraphClient
from resources.graph_pacing import GraphPacer
from resources.huma import HumaResource, HumaSnapshot
from resources.huma_client import HumaClient
from tests.console_deployment import Deployment


class NoWait:
    """A `sleep` that does not sleep and a clock that moves by what was "slept" (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.waits: list[float] = []

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.waits.append(max(0.0, seconds))

    def clock(self) -> float:
        with self._lock:
            return time.monotonic() + sum(self.waits)


@dataclasses.dataclass
class Hooks:
    """What a case does at known points of a run; each is called with the point's number."""

    #: After each Huma list page of a snapshot (1, 2, … across its passes).
    huma_list_page: Callable[[int], None] | None = None
    #: Before each call of the Graph writes (1, 2, …).
    graph_write: Callable[[int], None] | None = None


#: The waits and hooks of the run in progress (one test at a time per process).
_current: dict[str, Any] = {"waits": NoWait(), "hooks": Hooks(), "graph_writes": 0}


class NoWaitHumaResource(HumaResource):
    def client(self) -> HumaClient:
        fresh = self._client is None
        client = super().client()
        if fresh:
            client._sleep = _current["waits"].sleep
        return client

    def snapshot(self, *, progress: Any = None) -> HumaSnapshot:
        pages = 0

        def on_progress(stage: str, done: int, total: int) -> None:
            nonlocal pages
            if progress is not None:
                progress(stage, done, total)
            hook = _current["hooks"].huma_list_page
            if stage == "list" and hook is not None:
                pages += 1
                hook(pages)

        return super().snapshot(progress=on_progress)


class NoWaitGraphResource(GraphResource):
    def client(self) -> GraphClient:
        fresh = self._client is None
        client = super().client()
        if fresh:
            waits: NoWait = _current["waits"]
            client.sleep = waits.sleep
            client.pacer = GraphPacer(client.pacer.budget, clock=waits.clock, sleep=waits.sleep)
        return client

    def write(self, *, writes: Any) -> Any:
        hook = _current["hooks"].graph_write
        if hook is not None:
            _current["graph_writes"] += 1
            hook(_current["graph_writes"])
        return super().write(writes=writes)


def _no_wait(resource: Any) -> Any:
    for real, fake in ((HumaResource, NoWaitHumaResource), (GraphResource, NoWaitGraphResource)):
        if type(resource) is real:
            return fake(**{name: getattr(resource, name) for name in real.model_fields})
    return resource


@dataclasses.dataclass
class InProcessRuns:
    """Runs of the deployment's connection (`acme`) in this process, one Dagster instance."""

    deployment: Deployment
    instance: dg.DagsterInstance
    waits: NoWait
    hooks: Hooks

    def run(
        self, *, tags: dict[str, str] | None = None, instance: dg.DagsterInstance | None = None
    ) -> dg.ExecuteInProcessResult:
        """One run of the job (in `instance`, default the fixture's); the result says whether it
        succeeded (it never raises)."""
        _current["graph_writes"] = 0
        connections = deployment_connections()
        resources = {k: _no_wait(v) for k, v in production_resources(connections).items()}
        job = build_definitions(connections, resources).resolve_job_def("sync_acme")
        return job.execute_in_process(
            instance=instance or self.instance, tags=tags, raise_on_error=False
        )


def failure_text(result: dg.ExecuteInProcessResult) -> str:
    """What the failed steps said (the run's own words), or "" for a run that succeeded."""
    said = []
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data is not None:
            data = event.step_failure_data
            if data.user_failure_data is not None:
                said.append(data.user_failure_data.description or "")
            elif data.error is not None:
                said.append(data.error.message)
    return "\n".join(said)


@pytest.fixture
def in_process(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch, tmp_path_factory: Any
) -> Iterator[InProcessRuns]:
    """The deployment's environment in this process, and its runs with no real waiting."""
    for name, value in deployment.environment().items():
        monkeypatch.setenv(name, value)
    waits, hooks = NoWait(), Hooks()
    _current.update(waits=waits, hooks=hooks)
    try:
        with dg.instance_for_test(temp_dir=str(tmp_path_factory.mktemp("dagster"))) as instance:
            yield InProcessRuns(deployment, instance, waits, hooks)
    finally:
        _current.update(waits=NoWait(), hooks=Hooks())

"""Targeted runs against the emulators: the console deployment's connection `acme`
(`tests/console_deployment.py`), its definitions and Dagster instance in this process, and its
webhook event store fed directly (what the receiver does)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import dagster as dg
import pytest

from assets.keys import job_name
from cli.console import dagster_instance
from pipelines.definitions import deployment_definitions
from pipelines.webhook_runs import EventsProducer, store_event, tick_and_run
from resources.webhook_events import WebhookEventStore, event_store_path
from tests.console_deployment import (  # noqa: F401 - fixtures
    Deployment,
    deployment,
    graph_resource,
    outside,
    outside_session,
    world,
)

CONNECTION = "acme"
_QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


@dataclasses.dataclass
class Local:
    """The deployment as the daemon sees it: definitions, instance, event store."""

    deployment: Deployment
    definitions: dg.Definitions
    instance: dg.DagsterInstance
    store: WebhookEventStore
    produce: EventsProducer

    def full_run(self) -> dg.ExecuteInProcessResult:
        """A run of the nightly job, here."""
        result = self.definitions.resolve_job_def(job_name(CONNECTION)).execute_in_process(
            instance=self.instance, run_config=_QUIET, raise_on_error=False
        )
        assert result.success, "the full run failed"
        return result

    def tick(self) -> dg.ExecuteInProcessResult | dg.SkipReason:
        """One sensor tick and the run it asks for."""
        return tick_and_run(
            self.definitions, self.instance, CONNECTION, str(self.deployment.history)
        )

    def huma_user(self, index: int) -> dict[str, Any]:
        """An active Huma user with a phone who is in Entra too (linked after the first run)."""
        entra = {u.get("mail", "").casefold() for u in self.deployment.entra_users().values()}
        users = [
            u
            for u in self.deployment.outside.huma.state()["users"]
            if u["status"]["active"] and u.get("phone") and u["email"].casefold() in entra
        ]
        return users[index]

    def entra_user_of(self, email: str) -> dict[str, Any]:
        wanted = email.casefold()
        return next(
            u
            for u in self.deployment.entra_users().values()
            if (u.get("mail") or "").casefold() == wanted
        )


@pytest.fixture
def local(deployment: Deployment, monkeypatch: pytest.MonkeyPatch) -> Iterator[Local]:  # noqa: F811
    for name, value in deployment.environment().items():
        monkeypatch.setenv(name, value)
    instance = dagster_instance()
    store = WebhookEventStore(event_store_path(deployment.history, CONNECTION))
    try:
        yield Local(deployment, deployment_definitions(), instance, store, store_event(store))
    finally:
        instance.dispose()

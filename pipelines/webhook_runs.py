"""Webhook events in, runs out, in this process: what the receiver and the Dagster daemon do in a
deployment, for the demo, the latency benchmark and the tests.

`tick_and_run` evaluates the connection's webhook sensor once and runs what it asks for, as the
daemon would, with the same tags. The demo and the benchmark get their events from the real
receiver fed by the Huma emulator's webhooks (`cli.demo_webhook`); `store_event` stores one
delivery straight into the store the way the receiver does (`WebhookEventStore.add` with the
SHA-256 of the body Huma would send), for the tests that set up stored events themselves.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

import dagster as dg
import orjson

from pipelines.in_process import execute_in_process
from pipelines.webhook_sensor import evaluate, webhook_sensor_name
from resources.webhook_events import EventUser, WebhookEventStore

#: Stores the events of one Huma delivery: `(topic, users)`.
EventsProducer = Callable[[str, Sequence[EventUser]], None]

_QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def huma_body(topic: str, users: Sequence[EventUser]) -> bytes:
    """The JSON body of a Huma webhook delivery naming `users` (api-facts A.6: `topic` and
    `users`, each with `id` and `email`)."""
    return orjson.dumps(
        {"topic": topic, "users": [{"id": u.huma_id, "email": u.email} for u in users]}
    )


def store_event(store: WebhookEventStore) -> EventsProducer:
    """A producer storing each delivery straight into `store`, as the receiver does."""

    def produce(topic: str, users: Sequence[EventUser]) -> None:
        body = huma_body(topic, users)
        store.add(digest=hashlib.sha256(body).hexdigest(), topic=topic, users=users)

    return produce


def tick_and_run(
    definitions: dg.Definitions, instance: dg.DagsterInstance, connection: str, history_path: str
) -> dg.ExecuteInProcessResult | dg.SkipReason:
    """One tick of `connection`'s webhook sensor and, when it asks for a run, that run here."""
    asked = evaluate(instance, connection, history_path)
    if isinstance(asked, dg.SkipReason):
        return asked
    job = definitions.resolve_job_def(asked.job_name or "")
    tags = {
        **asked.tags,
        "dagster/sensor_name": webhook_sensor_name(connection),
        "dagster/run_key": asked.run_key or "",
    }
    return execute_in_process(
        job, instance=instance, tags=tags, run_config=_QUIET, raise_on_error=False
    )

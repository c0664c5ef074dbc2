"""The whole webhook chain, end to end: the Huma emulator sends its profile webhook, signed, over
TLS it verifies, to the receiver served in this process on port 0; the receiver stores it; one
evaluation of the webhook sensor asks for a targeted run; that run writes the change to Graph.
No scheduled or manual full run follows the change.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator

import dagster as dg
import pytest

from assets.keys import targeted_job_name
from emulators.tls import TlsFiles
from resources.webhook_events import event_store_path
from tests.webhook_serving import SECRET, Receiver, serve_receiver, tls  # noqa: F401 - fixture
from tests.webhooks.conftest import CONNECTION, Local

pytestmark = pytest.mark.slow

#: How long the emulator may take to deliver: generous, it is a bound, not an expectation.
_DELIVERY_DEADLINE_SECONDS = 60


@pytest.fixture
def receiver(local: Local, tls: TlsFiles) -> Iterator[Receiver]:  # noqa: F811
    """The receiver of the deployment's connection, storing into the store its runs take from,
    with the Huma emulator sending to it; both undone afterwards."""
    served = serve_receiver(tls, event_store_path(local.deployment.history, CONNECTION))
    huma = local.deployment.outside.huma
    huma.call("DELETE", "/webhooks")
    huma.register_webhook(served.endpoint(), secret=SECRET, ca_file=tls.ca_bundle)
    try:
        yield served
    finally:
        huma.register_webhook(None)
        served.stop()


def test_a_phone_changed_in_huma_is_sent_stored_and_written_to_graph_by_one_targeted_run(
    local: Local, receiver: Receiver
) -> None:
    local.full_run()  # the activation links the users; nothing runs after the change but the tick
    huma = local.deployment.outside.huma
    person = local.huma_user(2)
    before = local.entra_user_of(person["email"])["mobilePhone"]
    assert before != "+47 488 12 345"

    huma.call("PATCH", f"/users/{person['id']}", {"phone": "+47 488 12 345"})
    deadline = time.monotonic() + _DELIVERY_DEADLINE_SECONDS
    while local.store.waiting().count == 0:
        deliveries = huma.webhook_deliveries()
        assert time.monotonic() < deadline, f"the event never got stored: {deliveries}"
        time.sleep(0.02)
    delivered = huma.webhook_deliveries()
    assert [(d["topic"], d["userIds"], d["status"]) for d in delivered] == [
        ("users-update", [person["id"]], "delivered")
    ]

    result = local.tick()

    assert isinstance(result, dg.ExecuteInProcessResult), result
    assert result.success
    assert local.entra_user_of(person["email"])["mobilePhone"] == "+47 488 12 345"
    targeted = local.instance.get_run_records(dg.RunsFilter(job_name=targeted_job_name(CONNECTION)))
    assert [r.dagster_run.run_id for r in targeted] == [result.run_id]
    plan = result.asset_value(dg.AssetKey([CONNECTION, "sync_plan"])).result
    assert set(plan.sync_plan.get_column("huma_id")) == {person["id"]}
    with sqlite3.connect(f"file:{receiver.store.path}?mode=ro", uri=True) as conn:
        events = conn.execute("SELECT topic, taken_by, done_at FROM events").fetchall()
    assert [(topic, taken_by) for topic, taken_by, _ in events] == [("users-update", result.run_id)]
    assert events[0][2] is not None, "the event is not done"
    assert local.store.holding_runs() == set()
    assert isinstance(local.tick(), dg.SkipReason)

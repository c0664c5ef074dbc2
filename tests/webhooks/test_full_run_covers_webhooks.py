"""What the nightly (full) run does with the webhook events waiting for it, against the emulators.

Pins: `users-delete` events wait through targeted runs for the next full run, whose report names
each user a webhook said was deleted and what the run did about them (the deletion rules of its
complete snapshots decide: a linked user gone from Huma gets the run's own deletion notice, a
user still in Huma is synced as usual, an unknown one needs nothing); and every run that writes
forgets the events done longer ago than the retention period, never the recent ones.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest

from resources.webhook_events import RETENTION, EventUser, WebhookEventStore
from tests.webhooks.conftest import CONNECTION, Local

pytestmark = pytest.mark.slow


def _report_text(result: dg.ExecuteInProcessResult) -> str:
    files = result.asset_value(dg.AssetKey([CONNECTION, "sync_report"]))
    return (Path(files["html"]).parent / "report.txt").read_text(encoding="utf-8")


def test_the_full_run_reports_the_users_a_webhook_said_were_deleted(local: Local) -> None:
    local.full_run()  # links everyone
    outside = local.deployment.outside
    gone, kept, changed = local.huma_user(0), local.huma_user(1), local.huma_user(2)
    outside.huma.call("DELETE", f"/users/{gone['id']}")
    never_linked = EventUser(str(uuid.uuid4()), "left.long.ago@example.com")
    local.produce("users-delete", [EventUser(gone["id"], gone["email"]), never_linked])
    local.produce("users-delete", [EventUser(kept["id"], kept["email"])])  # not deleted after all
    outside.huma.call("PATCH", f"/users/{changed['id']}", {"phone": "+47 433 33 331"})
    local.produce("users-update", [EventUser(changed["id"], changed["email"])])

    targeted = local.tick()
    assert isinstance(targeted, dg.ExecuteInProcessResult)
    assert targeted.success
    assert local.store.waiting().count == 2  # the deletions wait for the full run
    assert isinstance(local.tick(), dg.SkipReason)

    full = local.full_run()

    assert local.store.waiting().count == 0
    notices = full.asset_value(dg.AssetKey([CONNECTION, "sync_plan"])).result.notices
    [deleted_notice] = notices.filter(notices["huma_id"] == gone["id"])["message"].to_list()
    text = _report_text(full)
    section = text.split("DELETED IN HUMA, BY ITS WEBHOOKS (3)", 1)[1]
    lines = {line.split(" (", 1)[0].removeprefix("- "): line for line in section.splitlines()}
    assert deleted_notice in lines[gone["email"]]
    assert "still in Huma" in lines[kept["email"]]
    assert "nothing to do" in lines[never_linked.email]
    assert "DELETED IN HUMA, BY ITS WEBHOOKS" not in _report_text(targeted)


def test_every_run_that_writes_forgets_events_done_longer_ago_than_the_retention(
    local: Local,
) -> None:
    now = datetime.now(UTC)
    for run_id, done_at in (("old-run", now - RETENTION - timedelta(days=1)), ("recent-run", now)):
        then = WebhookEventStore(local.store.path, clock=lambda at=done_at: at)
        then.add(digest=run_id, topic="users-update", users=[EventUser(run_id, "a@example.com")])
        then.take(run_id)
        then.finish(run_id)

    local.full_run()

    assert local.store.covered("old-run").empty
    assert not local.store.covered("recent-run").empty

"""Targeted runs against the emulators: a change made in Huma reaches Entra through a stored
webhook event, the webhook sensor and a targeted run, without any scheduled run.

Pins: the targeted run reads only the named users on both sides (Huma by id, Graph through
`$batch`), writes only for them, reports no deletion and trips no guard although it read one user
of hundreds, records its scope, and marks its events done; a burst of 500 events naming 100 users
becomes one run reading each user once; a repeated tick never asks for a second run; a failed
targeted run gives its events back and the next tick covers them; a run that died holding events
(failed in the instance, or unknown to it) gives them back; an export asks for a full run, and
deletions alone wait for one; an event stored while the nightly run writes waits for it (never
overlapping) and runs after it, while one stored before it is folded into it; the events of a
nightly run killed mid-write go back and the next run covers them; a targeted write never repeats
a phone a user it did not read holds (blocked with the reason a full run gives).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections import Counter
from typing import Any

import dagster as dg
import polars as pl
import pytest

from assets.keys import job_name, targeted_job_name
from assets.run_options import DRY_RUN_TAG
from pipelines.webhook_sensor import evaluate
from resources.webhook_events import EventUser
from tests.console_deployment import ROOT, finished_run
from tests.webhooks.conftest import CONNECTION, Local

pytestmark = pytest.mark.slow


def _change_phone(local: Local, index: int, phone: str) -> EventUser:
    user = local.huma_user(index)
    local.deployment.outside.huma.call("PATCH", f"/users/{user['id']}", {"phone": phone})
    return EventUser(user["id"], user["email"])


def test_a_change_in_huma_reaches_graph_through_a_targeted_run(local: Local) -> None:
    local.full_run()
    outside = local.deployment.outside
    user = _change_phone(local, 3, "+47 499 99 991")
    outside.huma.clear_requests()
    outside.entra.clear_requests()
    local.produce("users-update", [user])

    result = local.tick()

    assert isinstance(result, dg.ExecuteInProcessResult), result
    assert result.success
    assert result.dagster_run.job_name == targeted_job_name(CONNECTION)
    assert local.entra_user_of(user.email)["mobilePhone"] == "+47 499 99 991"
    huma_paths = {e["path"] for e in outside.huma.requests(path_prefix="/users")}
    assert huma_paths == {f"/users/{user.huma_id}"}  # no list, no other user
    writes = [e for e in outside.entra.requests() if e["method"] in ("PATCH", "POST")]
    assert {e["path"] for e in writes} <= {"/v1.0/$batch"} | {
        f"/v1.0/users/{local.entra_user_of(user.email)['id']}"
    }
    store = local.deployment.store
    record = store.run(run_id=result.run_id)
    assert record is not None
    assert (record.scope, record.scope_users, record.outcome) == ("targeted", 1, "succeeded")
    assert store.previous_snapshots(connection=CONNECTION).huma_count > 1
    plan = result.asset_value(dg.AssetKey([CONNECTION, "sync_plan"])).result
    assert plan.notices.is_empty(), plan.notices
    assert plan.guard_trips.is_empty(), plan.guard_trips
    assert set(plan.sync_plan.get_column("huma_id")) == {user.huma_id}
    assert local.store.waiting().count == 0
    assert local.store.holding_runs() == set()
    assert isinstance(local.tick(), dg.SkipReason)


def test_a_burst_of_500_events_for_100_users_is_one_run_reading_each_user_once(
    local: Local,
) -> None:
    local.full_run()
    outside = local.deployment.outside
    users = [EventUser(u["id"], u["email"]) for u in outside.huma.state()["users"][:100]]
    for round_number in range(5):  # five different changes per user: five distinct bodies
        for user in users:
            topic = "users-create" if round_number == 0 else "users-update"
            local.store.add(digest=f"{user.huma_id}-{round_number}", topic=topic, users=[user])
    assert local.store.waiting().count == 500
    outside.huma.clear_requests()

    asked = evaluate(local.instance, CONNECTION, str(local.deployment.history))
    assert isinstance(asked, dg.RunRequest)
    assert evaluate(local.instance, CONNECTION, str(local.deployment.history)) == asked
    result = local.tick()

    assert isinstance(result, dg.ExecuteInProcessResult)
    assert result.success
    reads = Counter(e["path"] for e in outside.huma.requests(path_prefix="/users"))
    assert reads == Counter({f"/users/{u.huma_id}": 1 for u in users})
    assert local.store.waiting().count == 0
    runs = local.instance.get_runs(dg.RunsFilter(job_name=targeted_job_name(CONNECTION)))
    assert len(runs) == 1
    assert runs[0].tags["huma-entra-sync/targeted-users"] == "100"


def test_a_failed_targeted_run_gives_its_events_back_and_the_next_tick_covers_them(
    local: Local,
) -> None:
    local.full_run()
    outside = local.deployment.outside
    user = _change_phone(local, 5, "+47 488 88 881")
    local.produce("users-update", [user])
    outside.entra_settings(error_rate=1.0, error_statuses=[400])

    failed = local.tick()

    assert isinstance(failed, dg.ExecuteInProcessResult)
    assert not failed.success
    assert local.store.holding_runs() == {failed.run_id}
    outside.entra_settings(error_rate=0.0)
    retried = local.tick()  # gives the failed run's events back, then asks for a new run

    assert isinstance(retried, dg.ExecuteInProcessResult)
    assert retried.success
    assert retried.run_id != failed.run_id
    assert local.entra_user_of(user.email)["mobilePhone"] == "+47 488 88 881"
    assert local.store.waiting().count == 0
    assert local.store.holding_runs() == set()


def test_events_held_by_a_run_that_died_go_back(local: Local) -> None:
    """A killed run stays started until run monitoring (or the console's lock check) marks it
    failed; a run the instance never recorded is lost outright. Both give their events back."""
    local.produce("users-update", [EventUser(local.huma_user(0)["id"], "a@example.com")])
    killed = local.instance.create_run_for_job(
        local.definitions.resolve_job_def(targeted_job_name(CONNECTION)),
        tags={"huma-entra-sync/connection": CONNECTION},
    )
    local.instance.handle_run_event(
        killed.run_id,
        dg.DagsterEvent(
            event_type_value=dg.DagsterEventType.PIPELINE_START.value,
            job_name=killed.job_name,
        ),
    )
    local.store.take(killed.run_id)
    assert isinstance(local.tick(), dg.SkipReason)  # it still looks alive: nothing overlaps it
    assert local.store.holding_runs() == {killed.run_id}

    local.instance.report_run_failed(killed, "the run worker was killed")
    asked = evaluate(local.instance, CONNECTION, str(local.deployment.history))
    assert isinstance(asked, dg.RunRequest)
    assert local.store.holding_runs() == set()

    local.store.take("a-run-nobody-recorded")
    asked_again = evaluate(local.instance, CONNECTION, str(local.deployment.history))
    assert isinstance(asked_again, dg.RunRequest)
    assert asked_again.run_key != asked.run_key


def test_an_export_asks_for_a_full_run_and_deletions_alone_wait_for_one(local: Local) -> None:
    history = str(local.deployment.history)
    local.produce("users-delete", [EventUser(local.huma_user(0)["id"], "gone@example.com")])
    waits = evaluate(local.instance, CONNECTION, history)
    assert isinstance(waits, dg.SkipReason)
    assert "deletions" in (waits.skip_message or "")

    local.produce("users-export", [])
    asked = evaluate(local.instance, CONNECTION, history)
    assert isinstance(asked, dg.RunRequest)
    assert asked.job_name == job_name(CONNECTION)


def test_the_ui_shows_the_users_a_targeted_run_covered(local: Local) -> None:
    local.full_run()
    user = _change_phone(local, 7, "+47 477 77 771")
    local.produce("users-update", [user])
    result = local.tick()
    assert isinstance(result, dg.ExecuteInProcessResult)
    assert result.success
    materialization = local.instance.get_latest_materialization_event(
        dg.AssetKey([CONNECTION, "huma_users_raw"])
    )
    assert materialization is not None
    assert materialization.asset_materialization is not None
    metadata = materialization.asset_materialization.metadata
    assert metadata["scope"].value == "targeted"
    assert metadata["users_named"].value == 1
    assert user.huma_id in metadata["named_users"].value
    assert user.email not in metadata["named_users"].value


def _done(process: subprocess.Popen[str]) -> subprocess.CompletedProcess[str]:
    stdout, stderr = process.communicate(timeout=300)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def _start_nightly(local: Local) -> subprocess.Popen[str]:
    """The nightly job from the console, as cron starts it (its own process and lock)."""
    return subprocess.Popen(
        [sys.executable, "-m", "cli.main", "run"],
        cwd=ROOT,
        env=local.deployment.environment(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_until_held(local: Local, run: subprocess.Popen[str]) -> None:
    """Wait until the nightly run's first write is held by the emulator (a state, not a time)."""
    deadline = time.monotonic() + 300
    while local.deployment.outside.entra.held() == 0:
        assert run.poll() is None, run.communicate()[1][-3000:]
        assert time.monotonic() < deadline, "the nightly run never reached its first write"
        time.sleep(0.05)


def _nightly_run_id(local: Local) -> str:
    [run] = local.instance.get_runs(dg.RunsFilter(job_name=job_name(CONNECTION)))
    return run.run_id


def test_an_event_during_the_nightly_run_waits_for_it_then_runs_after_it(local: Local) -> None:
    """The event stored before the nightly run started is folded into it; the one stored while
    it writes waits (no run overlaps it) and gets a targeted run after it."""
    outside = local.deployment.outside
    before = _change_phone(local, 1, "+47 466 66 661")
    local.produce("users-update", [before])
    outside.entra_settings(hold_after_writes=0)
    nightly = _start_nightly(local)
    try:
        _wait_until_held(local, nightly)
        during = _change_phone(local, 2, "+47 455 55 551")  # after the nightly read Huma
        local.produce("users-update", [during])

        waits = local.tick()
        assert isinstance(waits, dg.SkipReason)
        assert _nightly_run_id(local) in (waits.skip_message or "")
    finally:
        outside.entra_settings(hold_after_writes=None)
    assert finished_run(_done(nightly), CONNECTION)

    nightly_id = _nightly_run_id(local)
    assert local.store.holding_runs() == set()
    assert local.store.waiting().count == 1  # the first was folded into the nightly run
    assert local.entra_user_of(before.email)["mobilePhone"] == "+47 466 66 661"
    after = local.tick()
    assert isinstance(after, dg.ExecuteInProcessResult)
    assert after.success
    assert local.entra_user_of(during.email)["mobilePhone"] == "+47 455 55 551"
    first = local.instance.get_run_record_by_id(nightly_id)
    second = local.instance.get_run_record_by_id(after.run_id)
    assert first is not None
    assert second is not None
    assert first.end_time is not None
    assert second.start_time is not None
    assert second.start_time >= first.end_time  # never overlapping
    read = after.asset_value(dg.AssetKey([CONNECTION, "huma_users_raw"])).users
    assert read.get_column("huma_id").to_list() == [during.huma_id]


def test_events_of_a_nightly_run_killed_mid_write_are_covered_by_the_next_run(
    local: Local,
) -> None:
    outside = local.deployment.outside
    before = _change_phone(local, 1, "+47 444 44 441")
    local.produce("users-update", [before])
    outside.entra_settings(hold_after_writes=0)
    nightly = _start_nightly(local)
    try:
        _wait_until_held(local, nightly)
        assert local.store.holding_runs() == {_nightly_run_id(local)}
        nightly.send_signal(signal.SIGKILL)
        nightly.communicate()
    finally:
        outside.entra_settings(hold_after_writes=None)

    covered = local.tick()  # the killed run is marked failed and gives its events back

    assert isinstance(covered, dg.ExecuteInProcessResult)
    assert covered.success
    assert local.entra_user_of(before.email)["mobilePhone"] == "+47 444 44 441"
    assert local.store.waiting().count == 0
    assert local.store.holding_runs() == set()


def _phone_row(result: dg.ExecuteInProcessResult, huma_id: str) -> dict[str, Any]:
    plan = result.asset_value(dg.AssetKey([CONNECTION, "sync_plan"])).result.sync_plan
    [row] = plan.filter(
        (pl.col("huma_id") == huma_id) & pl.col("fields").list.contains("phone")
    ).to_dicts()
    return row


def test_a_targeted_write_never_repeats_a_phone_a_user_it_did_not_read_holds(
    local: Local,
) -> None:
    """Uniqueness is the company's, not the run's: the user holding the phone in Entra was not
    named, so only the latest full snapshot knows; the write is blocked as a full run blocks it."""
    local.full_run()
    phone = "+47 422 22 221"
    holder = local.entra_user_of(local.huma_user(1)["email"])
    tenant = local.deployment.outside.tenant["id"]
    local.deployment.outside.entra.call(
        "PATCH", f"/tenants/{tenant}/users/{holder['id']}", {"mobilePhone": phone}
    )
    local.full_run()  # sees the holder's phone (and asks a person whether Huma takes it)
    user = _change_phone(local, 3, phone)  # no Huma user has it: Huma takes it
    before = local.entra_user_of(user.email)["mobilePhone"]
    local.produce("users-update", [user])

    targeted = local.tick()

    assert isinstance(targeted, dg.ExecuteInProcessResult)
    assert targeted.success
    assert local.entra_user_of(user.email)["mobilePhone"] == before
    blocked = _phone_row(targeted, user.huma_id)
    assert blocked["status"] == "blocked"
    assert blocked["blocked_reason"]
    full = local.definitions.resolve_job_def(job_name(CONNECTION)).execute_in_process(
        instance=local.instance,
        tags={DRY_RUN_TAG: "true"},
        run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
    )
    assert blocked["blocked_reason"] == _phone_row(full, user.huma_id)["blocked_reason"]

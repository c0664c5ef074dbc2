"""`huma-entra-sync run --dry-run` and `--override-guard` against the emulators, through the
console script as cron runs it (SPEC §7, §11).

Pins: a dry run plans and reports but sends no write to Huma or Graph (their request logs hold
reads and sign-ins only, their states are unchanged) and leaves the history file as it was. When
a fifth of Huma's users vanish, the snapshot guard stops the run and keeps stopping the next one
(it is judged against the last run that wrote, not against the run it stopped); an override needs
a reason, lets exactly that run through (a pending Huma change reaches Entra), is kept in the
history and the report with who and why, and the run after it is judged against the let-through
run's sizes.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from reconcile.vocabulary import GUARD_SNAPSHOT_SHRINK
from tests.console_deployment import Deployment, finished_run

pytestmark = pytest.mark.slow

_TOKEN_PATHS = ("/auth/oauth/token", "/oauth2/v2.0/token")


def _linked_pair(deployment: Deployment) -> tuple[dict[str, Any], dict[str, Any]]:
    """A linked (Huma user, Entra user) pair whose phones agree, both active."""
    state = deployment.store.load_state(connection="acme")
    huma, entra = deployment.huma_users(), deployment.entra_users()
    for link in state.links.sort("huma_id").iter_rows(named=True):
        person, account = huma.get(link["huma_id"]), entra.get(link["entra_id"])
        if (
            person
            and account
            and person["status"]["active"]
            and account["accountEnabled"]
            and person["phone"]
            and person["phone"] == account["mobilePhone"]
        ):
            return person, account
    raise AssertionError("the activation should have linked people with agreeing phones")


def _set_huma_phone(deployment: Deployment, user: dict[str, Any], phone: str) -> None:
    deployment.outside.huma.call("PATCH", f"/users/{user['id']}", {"phone": phone})


def _writes(entries: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """The requests of a log that are neither reads nor sign-ins."""
    return [
        (e["method"], e["path"])
        for e in entries
        if e["method"] not in ("GET", "HEAD") and not e["path"].endswith(_TOKEN_PATHS)
    ]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_dry_run_writes_nothing_to_huma_graph_or_the_history(deployment: Deployment) -> None:
    deployment.run()
    person, _ = _linked_pair(deployment)
    _set_huma_phone(deployment, person, "+47 400 00 001")
    huma_before, entra_before = deployment.outside.huma.state(), deployment.outside.entra.state()
    history_before = _digest(deployment.history)
    runs_before = deployment.store.runs(connection="acme").height
    deployment.outside.huma.clear_requests()
    deployment.outside.entra.clear_requests()

    dry = deployment.cli("run", "--dry-run")

    finished_run(dry, "acme")
    assert deployment.outside.huma.requests(), "the dry run should have read Huma"
    assert deployment.outside.entra.requests(), "the dry run should have read Graph"
    assert _writes(deployment.outside.huma.requests()) == []
    assert _writes(deployment.outside.entra.requests()) == []
    assert deployment.outside.huma.state() == huma_before
    assert deployment.outside.entra.state() == entra_before
    assert _digest(deployment.history) == history_before
    assert deployment.store.runs(connection="acme").height == runs_before


def _drop_huma_users(deployment: Deployment, keep: set[str], share: float) -> None:
    """Delete about `share` of Huma's users (never those in `keep`)."""
    users = sorted(deployment.huma_users())
    doomed = [u for u in users if u not in keep][: int(len(users) * share)]
    for user_id in doomed:
        deployment.outside.huma.call("DELETE", f"/users/{user_id}")


def _run(deployment: Deployment, *args: str) -> str:
    return finished_run(deployment.cli("run", *args), "acme")


def test_a_tripped_snapshot_guard_holds_until_overridden_and_the_override_is_kept(
    deployment: Deployment,
) -> None:
    deployment.run()
    person, account = _linked_pair(deployment)
    _drop_huma_users(deployment, keep={person["id"]}, share=0.2)
    _set_huma_phone(deployment, person, "+47 400 00 002")
    store = deployment.store

    stopped = _run(deployment)
    again = _run(deployment)

    for run_id in (stopped, again):
        record = store.run(run_id=run_id)
        assert record is not None
        assert record.outcome == "guard_stopped", run_id
        trips = store.run_frame(run_id=run_id, table="guard_trips")
        assert trips.select("guard", "side", "overridden").rows() == [
            (GUARD_SNAPSHOT_SHRINK, "huma", False)
        ]
    assert deployment.entra_users()[account["id"]]["mobilePhone"] == account["mobilePhone"]

    no_reason = deployment.cli("run", "--override-guard", GUARD_SNAPSHOT_SHRINK)
    assert no_reason.returncode == 2, no_reason.stderr
    assert "--reason" in no_reason.stderr

    let_through = _run(
        deployment,
        "--override-guard",
        GUARD_SNAPSHOT_SHRINK,
        "--by",
        "kari",
        "--reason",
        "HR removed the test accounts",
    )

    record = store.run(run_id=let_through)
    assert record is not None
    assert record.outcome == "succeeded"
    trips = store.run_frame(run_id=let_through, table="guard_trips")
    assert trips.select("guard", "overridden", "overridden_by", "override_reason").rows() == [
        (GUARD_SNAPSHOT_SHRINK, True, "kari", "HR removed the test accounts")
    ]
    assert deployment.entra_users()[account["id"]]["mobilePhone"] == "+47 400 00 002"
    assert record.report_path is not None
    report = Path(record.report_path).read_text(encoding="utf-8")
    assert "overridden by kari: HR removed the test accounts" in report

    after = _run(deployment)

    after_record = store.run(run_id=after)
    assert after_record is not None
    assert after_record.outcome == "succeeded"
    assert store.run_frame(run_id=after, table="guard_trips").height == 0
    assert store.previous_snapshots(connection="acme", before_run_id=after).huma_count == (
        record.huma_count
    )
    assert (
        store.plan_with_statuses(run_id=after).filter(pl.col("blocked_reason").is_not_null())
    ).filter(pl.col("blocked_reason").str.starts_with("guard:")).height == 0

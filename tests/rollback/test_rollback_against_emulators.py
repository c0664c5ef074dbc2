"""`huma-entra-sync rollback RUN_ID` against the emulators, through the console script.

Pins: rolling back a real run puts every user who existed before it back exactly as they were in
both systems (created users stay: nothing is deleted), as a run of its own in the history (mode
`rollback`, `rollback_of`, its journal with before and after values), marking the undone plan
rows `rolled_back` and leaving the restored fields without an agreed value, so the next run sees
them as first-sync differences; a second rollback finds nothing to do; a value that moved since
the run is refused and left alone while the rest is restored; a dry run, or a run without a
terminal and without `--yes`, changes nothing; Huma's side is restored as exactly as Entra's.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import polars as pl
import pytest

from resources.graph import GraphResource
from tests.console_deployment import Deployment
from tests.resources.conftest import graph_credentials

pytestmark = pytest.mark.slow


def _patches(deployment: Deployment, run_id: str, system: str) -> pl.DataFrame:
    journal = deployment.store.journal(run_id=run_id)
    return journal.filter(
        (pl.col("system") == system)
        & (pl.col("operation") == "patch")
        & (pl.col("status") == "applied")
    )


def _as_before(now: dict, before: dict) -> dict:
    """`now` limited to the users that existed before (created users stay)."""
    return {user_id: user for user_id, user in now.items() if user_id in before}


def test_a_rollback_restores_both_systems_exactly_and_is_a_run(deployment: Deployment) -> None:
    huma_before, entra_before = deployment.huma_users(), deployment.entra_users()
    run_id = deployment.run()
    patched = _patches(deployment, run_id, "graph")
    assert patched.height >= 3, "the run should have written to Entra"
    assert deployment.entra_users() != entra_before
    created = set(deployment.entra_users()) - set(entra_before)

    done = deployment.cli("rollback", run_id, "--yes")

    assert done.returncode == 0, done.stdout + done.stderr
    assert "Will restore" in done.stdout
    assert ("Not undone:" in done.stdout) == bool(created)
    assert _as_before(deployment.entra_users(), entra_before) == entra_before
    assert set(deployment.entra_users()) - set(entra_before) == created
    assert _as_before(deployment.huma_users(), huma_before) == huma_before

    store = deployment.store
    rollback = store.runs(connection="acme").filter(pl.col("mode") == "rollback").row(0, named=True)
    assert (rollback["rollback_of"], rollback["outcome"]) == (run_id, "succeeded")
    assert json.loads(rollback["summary"])["restored"] == patched.height
    journal = store.journal(run_id=rollback["run_id"])
    assert sorted(journal.get_column("change_id")) == sorted(patched.get_column("change_id"))
    assert journal.get_column("status").unique().to_list() == ["applied"]
    assert journal.get_column("before").null_count() == 0
    statuses = store.plan_with_statuses(run_id=run_id).filter(
        pl.col("change_id").is_in(patched.get_column("change_id").implode())
    )
    assert statuses.get_column("status").unique().to_list() == ["rolled_back"]

    # The restored fields have no agreed value: the next run decides them as at a first sync.
    next_run = deployment.run()
    diffs = store.run_frame(run_id=next_run, table="field_diffs")
    restored_fields = (
        store.run_frame(run_id=run_id, table="sync_plan")
        .filter(pl.col("change_id").is_in(patched.get_column("change_id").implode()))
        .select("huma_id", pl.col("fields").alias("field"))
        .explode("field")
    )
    again = restored_fields.join(diffs, on=["huma_id", "field"], how="left")
    assert again.get_column("has_agreed").to_list() == [False] * restored_fields.height
    assert set(again.get_column("case")) <= {"first_sync", "missing_value"}


def test_a_second_rollback_finds_nothing_to_do(deployment: Deployment) -> None:
    run_id = deployment.run()
    assert deployment.cli("rollback", run_id, "--yes").returncode == 0
    entra_after = deployment.entra_users()
    runs = deployment.store.runs(connection="acme").height

    again = deployment.cli("rollback", run_id, "--yes")

    assert again.returncode == 0, again.stderr
    assert "Already rolled back by run" in again.stdout
    assert "Nothing to restore." in again.stdout
    assert deployment.entra_users() == entra_after
    assert deployment.store.runs(connection="acme").height == runs


def test_a_value_that_moved_since_is_refused_and_the_rest_restored(
    deployment: Deployment, graph_resource: Callable[..., GraphResource]
) -> None:
    entra_before = deployment.entra_users()
    run_id = deployment.run()
    patched = _patches(deployment, run_id, "graph")
    moved = patched.row(0, named=True)
    prop = next(iter(json.loads(moved["after"])))
    graph = graph_resource(**graph_credentials(deployment.outside)).client()
    answer = graph.send("PATCH", f"/users/{moved['target_id']}", json={prop: "Changed Since"})
    assert answer.status_code == 204
    after_move = deployment.entra_users()

    dry = deployment.cli("rollback", run_id, "--dry-run")
    unasked = deployment.cli("rollback", run_id)

    assert dry.returncode == 0
    assert "value moved since" in dry.stdout
    assert (unasked.returncode, "add --yes" in unasked.stderr) == (2, True)
    assert deployment.entra_users() == after_move

    done = deployment.cli("rollback", run_id, "--yes")

    assert done.returncode == 1
    assert f"{prop} was written as" in done.stdout
    assert "now 'Changed Since'" in done.stdout
    now = deployment.entra_users()
    assert now[moved["target_id"]][prop] == "Changed Since"
    others = {uid: u for uid, u in entra_before.items() if uid != moved["target_id"]}
    assert {uid: now[uid] for uid in others} == others
    summary = json.loads(
        deployment.store.runs(connection="acme")
        .filter(pl.col("mode") == "rollback")
        .item(0, "summary")
    )
    assert (summary["restored"], summary["refused_when_planned"]) == (patched.height - 1, 1)

"""An override is given for one run by a person (SPEC §7: a tripped guard keeps stopping the
writes until a person overrides it), against the emulators with the real job.

Pins: a person's run with the override tags lets the held snapshot guard through. Nights later
Huma shrinks again and the guard stops the run; a re-execution of the person's run (Dagster
copies its tags) or a scheduled run carrying the tags is stopped too: the override is not taken,
the trip in the history and the report says so and why, and the Huma change does not reach
Entra. A new run a person launches with `huma-entra-sync run --override-guard` goes through.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from assets.run_options import OVERRIDE_BY_TAG, OVERRIDE_GUARDS_TAG, OVERRIDE_REASON_TAG
from reconcile.vocabulary import GUARD_SNAPSHOT_SHRINK
from tests.console_deployment import Deployment, finished_run
from tests.runs.person_launches import reconstructable_sync_acme
from tests.runs.test_run_options_against_emulators import (
    _drop_huma_users,
    _linked_pair,
    _set_huma_phone,
)

pytestmark = pytest.mark.slow

OVERRIDE = {
    OVERRIDE_GUARDS_TAG: GUARD_SNAPSHOT_SHRINK,
    OVERRIDE_BY_TAG: "kari",
    OVERRIDE_REASON_TAG: "HR removed the test accounts",
}


def _outcome(deployment: Deployment, run_id: str) -> tuple[str, list[dict[str, Any]]]:
    record = deployment.store.run(run_id=run_id)
    assert record is not None, run_id
    trips = deployment.store.run_frame(run_id=run_id, table="guard_trips")
    return record.outcome, trips.select("guard", "overridden", "message").to_dicts()


def _report(deployment: Deployment, run_id: str) -> str:
    record = deployment.store.run(run_id=run_id)
    assert record is not None
    assert record.report_path is not None
    return Path(record.report_path).read_text(encoding="utf-8")


def test_an_override_counts_only_on_the_run_a_person_launched_with_it(
    deployment: Deployment,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    for name, value in deployment.environment().items():
        monkeypatch.setenv(name, value)
    deployment.run()
    person, account = _linked_pair(deployment)
    _drop_huma_users(deployment, keep={person["id"]}, share=0.2)
    _set_huma_phone(deployment, person, "+47 400 00 003")
    assert _outcome(deployment, deployment.run())[0] == "guard_stopped"

    with dg.instance_for_test(temp_dir=str(tmp_path_factory.mktemp("dagster"))) as instance:
        with dg.execute_job(reconstructable_sync_acme(), instance=instance, tags=OVERRIDE) as run:
            assert run.success
            let_through = run.run_id
        assert _outcome(deployment, let_through)[0] == "succeeded"
        assert deployment.entra_users()[account["id"]]["mobilePhone"] == "+47 400 00 003"

        # Nights later Huma shrinks again: the guard stops the run and holds.
        _drop_huma_users(deployment, keep={person["id"]}, share=0.2)
        _set_huma_phone(deployment, person, "+47 400 00 004")
        assert _outcome(deployment, deployment.run())[0] == "guard_stopped"

        with dg.execute_job(
            reconstructable_sync_acme(),
            instance=instance,
            tags=OVERRIDE,  # the UI's re-execution copies the parent's tags
            reexecution_options=dg.ReexecutionOptions(parent_run_id=let_through),
        ) as again:
            assert again.success
            copied = again.run_id
        scheduled = (
            reconstructable_sync_acme()
            .get_definition()
            .execute_in_process(
                instance=instance, tags=OVERRIDE | {"dagster/schedule_name": "nightly_acme"}
            )
            .run_id
        )

    for run_id in (copied, scheduled):
        outcome, trips = _outcome(deployment, run_id)
        assert outcome == "guard_stopped", run_id
        [trip] = trips
        assert not trip["overridden"], trip
        assert "override by kari not taken" in trip["message"], trip
        assert "launch a new run with it" in _report(deployment, run_id)
    assert let_through in _outcome(deployment, copied)[1][0]["message"]
    assert deployment.entra_users()[account["id"]]["mobilePhone"] == "+47 400 00 003"

    new_run = finished_run(
        deployment.cli(
            "run",
            "--override-guard",
            GUARD_SNAPSHOT_SHRINK,
            "--by",
            "kari",
            "--reason",
            "HR removed more test accounts",
        ),
        "acme",
    )

    outcome, [trip] = _outcome(deployment, new_run)
    assert outcome == "succeeded"
    assert trip["overridden"]
    assert deployment.entra_users()[account["id"]]["mobilePhone"] == "+47 400 00 004"

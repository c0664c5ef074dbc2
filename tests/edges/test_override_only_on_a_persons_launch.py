"""A guard never releases itself (SPEC §7: a tripped guard keeps stopping the writes until a
person overrides it). Dagster copies a run's tags into its re-executions (the UI's "Re-execute",
"from failure") and automatic retries, and a schedule, sensor or backfill may carry the override
tags on every run it makes: such a run reads the override but does not take it. The guard goes
on stopping the writes, and its trip says why ("launch a new run with it"). A run a person
launches with the tags (the console, the launchpad, the API) is let through as before; the
dry-run tag, copied the same way, stays harmless (a copy writes nothing either).

The runs are real Dagster runs on a test instance: a fresh launch, `execute_job` with
`ReexecutionOptions` (the API's re-execution), and the tags Dagster itself sets on the UI's
re-executions, on retries and on the runs of schedules, sensors and backfills (pinned below
against the installed Dagster's own constants).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.storage import tags as dagster_tags

from assets.run_options import (
    DRY_RUN_TAG,
    MADE_BY_AUTOMATION_TAGS,
    OVERRIDE_BY_TAG,
    OVERRIDE_GUARDS_TAG,
    OVERRIDE_REASON_TAG,
    PARENT_RUN_ID_TAG,
    RETRY_NUMBER_TAG,
    ROOT_RUN_ID_TAG,
    RunOptions,
    run_options,
)
from reconcile.engine import PlanResult, plan_run
from reconcile.policy import Policy
from reconcile.state import HeldTrip, RunContext
from reconcile.vocabulary import GUARD_SNAPSHOT_SHRINK, HUMA
from tests.edges.nights import POPULATION, T0, linked_state, snapshots

OVERRIDE = {
    OVERRIDE_GUARDS_TAG: GUARD_SNAPSHOT_SHRINK,
    OVERRIDE_BY_TAG: "kari",
    OVERRIDE_REASON_TAG: "HR archived three people in Huma; checked",
}
SEEN: dict[str, RunOptions] = {}


@dg.op
def read_options(context) -> None:
    SEEN[context.run.run_id] = run_options(context.run)


@dg.job(executor_def=dg.in_process_executor)
def probe() -> None:
    read_options()


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        yield instance


def _launch(instance: dg.DagsterInstance, tags: dict[str, str]) -> RunOptions:
    result = probe.execute_in_process(instance=instance, tags=tags)
    return SEEN[result.run_id]


def _plan(options: RunOptions) -> PlanResult:
    """The night after the stopped one, planned as the planning step plans it: Huma still
    shrunk by 30%, the trip held, and the run's options."""
    context = RunContext(
        run_at=T0,
        verified_domains=frozenset({"example.com"}),
        previous_huma_count=POPULATION,
        previous_entra_count=POPULATION,
        held_trips=(HeldTrip(GUARD_SNAPSHOT_SHRINK, HUMA, 0.3, 0.2, "shrank", T0),),
        guard_overrides=options.guard_overrides,
        overridden_by=options.overridden_by,
        override_reason=options.override_reason,
        overrides_not_taken=options.overrides_not_taken,
        why_not_taken=options.why_not_taken,
    )
    huma, entra = snapshots(range(7))[0], snapshots(range(POPULATION))[1]
    return plan_run(huma, entra, linked_state(), Policy(mass_change_min_users=100), context)


def _assert_not_taken(options: RunOptions) -> None:
    assert options.guard_overrides == frozenset()
    assert options.overrides_not_taken == {GUARD_SNAPSHOT_SHRINK}
    result = _plan(options)
    assert result.writes_stopped
    [trip] = result.guard_trips.to_dicts()
    assert not trip["overridden"], trip
    assert trip["overridden_by"] is None
    assert "override by kari not taken" in trip["message"], trip
    assert "launch a new run with it" in trip["message"], trip


def test_the_dagster_tags_are_the_installed_dagster_s_own() -> None:
    assert PARENT_RUN_ID_TAG == dagster_tags.PARENT_RUN_ID_TAG
    assert ROOT_RUN_ID_TAG == dagster_tags.ROOT_RUN_ID_TAG
    assert RETRY_NUMBER_TAG == dagster_tags.RETRY_NUMBER_TAG
    assert set(MADE_BY_AUTOMATION_TAGS) == {
        dagster_tags.SCHEDULE_NAME_TAG,
        dagster_tags.SENSOR_NAME_TAG,
        dagster_tags.BACKFILL_ID_TAG,
        dagster_tags.AUTOMATION_CONDITION_TAG,
    }


def test_a_fresh_launch_with_the_override_lets_the_held_guard_through(
    instance: dg.DagsterInstance,
) -> None:
    options = _launch(instance, OVERRIDE)

    assert options.guard_overrides == {GUARD_SNAPSHOT_SHRINK}
    assert options.overrides_not_taken == frozenset()
    result = _plan(options)
    assert not result.writes_stopped
    [trip] = result.guard_trips.to_dicts()
    assert trip["overridden"]
    assert trip["overridden_by"] == "kari"
    assert trip["override_reason"] == OVERRIDE[OVERRIDE_REASON_TAG]


def test_a_re_execution_of_the_overridden_run_does_not_take_its_override(
    instance: dg.DagsterInstance,
) -> None:
    parent = probe.execute_in_process(instance=instance, tags=OVERRIDE)
    # The API's re-execution: the parent is an attribute of the new run, not one of its tags.
    with dg.execute_job(
        dg.reconstructable(probe),
        instance=instance,
        tags=OVERRIDE,
        reexecution_options=dg.ReexecutionOptions(parent_run_id=parent.run_id),
    ) as again:
        assert again.success
        assert again.dagster_run.parent_run_id == parent.run_id
        options = SEEN[again.run_id]

    _assert_not_taken(options)
    assert parent.run_id in (options.why_not_taken or "")


@pytest.mark.parametrize(
    "made_by",
    [
        # The UI's re-execution and the daemon's retries (`create_reexecuted_run`).
        pytest.param({PARENT_RUN_ID_TAG: "p", ROOT_RUN_ID_TAG: "r"}, id="ui-re-execution"),
        pytest.param(
            {PARENT_RUN_ID_TAG: "p", ROOT_RUN_ID_TAG: "r", RETRY_NUMBER_TAG: "1"}, id="retry"
        ),
        pytest.param({"dagster/schedule_name": "nightly_acme"}, id="schedule"),
        pytest.param({"dagster/sensor_name": "webhooks_acme"}, id="sensor"),
        pytest.param({"dagster/backfill": "abcdefgh"}, id="backfill"),
        pytest.param({"dagster/from_automation_condition": "true"}, id="automation"),
    ],
)
def test_a_run_no_person_launched_does_not_take_the_override(
    instance: dg.DagsterInstance, made_by: dict[str, str]
) -> None:
    _assert_not_taken(_launch(instance, OVERRIDE | made_by))


def test_the_dry_run_tag_copied_into_a_re_execution_still_writes_nothing(
    instance: dg.DagsterInstance,
) -> None:
    copied = _launch(instance, {DRY_RUN_TAG: "true", PARENT_RUN_ID_TAG: "p", ROOT_RUN_ID_TAG: "p"})

    assert copied.dry_run

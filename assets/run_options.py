"""What a run is asked to do, read from its tags: a dry run, guard overrides and who made them.

Tags rather than per-asset config because every step of a run must agree on them, and because
they show on the run in the Dagster UI: `huma-entra-sync run --dry-run` and the launchpad set the
same tags. An override names who and why (`reconcile.state.RunContext` refuses one that does
not), so a run launched from the UI sets the three override tags together.

An override counts only on a run a person launched for it (SPEC §7: a guard never releases
itself). Dagster copies a run's tags into its re-executions and automatic retries, and a
schedule, sensor or backfill may carry any tags on every run it makes: on such a run the override
tags are read, but not taken (`RunOptions.overrides_not_taken` says which and why), and the guard
goes on stopping the writes.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from reconcile.vocabulary import GUARDS

if TYPE_CHECKING:
    import dagster as dg

DRY_RUN_TAG = "huma-entra-sync/dry-run"
OVERRIDE_GUARDS_TAG = "huma-entra-sync/override-guards"
OVERRIDE_BY_TAG = "huma-entra-sync/override-by"
OVERRIDE_REASON_TAG = "huma-entra-sync/override-reason"
CONNECTION_TAG = "huma-entra-sync/connection"
#: A targeted run: it reads only the users the webhook events it takes name.
TARGETED_TAG = "huma-entra-sync/targeted"
#: How many users the events waiting when the sensor asked for a targeted run named (the run
#: takes every event stored up to its start: it may cover more).
TARGETED_USERS_TAG = "huma-entra-sync/targeted-users"

# Dagster's own tags (`dagster._core.storage.tags`) on a run it made from another run: the UI's
# re-executions (all steps, from failure, a selection) and the daemon's automatic retries.
PARENT_RUN_ID_TAG = "dagster/parent_run_id"
ROOT_RUN_ID_TAG = "dagster/root_run_id"
RETRY_NUMBER_TAG = "dagster/retry_number"
# ... and on a run an automation made, each with what made it, in words.
MADE_BY_AUTOMATION_TAGS = {
    "dagster/schedule_name": "the schedule",
    "dagster/sensor_name": "the sensor",
    "dagster/backfill": "the backfill",
    "dagster/from_automation_condition": "an automation condition",
}


@dataclasses.dataclass(frozen=True)
class RunOptions:
    """A run's options.

    Attributes:
        dry_run: plan and report everything, write nothing (not to Huma, Entra or the history).
        guard_overrides: guards a person let through for this run (`reconcile.vocabulary.GUARDS`).
        overridden_by: who let them through.
        override_reason: why, in their words.
        targeted: read only the users named by the webhook events the run takes
            (`assets.targeting`), not everyone.
        overrides_not_taken: guards the run's tags ask to let through on a run no person
            launched for it (a re-execution, a retry, a schedule's, sensor's or backfill's run):
            they go on stopping the writes.
        why_not_taken: why, in words for the report and the guard rows (None when nothing was
            refused).
    """

    dry_run: bool = False
    guard_overrides: frozenset[str] = frozenset()
    overridden_by: str | None = None
    override_reason: str | None = None
    targeted: bool = False
    overrides_not_taken: frozenset[str] = frozenset()
    why_not_taken: str | None = None

    @property
    def mode(self) -> str:
        return "dry_run" if self.dry_run else "apply"

    def as_tags(self) -> dict[str, str]:
        """The tags that ask a run for these options."""
        tags = {DRY_RUN_TAG: "true"} if self.dry_run else {}
        if self.targeted:
            tags[TARGETED_TAG] = "true"
        if self.guard_overrides:
            tags[OVERRIDE_GUARDS_TAG] = ",".join(sorted(self.guard_overrides))
        for tag, value in (
            (OVERRIDE_BY_TAG, self.overridden_by),
            (OVERRIDE_REASON_TAG, self.override_reason),
        ):
            if value:
                tags[tag] = value
        return tags


def run_options(run: dg.DagsterRun) -> RunOptions:
    """The options `run`'s tags ask for; an override only when a person launched the run for it.

    Raises:
        ValueError: an override names an unknown guard.
    """
    tags = run.tags
    overrides = frozenset(
        name.strip() for name in tags.get(OVERRIDE_GUARDS_TAG, "").split(",") if name.strip()
    )
    unknown = sorted(overrides - set(GUARDS))
    if unknown:
        raise ValueError(f"unknown guards {unknown} in {OVERRIDE_GUARDS_TAG}; known: {GUARDS}")
    by = tags.get(OVERRIDE_BY_TAG, "").strip() or None
    reason = tags.get(OVERRIDE_REASON_TAG, "").strip() or None
    options = RunOptions(
        dry_run=tags.get(DRY_RUN_TAG, "false").strip().lower() in ("1", "true", "yes"),
        targeted=tags.get(TARGETED_TAG, "false").strip().lower() in ("1", "true", "yes"),
    )
    if not overrides:
        return options
    not_launched = _not_launched_by_a_person(run)
    if not_launched is not None:
        asked = f" by {by}" if by else ""
        return dataclasses.replace(
            options,
            overrides_not_taken=overrides,
            why_not_taken=(
                f"override{asked} not taken: {not_launched}; an override is given for one run "
                "by a person: launch a new run with it"
            ),
        )
    return dataclasses.replace(
        options, guard_overrides=overrides, overridden_by=by, override_reason=reason
    )


def _not_launched_by_a_person(run: dg.DagsterRun) -> str | None:
    """How Dagster made `run` from another run or for an automation, in words; None for a run
    launched on its own (the console, the UI's launchpad, the API)."""
    tags = run.tags
    # A re-execution by the Python API has its parent as an attribute only, not as a tag.
    parent = run.parent_run_id or tags.get(PARENT_RUN_ID_TAG)
    root = run.root_run_id or tags.get(ROOT_RUN_ID_TAG)
    if parent or root:
        return f"this run re-executes or retries run {parent or root}, which carried it"
    if RETRY_NUMBER_TAG in tags:
        return "this run is an automatic retry of another run, which carried it"
    for tag, maker in MADE_BY_AUTOMATION_TAGS.items():
        if tag in tags:
            name = tags[tag]
            named = f" {name}" if name and name != "true" else ""
            return f"this run was made by {maker}{named}, which carries it on every run it makes"
    return None

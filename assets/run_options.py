"""What a run is asked to do, read from its tags: a dry run, guard overrides and who made them.

Tags rather than per-asset config because every step of a run must agree on them, and because
they show on the run in the Dagster UI: `huma-entra-sync run --dry-run` and the launchpad set the
same tags. An override names who and why (`reconcile.state.RunContext` refuses one that does
not), so a run launched from the UI sets the three override tags together.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from reconcile.vocabulary import GUARDS

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
    """

    dry_run: bool = False
    guard_overrides: frozenset[str] = frozenset()
    overridden_by: str | None = None
    override_reason: str | None = None
    targeted: bool = False

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


def run_options(tags: Mapping[str, str]) -> RunOptions:
    """The options a run's tags ask for.

    Raises:
        ValueError: an override names an unknown guard.
    """
    overrides = frozenset(
        name.strip() for name in tags.get(OVERRIDE_GUARDS_TAG, "").split(",") if name.strip()
    )
    unknown = sorted(overrides - set(GUARDS))
    if unknown:
        raise ValueError(f"unknown guards {unknown} in {OVERRIDE_GUARDS_TAG}; known: {GUARDS}")
    dry_run = tags.get(DRY_RUN_TAG, "false").strip().lower() in ("1", "true", "yes")
    return RunOptions(
        dry_run=dry_run,
        targeted=tags.get(TARGETED_TAG, "false").strip().lower() in ("1", "true", "yes"),
        guard_overrides=overrides,
        overridden_by=tags.get(OVERRIDE_BY_TAG, "").strip() or None,
        override_reason=tags.get(OVERRIDE_REASON_TAG, "").strip() or None,
    )

"""`RunReport`: everything the result email says about one run (SPEC §8), as plain frozen data.

The model is what the templates read; `assets.report.build.build_run_report` makes it from the
engine's frames. Counts are always complete. Listings carry their full `total` and the rows to
show; the sections the CSV attachment holds (failures, decisions waiting, blocked changes, email
mismatches and drift) keep every row, the others only the first `limit` (the history keeps the
rest).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final, Generic, TypeVar

MODE_APPLY: Final = "apply"
MODE_DRY_RUN: Final = "dry_run"
MODE_ROLLBACK: Final = "rollback"
MODES: Final = (MODE_APPLY, MODE_DRY_RUN, MODE_ROLLBACK)

#: The run went through (its writes may still have been stopped by a guard, or some failed).
OUTCOME_COMPLETED: Final = "completed"
#: The run itself failed (a snapshot could not be read, the apply step crashed, ...).
OUTCOME_FAILED: Final = "failed"
OUTCOMES: Final = (OUTCOME_COMPLETED, OUTCOME_FAILED)

Row = TypeVar("Row")


@dataclass(frozen=True)
class Listing(Generic[Row]):
    """One section's rows: `total` of them exist, the email shows at most `limit`.

    Attributes:
        rows: The rows kept (all of them, or the first `limit`).
        total: How many there are in all.
        limit: How many the email lists.
    """

    rows: tuple[Row, ...]
    total: int
    limit: int

    @property
    def shown(self) -> tuple[Row, ...]:
        """The rows the email lists."""
        return self.rows[: self.limit]

    @property
    def more(self) -> int:
        """How many rows the email leaves out ("and N more")."""
        return self.total - len(self.shown)


@dataclass(frozen=True)
class CountRow:
    """One action's plan rows per status (in `CountTable.statuses` order)."""

    action: str
    cells: tuple[int, ...]
    total: int


@dataclass(frozen=True)
class CountTable:
    """Plan rows per action and status: only actions and statuses that occur, totals included."""

    statuses: tuple[str, ...]
    rows: tuple[CountRow, ...]
    totals: tuple[int, ...]
    total: int

    def breakdown(self, row: CountRow) -> tuple[tuple[str, int], ...]:
        """`(status, count)` of the row's non-zero cells."""
        return tuple((s, n) for s, n in zip(self.statuses, row.cells, strict=True) if n)

    def count(self, action: str | None = None, status: str | None = None) -> int:
        """Rows of one action and/or status (both None: every row)."""
        chosen = [r for r in self.rows if action is None or r.action == action]
        if status is None:
            return sum(r.total for r in chosen)
        if status not in self.statuses:
            return 0
        column = self.statuses.index(status)
        return sum(r.cells[column] for r in chosen)


@dataclass(frozen=True)
class CreatedUser:
    """A user created (or, in a dry run, that would be created) in `action`'s target system."""

    change_id: str
    action: str
    user: str
    name: str
    created_id: str | None
    note: str | None


@dataclass(frozen=True)
class UpdatedField:
    """One field written (or that would be written) to one user."""

    change_id: str
    user: str
    field: str
    from_value: str
    to_value: str
    direction: str


@dataclass(frozen=True)
class Failure:
    """A change the target system refused or could not take, with its remote error."""

    change_id: str
    action: str
    user: str
    fields: str
    error: str
    remote_status: int | None
    remote_code: str | None
    request_id: str | None


@dataclass(frozen=True)
class PendingDecision:
    """A change waiting for a person (`pending`, or `stale`: asked again), and how to decide it.

    `approve_commands` has one command per way to approve (a conflict: one per winning side).
    """

    change_id: str
    kind: str
    action: str
    status: str
    user: str
    name: str
    fields: str
    huma_values: str
    entra_values: str
    reason: str
    approve_commands: tuple[str, ...]
    reject_command: str


@dataclass(frozen=True)
class BlockedChange:
    """A change the run will not make, and why (a guard, a uniqueness clash, a private domain)."""

    change_id: str
    action: str
    user: str
    fields: str
    reason: str


@dataclass(frozen=True)
class ValidationProblem:
    """One failed check: the user is held out of this run until the value is fixed."""

    side: str
    user_id: str
    user: str
    field: str
    value: str
    rule: str
    message: str


@dataclass(frozen=True)
class Notice:
    """A user the run left alone on purpose (locked, deleted, disabled, out of scope)."""

    kind: str
    user: str
    message: str


@dataclass(frozen=True)
class WebhookDeletion:
    """A user a Huma `users-delete` webhook named since the last full run, and what this full run
    did about them (SPEC §6: nothing is ever deleted in Entra)."""

    user: str
    huma_id: str
    outcome: str


@dataclass(frozen=True)
class Difference:
    """A difference the run reports and never writes: the email of a linked pair (`kind`
    `email_mismatch`), or a one-way field differing the wrong way round (`drift`)."""

    kind: str
    user: str
    field: str
    huma_value: str
    entra_value: str
    reason: str


@dataclass(frozen=True)
class DifferenceCount:
    """How many users have a difference of one kind in one field."""

    kind: str
    field: str
    count: int


@dataclass(frozen=True)
class GuardTrip:
    """A guard that tripped: it stopped the writes, or a person overrode it for this run."""

    guard: str
    side: str | None
    message: str
    overridden: bool
    hint: str
    override_command: str | None


@dataclass(frozen=True)
class KindCommand:
    """The command that approves every waiting decision of one kind, and how many it covers."""

    kind: str
    count: int
    command: str


@dataclass(frozen=True)
class DecisionCommands:
    """How to decide: commands with `CHANGE_ID` to fill in, and one bulk approval per kind.

    `approve_conflict` names Huma as the winner; `--winner entra` takes Entra ID's value.
    """

    list_all: str
    approve: str
    approve_conflict: str
    reject: str
    approve_kinds: tuple[KindCommand, ...]


@dataclass(frozen=True)
class RunReport:
    """One run's result report (SPEC §8).

    `applied` counts the changes written (in a dry run: that would be written); `waiting` the
    decisions waiting; `writes_stopped` tells whether a guard stopped the writes.
    """

    connection: str
    run_id: str
    mode: str
    started_at: datetime
    ended_at: datetime
    outcome: str
    counts: CountTable
    applied: int
    waiting: int
    failed: int
    blocked: int
    created: Listing[CreatedUser]
    updated: Listing[UpdatedField]
    failures: Listing[Failure]
    pending: Listing[PendingDecision]
    blocked_changes: Listing[BlockedChange]
    validation_failures: Listing[ValidationProblem]
    notices: Listing[Notice]
    differences: Listing[Difference]
    difference_counts: tuple[DifferenceCount, ...]
    guard_trips: tuple[GuardTrip, ...]
    commands: DecisionCommands
    dagster_run_url: str | None
    #: For a targeted run, how many users the Huma webhooks named (None for a full run).
    targeted_users: int | None = None
    #: The users Huma's webhooks said were deleted, for the full run that covered them.
    webhook_deletions: Listing[WebhookDeletion] = Listing((), 0, 1)

    @property
    def worth_sending(self) -> bool:
        """Whether the email is worth sending: always for a full run; for a targeted run only
        when something was applied, failed, waits for a person or was stopped by a guard."""
        if self.targeted_users is None:
            return True
        return bool(self.applied or self.failed or self.waiting or self.guard_trips)

    @property
    def writes_stopped(self) -> bool:
        """Whether a guard stopped this run's writes (tripped and not overridden)."""
        return any(not trip.overridden for trip in self.guard_trips)

    @property
    def dry_run(self) -> bool:
        """Whether the run computed everything and wrote nothing."""
        return self.mode == MODE_DRY_RUN

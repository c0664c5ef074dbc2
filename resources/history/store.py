"""`HistoryStore`: the history database of one deployment, as one plain class doing I/O only."""

from __future__ import annotations

from pathlib import Path

from resources.history.base import DEFAULT_LOCK_TIMEOUT_SECONDS
from resources.history.decisions import DecisionsMixin
from resources.history.guards import GuardsMixin
from resources.history.journal import JournalMixin
from resources.history.outputs import OutputsMixin
from resources.history.runs import RunsMixin
from resources.history.snapshots import SnapshotsMixin
from resources.history.state import StateMixin


class HistoryStore(
    RunsMixin,
    GuardsMixin,
    SnapshotsMixin,
    OutputsMixin,
    JournalMixin,
    StateMixin,
    DecisionsMixin,
):
    """Everything the pipeline keeps between runs, in one DuckDB file shared by connections.

    Every method opens the file, does its work in one transaction (or one read-only session)
    and closes it, so the file is free between calls. The first call creates the file and applies
    the migrations it lacks. Not meant to be shared between threads.

    The parts, by concern: the file (`migrate`, `schema_version`, `session`, `copy_to`); runs
    (`begin_run`, `finish_run`, `run`, `runs`, `latest_run`); what guards start from
    (`previous_snapshots`, `held_guard_trips`); snapshots
    (`record_snapshot`, `snapshot`, `snapshot_payloads`); planning outputs (`record_plan`,
    `run_frame`, `record_statuses`, `plan_with_statuses`, `status_history`); the apply journal
    (`journal_intent(s)`, `journal_outcome(s)`, `open_journal`, `applied_changes`, `journal`);
    state (`load_state`, `save_state`); decisions (`record_decisions`, `decisions`,
    `pending_decisions`).
    """


def read_only_store(
    path: str | Path, *, lock_timeout_seconds: float = DEFAULT_LOCK_TIMEOUT_SECONDS
) -> HistoryStore:
    """A store that only reads: it never creates, upgrades or writes the file (analysts, the
    CLI's listings). Its reads share the file with other readers.

    Raises (on first use):
        HistoryNotReady: No file yet, or one an older schema version (the next run upgrades it).
    """
    return HistoryStore(path, lock_timeout_seconds=lock_timeout_seconds, read_only=True)

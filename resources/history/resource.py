"""`HistoryStore`, the history database of one deployment as one plain class doing I/O only, and
`HistoryResource`, the Dagster resource wrapping it."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, PrivateAttr

from resources.base import ResourceWithSecrets
from resources.history.journal import JournalMixin
from resources.history.plan import PlanMixin
from resources.history.runs import RunsMixin
from resources.history.state import StateMixin
from resources.history.store import DEFAULT_LOCK_TIMEOUT_SECONDS


class HistoryStore(RunsMixin, PlanMixin, JournalMixin, StateMixin):
    """Everything the pipeline keeps between runs, in one DuckDB file shared by connections.

    Every method opens the file, does its work in one transaction (or one read-only session)
    and closes it, so the file is free between calls. The first call creates the file and applies
    the migrations it lacks. Not meant to be shared between threads.

    The parts, one module each: the file (`store`: `migrate`, `schema_version`, `session`,
    `copy_to`); runs and snapshots (`runs`: `begin_run`, `finish_run`, `run`, `runs`,
    `latest_run`, `record_snapshot`, `snapshot`, `snapshot_payloads`, and what guards start
    from, `previous_snapshots`, `held_guard_trips`); plan and decisions (`plan`: `record_plan`,
    `run_frame`, `record_statuses`, `plan_with_statuses`, `status_history`,
    `record_decisions`, `decisions`, `pending_decisions`); the apply journal (`journal`:
    `journal_intent(s)`, `journal_outcome(s)`, `open_journal`, `applied_changes`, `journal`);
    state (`state`: `load_state`, `save_state`, `linked_entra_ids`, `baseline_rows_written`).
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


class HistoryResource(ResourceWithSecrets):
    """The deployment's history file (`HISTORY_DB_PATH`); holds no secrets.

    Use `store()` for reads and writes of a run, `reader()` for listings that must never
    create or upgrade the file.
    """

    path: str = Field(description="The DuckDB file; created and migrated on first use.")
    lock_timeout_seconds: float = Field(
        default=DEFAULT_LOCK_TIMEOUT_SECONDS,
        description="How long an open waits while another process holds the file.",
    )

    _store: HistoryStore | None = PrivateAttr(default=None)

    def store(self) -> HistoryStore:
        """The writable store over the file (made once; each of its calls opens the file
        briefly, and the first creates or upgrades it)."""
        if self._store is None:
            self._store = HistoryStore(self.path, lock_timeout_seconds=self.lock_timeout_seconds)
        return self._store

    def reader(self) -> HistoryStore:
        """A read-only store over the file."""
        return read_only_store(self.path, lock_timeout_seconds=self.lock_timeout_seconds)

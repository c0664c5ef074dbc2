"""`HistoryResource`: the history database as a Dagster resource (a thin wrapper of the store)."""

from __future__ import annotations

from pydantic import Field, PrivateAttr

from resources.base import ResourceWithSecrets
from resources.history.base import DEFAULT_LOCK_TIMEOUT_SECONDS
from resources.history.store import HistoryStore, read_only_store


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

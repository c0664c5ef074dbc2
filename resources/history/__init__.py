"""The history database (SPEC §9): one DuckDB file per deployment, every row naming its connection.

* `HistoryStore(path, lock_timeout_seconds=…)`: the plain class the pipeline, the CLI and tests
  use (`store.py` lists its methods by concern); `read_only_store(path)` for readers.
* `HistoryResource(path, lock_timeout_seconds)`: the Dagster resource wrapping it.
* Errors: `HistoryLocked` (another process held the file past the timeout), `HistoryNotReady`
  (a reader found no file or an older schema), `JournalError` (a journal write that would break
  crash safety).
* Frames: `StateChanges` (what `save_state` may take instead of a whole `SyncState`), and the
  schemas of the journal, status and pending-decision frames.

The tables are documented in the README ("History tables"); the DDL lives in the numbered,
frozen migrations `schema_v1`, `schema_v2`, … applied by `migrations`.
"""

from resources.history.decisions import PENDING_DECISIONS_SCHEMA
from resources.history.errors import HistoryError, HistoryLocked, HistoryNotReady, JournalError
from resources.history.guards import PreviousSnapshots
from resources.history.journal_frames import (
    JOURNAL_INTENTS_SCHEMA,
    JOURNAL_OUTCOMES_SCHEMA,
    JOURNAL_SCHEMA,
)
from resources.history.migrations import LATEST_VERSION, MIGRATIONS
from resources.history.outputs import PLAN_STATUS_SCHEMA, STATUS_CHANGES_SCHEMA
from resources.history.resource import HistoryResource
from resources.history.runs import APPLY, DRY_RUN, MODES, ROLLBACK, RunRecord
from resources.history.state import StateChanges
from resources.history.store import HistoryStore, read_only_store

__all__ = [
    "APPLY",
    "DRY_RUN",
    "JOURNAL_INTENTS_SCHEMA",
    "JOURNAL_OUTCOMES_SCHEMA",
    "JOURNAL_SCHEMA",
    "LATEST_VERSION",
    "MIGRATIONS",
    "MODES",
    "PENDING_DECISIONS_SCHEMA",
    "PLAN_STATUS_SCHEMA",
    "ROLLBACK",
    "STATUS_CHANGES_SCHEMA",
    "HistoryError",
    "HistoryLocked",
    "HistoryNotReady",
    "HistoryResource",
    "HistoryStore",
    "JournalError",
    "PreviousSnapshots",
    "RunRecord",
    "StateChanges",
    "read_only_store",
]

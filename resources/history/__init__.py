"""The history database (SPEC §9): one DuckDB file per deployment, every row naming its connection.

* `HistoryStore(path, lock_timeout_seconds=…)`: the plain class the pipeline, the CLI and tests
  use (`resource.py` lists its methods by concern); `read_only_store(path)` for readers.
* `HistoryResource(path, lock_timeout_seconds)`: the Dagster resource wrapping it.
* Errors: `HistoryLocked` (another process held the file past the timeout), `HistoryNotReady`
  (a reader found no file or an older schema), `JournalError` (a journal write that would break
  crash safety).
* Frames: `StateChanges` (what `save_state` may take instead of a whole `SyncState`), and the
  schemas of the journal, status and pending-decision frames.

The tables are documented in the README ("History tables"); the DDL lives in the numbered,
frozen migrations of `schema`, listed in the order they apply.
"""

from resources.history.files import HistoryError, HistoryLocked, HistoryNotReady, JournalError
from resources.history.journal import (
    JOURNAL_INTENTS_SCHEMA,
    JOURNAL_OUTCOMES_SCHEMA,
    JOURNAL_SCHEMA,
)
from resources.history.plan import (
    PENDING_DECISIONS_SCHEMA,
    PLAN_STATUS_SCHEMA,
    STATUS_CHANGES_SCHEMA,
)
from resources.history.resource import HistoryResource, HistoryStore, read_only_store
from resources.history.runs import APPLY, DRY_RUN, MODES, ROLLBACK, PreviousSnapshots, RunRecord
from resources.history.schema import LATEST_VERSION, MIGRATIONS
from resources.history.state import StateChanges

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

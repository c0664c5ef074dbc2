"""Numbered schema migrations: a new file gets them all, an older file the ones it lacks.

`schema_migrations` records each applied migration with its time. Migrations are frozen text
(`schema_v1`, `schema_v2`, …): a change to the schema is always a new, higher-numbered migration,
so every file in the field reaches the same schema by the same steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

import duckdb

from resources.history import schema_v1, schema_v2, schema_v3, schema_v4, schema_v5
from resources.history.errors import HistoryNotReady


@dataclass(frozen=True)
class Migration:
    """One step of the schema.

    Attributes:
        version: Its number; applied in increasing order, each exactly once.
        name: What it adds, in words.
        statements: The SQL, run in one transaction.
    """

    version: int
    name: str
    statements: tuple[str, ...]


MIGRATIONS: Final = (
    Migration(
        1, "planning history: runs, snapshots, planning outputs, state", schema_v1.STATEMENTS
    ),
    Migration(
        2, "apply history: journal, plan statuses, raw payloads, views", schema_v2.STATEMENTS
    ),
    Migration(3, "decision comments", schema_v3.STATEMENTS),
    Migration(4, "guards that stay tripped: when, who overrode, why", schema_v4.STATEMENTS),
    Migration(5, "targeted runs: each run's scope", schema_v5.STATEMENTS),
)
LATEST_VERSION: Final = MIGRATIONS[-1].version

_CREATE_LEDGER: Final = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name VARCHAR NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL
)
"""


def schema_version(conn: duckdb.DuckDBPyConnection) -> int:
    """The highest migration applied to the open file (0 for a new or foreign file)."""
    found = conn.sql(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_migrations'"
    ).fetchall()
    if not found[0][0]:
        return 0
    return int(conn.sql("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchall()[0][0])


def check_known(version: int, path: object) -> None:
    """Refuse a file written by newer code: this code would not know its tables.

    Raises:
        HistoryNotReady: `version` is above `LATEST_VERSION`.
    """
    if version > LATEST_VERSION:
        raise HistoryNotReady(
            f"the history database {path} is at schema version {version}, newer than this "
            f"code's {LATEST_VERSION}: upgrade huma-entra-sync before using it"
        )


def apply_next(conn: duckdb.DuckDBPyConnection, *, target_version: int) -> int | None:
    """Apply the first migration the file lacks, up to `target_version`, inside the caller's
    transaction. Re-reads the version first, so two processes migrating one after the other
    never apply a step twice.

    Args:
        conn: A writable connection inside a transaction.
        target_version: The highest version wanted.

    Returns:
        The version applied, or None when the file is already at `target_version`.
    """
    conn.execute(_CREATE_LEDGER)
    current = schema_version(conn)
    pending = [m for m in MIGRATIONS if current < m.version <= target_version]
    if not pending:
        return None
    migration = pending[0]
    for statement in migration.statements:
        conn.execute(statement)
    conn.execute(
        "INSERT INTO schema_migrations VALUES (?, ?, ?)",
        [migration.version, migration.name, datetime.now(UTC)],
    )
    return migration.version

"""The history's schema: every migration in order, and how a file gets the ones it lacks.

A new file gets them all, an older file the ones it lacks; `schema_migrations` records each
applied migration with its time. Migrations are frozen: once released, a migration's text never
changes (files in the field were built by it), so a change to the schema is always a new,
higher-numbered migration appended below, and every file in the field reaches the same schema by
the same steps. Tables holding an engine frame carry its columns 1:1 (same names, order and types:
`VARCHAR[]` for lists of strings, `TIMESTAMPTZ` for UTC time stamps), after `run_id` and
`connection`; JSON values are VARCHAR text. No indexes: DuckDB's min/max zone maps keep the
analysts' queries fast enough, and an index would triple the file (TOOLCHAIN).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

import duckdb

from resources.history.files import HistoryNotReady

# Migration 1, the planning history: runs, both snapshots, the planning outputs, the kept state.
_V1_MAPPED = """
    given_name VARCHAR,
    family_name VARCHAR,
    phone VARCHAR,
    address_line1 VARCHAR,
    address_postal_code VARCHAR,
    address_city VARCHAR,
    address_country VARCHAR,
    employment_id VARCHAR,
    hire_date DATE,
    job_title VARCHAR,"""

_V1: Final = (
    """
    CREATE TABLE runs (
        run_id VARCHAR PRIMARY KEY,
        connection VARCHAR NOT NULL,
        mode VARCHAR NOT NULL,
        started_at TIMESTAMPTZ NOT NULL,
        ended_at TIMESTAMPTZ,
        outcome VARCHAR,
        dagster_run_id VARCHAR,
        huma_count BIGINT,
        entra_count BIGINT,
        huma_partial BOOLEAN,
        entra_partial BOOLEAN,
        plan_rows BIGINT,
        summary VARCHAR,
        report_path VARCHAR,
        email_status VARCHAR,
        error VARCHAR
    )
    """,
    f"""
    CREATE TABLE huma_users (
        run_id VARCHAR NOT NULL,
        connection VARCHAR NOT NULL,
        huma_id VARCHAR,
        email VARCHAR,
        email_key VARCHAR,{_V1_MAPPED}
        active BOOLEAN,
        deactivated_at TIMESTAMPTZ,
        unknown_fields VARCHAR[]
    )
    """,
    f"""
    CREATE TABLE entra_users (
        run_id VARCHAR NOT NULL,
        connection VARCHAR NOT NULL,
        entra_id VARCHAR,
        user_principal_name VARCHAR,
        mail VARCHAR,
        email_key VARCHAR,{_V1_MAPPED}
        account_enabled BOOLEAN,
        user_type VARCHAR,
        on_premises_sync_enabled BOOLEAN,
        unknown_fields VARCHAR[]
    )
    """,
    """
    CREATE TABLE validation_failures (
        run_id VARCHAR NOT NULL,
        connection VARCHAR NOT NULL,
        side VARCHAR,
        user_id VARCHAR,
        email_key VARCHAR,
        field VARCHAR,
        value VARCHAR,
        rule VARCHAR,
        message VARCHAR
    )
    """,
    """
    CREATE TABLE field_diffs (
        run_id VARCHAR NOT NULL,
        connection VARCHAR NOT NULL,
        huma_id VARCHAR,
        entra_id VARCHAR,
        email_key VARCHAR,
        field VARCHAR,
        huma_value VARCHAR,
        entra_value VARCHAR,
        has_agreed BOOLEAN,
        agreed_value VARCHAR,
        "case" VARCHAR,
        outcome VARCHAR,
        change_id VARCHAR
    )
    """,
    """
    CREATE TABLE conflicts (
        run_id VARCHAR NOT NULL,
        connection VARCHAR NOT NULL,
        huma_id VARCHAR,
        entra_id VARCHAR,
        email_key VARCHAR,
        field VARCHAR,
        huma_value VARCHAR,
        entra_value VARCHAR,
        agreed_value VARCHAR,
        "case" VARCHAR,
        change_id VARCHAR
    )
    """,
    """
    CREATE TABLE sync_plan (
        run_id VARCHAR NOT NULL,
        connection VARCHAR NOT NULL,
        change_id VARCHAR,
        action VARCHAR,
        direction VARCHAR,
        huma_id VARCHAR,
        entra_id VARCHAR,
        email_key VARCHAR,
        fields VARCHAR[],
        huma_values VARCHAR,
        entra_values VARCHAR,
        from_values VARCHAR,
        to_values VARCHAR,
        reason VARCHAR,
        status VARCHAR,
        blocked_reason VARCHAR,
        decision_kind VARCHAR,
        decided_at TIMESTAMPTZ,
        decided_by VARCHAR
    )
    """,
    """
    CREATE TABLE guard_trips (
        run_id VARCHAR NOT NULL,
        connection VARCHAR NOT NULL,
        guard VARCHAR,
        side VARCHAR,
        observed DOUBLE,
        threshold DOUBLE,
        message VARCHAR,
        overridden BOOLEAN
    )
    """,
    """
    CREATE TABLE notices (
        run_id VARCHAR NOT NULL,
        connection VARCHAR NOT NULL,
        kind VARCHAR,
        huma_id VARCHAR,
        entra_id VARCHAR,
        email_key VARCHAR,
        message VARCHAR
    )
    """,
    """
    CREATE TABLE links (
        connection VARCHAR NOT NULL,
        huma_id VARCHAR,
        entra_id VARCHAR,
        linked_at TIMESTAMPTZ,
        linked_by VARCHAR,
        run_id VARCHAR NOT NULL
    )
    """,
    """
    CREATE TABLE link_changes (
        run_id VARCHAR NOT NULL,
        connection VARCHAR NOT NULL,
        change VARCHAR NOT NULL,
        huma_id VARCHAR,
        entra_id VARCHAR,
        linked_at TIMESTAMPTZ,
        linked_by VARCHAR
    )
    """,
    """
    CREATE TABLE baseline (
        connection VARCHAR NOT NULL,
        huma_id VARCHAR,
        field VARCHAR,
        has_agreed BOOLEAN,
        agreed VARCHAR,
        huma_seen VARCHAR,
        entra_seen VARCHAR,
        run_id VARCHAR NOT NULL
    )
    """,
    """
    CREATE TABLE baseline_changes (
        run_id VARCHAR NOT NULL,
        connection VARCHAR NOT NULL,
        huma_id VARCHAR,
        field VARCHAR,
        has_agreed BOOLEAN,
        agreed VARCHAR,
        huma_seen VARCHAR,
        entra_seen VARCHAR,
        removed BOOLEAN NOT NULL
    )
    """,
    """
    CREATE TABLE activation (
        connection VARCHAR PRIMARY KEY,
        activated_at TIMESTAMPTZ NOT NULL,
        run_id VARCHAR NOT NULL
    )
    """,
    """
    CREATE TABLE deleted_huma_users (
        connection VARCHAR NOT NULL,
        huma_id VARCHAR,
        entra_id VARCHAR,
        email_key VARCHAR,
        detected_at TIMESTAMPTZ,
        run_id VARCHAR NOT NULL
    )
    """,
    """
    CREATE TABLE decisions (
        connection VARCHAR NOT NULL,
        change_id VARCHAR,
        action VARCHAR,
        huma_id VARCHAR,
        entra_id VARCHAR,
        fields VARCHAR[],
        verdict VARCHAR,
        winner VARCHAR,
        huma_values VARCHAR,
        entra_values VARCHAR,
        decided_at TIMESTAMPTZ,
        decided_by VARCHAR,
        recorded_at TIMESTAMPTZ NOT NULL
    )
    """,
)


# Migration 2, the apply history: the apply journal, plan statuses over time, raw payloads kept
# once per content, rollbacks, and the analysts' views over them.
#
# Frozen. It upgrades a version-1 file in place: the runs gain `rollback_of`, and
# every plan row already kept gets its planned status as the first entry of its status history.
_V2: Final = (
    "ALTER TABLE runs ADD COLUMN rollback_of VARCHAR",
    # Raw API user objects, one row per distinct content per connection (md5 of the JSON text):
    # 30 nights of mostly unchanged users keep one copy each, plus a narrow reference per night.
    """
    CREATE TABLE payloads (
        connection VARCHAR NOT NULL,
        payload_hash UHUGEINT NOT NULL,
        payload VARCHAR NOT NULL
    )
    """,
    """
    CREATE TABLE snapshot_payloads (
        run_id VARCHAR NOT NULL,
        connection VARCHAR NOT NULL,
        side VARCHAR NOT NULL,
        user_id VARCHAR NOT NULL,
        payload_hash UHUGEINT NOT NULL
    )
    """,
    # One row per change sent (SPEC §7): the intent is committed before the request leaves, the
    # outcome after the answer. `status` null means no outcome yet; `unknown` means sent with no
    # answer. Either is settled by the next run after it re-reads the target.
    """
    CREATE TABLE apply_journal (
        run_id VARCHAR NOT NULL,
        connection VARCHAR NOT NULL,
        change_id VARCHAR NOT NULL,
        step INTEGER NOT NULL,
        system VARCHAR NOT NULL,
        operation VARCHAR NOT NULL,
        target_id VARCHAR,
        request VARCHAR,
        before VARCHAR,
        intended_at TIMESTAMPTZ NOT NULL,
        status VARCHAR,
        after VARCHAR,
        remote_status INTEGER,
        remote_code VARCHAR,
        remote_message VARCHAR,
        request_id VARCHAR,
        created_id VARCHAR,
        settled_at TIMESTAMPTZ,
        settled_by_run_id VARCHAR
    )
    """,
    """
    CREATE TABLE plan_status_history (
        run_id VARCHAR NOT NULL,
        connection VARCHAR NOT NULL,
        change_id VARCHAR NOT NULL,
        status VARCHAR NOT NULL,
        changed_at TIMESTAMPTZ NOT NULL,
        reason VARCHAR
    )
    """,
    """
    INSERT INTO plan_status_history
    SELECT p.run_id, p.connection, p.change_id, p.status, r.started_at, 'planned'
    FROM sync_plan AS p JOIN runs AS r USING (run_id)
    """,
    # The plan with each row's latest status (`planned_status` is what the engine said).
    """
    CREATE VIEW sync_plan_current AS
    SELECT p.* REPLACE (coalesce(s.status, p.status) AS status),
           p.status AS planned_status,
           s.changed_at AS status_changed_at
    FROM sync_plan AS p
    LEFT JOIN (
        SELECT run_id, change_id, arg_max(status, changed_at) AS status,
               max(changed_at) AS changed_at
        FROM plan_status_history
        GROUP BY run_id, change_id
    ) AS s USING (run_id, change_id)
    """,
    """
    CREATE VIEW applied_changes AS
    SELECT run_id, connection, change_id, step, system, operation, target_id, before, after,
           request, created_id, settled_at AS applied_at, settled_by_run_id
    FROM apply_journal
    WHERE status = 'applied'
    """,
    """
    CREATE VIEW remote_errors AS
    SELECT run_id, connection, change_id, step, system, operation, target_id, status,
           remote_status, remote_code, remote_message, request_id, settled_at
    FROM apply_journal
    WHERE status IN ('failed', 'unknown')
    """,
)


# Migration 3, the decision comment: `decisions` gains a nullable `comment` (why, in the
# decider's words).
#
# Frozen. The table is rebuilt rather than altered so that it keeps holding the
# engine's `DECISIONS_SCHEMA` column for column, with `comment` last among them and `recorded_at`
# after (an added column would land after `recorded_at`). Nothing depends on the table (no view),
# and the decisions kept so far are copied with a null comment.
_V3: Final = (
    """
    CREATE TABLE decisions_v3 (
        connection VARCHAR NOT NULL,
        change_id VARCHAR,
        action VARCHAR,
        huma_id VARCHAR,
        entra_id VARCHAR,
        fields VARCHAR[],
        verdict VARCHAR,
        winner VARCHAR,
        huma_values VARCHAR,
        entra_values VARCHAR,
        decided_at TIMESTAMPTZ,
        decided_by VARCHAR,
        comment VARCHAR,
        recorded_at TIMESTAMPTZ NOT NULL
    )
    """,
    """
    INSERT INTO decisions_v3
    SELECT connection, change_id, action, huma_id, entra_id, fields, verdict, winner,
           huma_values, entra_values, decided_at, decided_by, NULL, recorded_at
    FROM decisions
    """,
    "DROP TABLE decisions",
    "ALTER TABLE decisions_v3 RENAME TO decisions",
)


# Migration 4, guards that stay tripped: `guard_trips` gains `tripped_at` (when the run that
# first tripped the guard ran), `overridden_by` and `override_reason` (who let it through, and why).
#
# Frozen. The columns are added at the end, where the engine's
# `GUARD_TRIPS_SCHEMA` has them. Trips kept before have no `tripped_at`: readers take their run's
# start instead.
_V4: Final = (
    "ALTER TABLE guard_trips ADD COLUMN tripped_at TIMESTAMPTZ",
    "ALTER TABLE guard_trips ADD COLUMN overridden_by VARCHAR",
    "ALTER TABLE guard_trips ADD COLUMN override_reason VARCHAR",
)


# Migration 5, targeted runs: `runs` gains `scope`, `full` for a run that read every user and
# `targeted` for one that read only the users some Huma webhooks named, and `scope_users`, how many
# users a targeted run was asked to read.
#
# Frozen. Runs kept before were all full runs. Analysts tell the two apart with
# `WHERE scope = 'targeted'`; the guards' comparison sizes and the decisions waiting come from full
# runs only.
_V5: Final = (
    "ALTER TABLE runs ADD COLUMN scope VARCHAR DEFAULT 'full'",
    "UPDATE runs SET scope = 'full' WHERE scope IS NULL",
    "ALTER TABLE runs ADD COLUMN scope_users BIGINT",
)


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
    Migration(1, "planning history: runs, snapshots, planning outputs, state", _V1),
    Migration(2, "apply history: journal, plan statuses, raw payloads, views", _V2),
    Migration(3, "decision comments", _V3),
    Migration(4, "guards that stay tripped: when, who overrode, why", _V4),
    Migration(5, "targeted runs: each run's scope", _V5),
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

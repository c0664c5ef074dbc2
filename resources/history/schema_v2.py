"""Migration 2, the apply history: the apply journal, plan statuses over time, raw payloads kept
once per content, rollbacks, and the analysts' views over them.

Frozen (see `schema_v1`). It upgrades a version-1 file in place: the runs gain `rollback_of`, and
every plan row already kept gets its planned status as the first entry of its status history.
"""

from __future__ import annotations

from typing import Final

STATEMENTS: Final = (
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

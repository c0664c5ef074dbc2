"""Migration 1, the planning history: runs, both snapshots, the planning outputs, the kept state.

Frozen: once released, a migration's text never changes (files in the field were built by it);
a later schema is a new migration. Tables holding an engine frame carry its columns 1:1 (same
names, order and types: `VARCHAR[]` for lists of strings, `TIMESTAMPTZ` for UTC time stamps),
after `run_id` and `connection`; JSON values are VARCHAR text. No indexes: DuckDB's min/max zone
maps keep the analysts' queries fast enough, and an index would triple the file (TOOLCHAIN).
"""

from __future__ import annotations

from typing import Final

_MAPPED = """
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

STATEMENTS: Final = (
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
        email_key VARCHAR,{_MAPPED}
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
        email_key VARCHAR,{_MAPPED}
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

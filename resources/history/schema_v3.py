"""Migration 3, the decision comment: `decisions` gains a nullable `comment` (why, in the
decider's words).

Frozen (see `schema_v1`). The table is rebuilt rather than altered so that it keeps holding the
engine's `DECISIONS_SCHEMA` column for column, with `comment` last among them and `recorded_at`
after (an added column would land after `recorded_at`). Nothing depends on the table (no view),
and the decisions kept so far are copied with a null comment.
"""

from __future__ import annotations

from typing import Final

STATEMENTS: Final = (
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

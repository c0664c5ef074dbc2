"""Migration 5, targeted runs: `runs` gains `scope`, `full` for a run that read every user and
`targeted` for one that read only the users some Huma webhooks named, and `scope_users`, how many
users a targeted run was asked to read.

Frozen (see `schema_v1`). Runs kept before were all full runs. Analysts tell the two apart with
`WHERE scope = 'targeted'`; the guards' comparison sizes and the decisions waiting come from full
runs only.
"""

from __future__ import annotations

from typing import Final

STATEMENTS: Final = (
    "ALTER TABLE runs ADD COLUMN scope VARCHAR DEFAULT 'full'",
    "UPDATE runs SET scope = 'full' WHERE scope IS NULL",
    "ALTER TABLE runs ADD COLUMN scope_users BIGINT",
)

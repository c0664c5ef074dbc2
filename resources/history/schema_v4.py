"""Migration 4, guards that stay tripped: `guard_trips` gains `tripped_at` (when the run that
first tripped the guard ran), `overridden_by` and `override_reason` (who let it through, and why).

Frozen (see `schema_v1`). The columns are added at the end, where the engine's
`GUARD_TRIPS_SCHEMA` has them. Trips kept before have no `tripped_at`: readers take their run's
start instead.
"""

from __future__ import annotations

from typing import Final

STATEMENTS: Final = (
    "ALTER TABLE guard_trips ADD COLUMN tripped_at TIMESTAMPTZ",
    "ALTER TABLE guard_trips ADD COLUMN overridden_by VARCHAR",
    "ALTER TABLE guard_trips ADD COLUMN override_reason VARCHAR",
)

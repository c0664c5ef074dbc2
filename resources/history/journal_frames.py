"""The apply journal's frames: what a batch of intents or outcomes holds, how a partial frame is
completed (optional columns added, bodies masked) before it is stored, and how a batch that would
break crash safety is refused whole."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

import duckdb
import polars as pl

from resources.history.errors import JournalError
from resources.history.redaction import json_text

_TIMESTAMP: Final = pl.Datetime("us", "UTC")
SYSTEMS: Final = ("huma", "graph")
OUTCOME_STATUSES: Final = ("applied", "failed", "unknown")
JOURNAL_KEY: Final = ("run_id", "change_id", "step")

#: One intent per row. `step` defaults to 1 and `intended_at` to now when left out.
JOURNAL_INTENTS_SCHEMA: Final = pl.Schema(
    {
        "run_id": pl.String(),
        "connection": pl.String(),
        "change_id": pl.String(),
        "step": pl.Int32(),
        "system": pl.String(),
        "operation": pl.String(),
        "target_id": pl.String(),
        "request": pl.String(),
        "before": pl.String(),
        "intended_at": _TIMESTAMP,
    }
)
#: One outcome per row. `step` defaults to 1, `settled_at` to now; `settled_by_run_id` names the
#: later run that settled an intent left open by a crash.
JOURNAL_OUTCOMES_SCHEMA: Final = pl.Schema(
    {
        "run_id": pl.String(),
        "change_id": pl.String(),
        "step": pl.Int32(),
        "status": pl.String(),
        "after": pl.String(),
        "remote_status": pl.Int32(),
        "remote_code": pl.String(),
        "remote_message": pl.String(),
        "request_id": pl.String(),
        "created_id": pl.String(),
        "settled_at": _TIMESTAMP,
        "settled_by_run_id": pl.String(),
    }
)
#: A journal row as read back (`status` null: no outcome yet).
JOURNAL_SCHEMA: Final = pl.Schema(
    {
        **JOURNAL_INTENTS_SCHEMA,
        **{k: v for k, v in JOURNAL_OUTCOMES_SCHEMA.items() if k not in JOURNAL_KEY},
    }
)
REQUIRED_INTENT_COLUMNS: Final = ("run_id", "connection", "change_id", "system", "operation")
REQUIRED_OUTCOME_COLUMNS: Final = ("run_id", "change_id", "status")


def conform(
    frame: pl.DataFrame, schema: pl.Schema, required: tuple[str, ...], what: str
) -> pl.DataFrame:
    """`frame` with `schema`'s columns: optional ones added (step 1, times now, else null).

    Raises:
        ValueError: A required column is missing, or a column is not in the schema.
    """
    missing = [name for name in required if name not in frame.columns]
    unknown = [name for name in frame.columns if name not in schema]
    if missing or unknown:
        raise ValueError(f"{what}: missing columns {missing}, unexpected columns {unknown}")
    now = datetime.now(UTC)
    defaults = {"step": 1, "intended_at": now, "settled_at": now}
    added = [
        pl.lit(defaults.get(name), dtype=dtype).alias(name)
        for name, dtype in schema.items()
        if name not in frame.columns
    ]
    frame = frame.with_columns(added).select(
        pl.col(name).cast(dtype) for name, dtype in schema.items()
    )
    return frame.with_columns(pl.col("step").fill_null(1))


def masked(frame: pl.DataFrame, columns: tuple[str, ...]) -> pl.DataFrame:
    return frame.with_columns(
        pl.Series(name, [json_text(text) for text in frame.get_column(name)], dtype=pl.String())
        for name in columns
    )


def refuse_repeats(frame: pl.DataFrame) -> None:
    """Refuse a batch that names one change (run, change, step) twice."""
    repeated = frame.filter(pl.struct(JOURNAL_KEY).is_duplicated()).select(JOURNAL_KEY)
    if repeated.height:
        raise JournalError(f"the same change appears twice in one batch: {repeated.rows()[:5]}")


def refuse(conn: duckdb.DuckDBPyConnection, checks: dict[str, str]) -> None:
    """Run every check (a query of `detail` texts, one per offending row) in one query, and
    raise naming the first problem found with up to five of its rows."""
    union = " UNION ALL ".join(
        f"(SELECT {i} AS check_number, detail FROM ({sql}) LIMIT 5)"
        for i, sql in enumerate(checks.values())
    )
    found = conn.sql(f"SELECT check_number, detail FROM ({union}) ORDER BY ALL").fetchall()
    if found:
        problem = list(checks)[found[0][0]]
        details = [detail for number, detail in found if number == found[0][0]]
        raise JournalError(f"{problem}: {details}")

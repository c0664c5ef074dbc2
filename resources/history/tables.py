"""Moving Polars frames in and out of history tables through Arrow, 1:1 with the engine's schemas.

Frames go in by column name (`INSERT … BY NAME`), so a table's extra columns (`run_id`,
`connection`, …) are filled from constants and the frame's column order does not matter. Frames
come out cast to the schema they were stored from, so what is read equals what was written.
Table names are constants of this package, never caller input.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any, Final

import duckdb
import polars as pl

from reconcile.frames import ENTRA_USERS_SCHEMA, HUMA_USERS_SCHEMA
from reconcile.outputs import (
    CONFLICTS_SCHEMA,
    FIELD_DIFFS_SCHEMA,
    GUARD_TRIPS_SCHEMA,
    NOTICES_SCHEMA,
    SYNC_PLAN_SCHEMA,
    VALIDATION_FAILURES_SCHEMA,
)

#: The per-run tables that hold one engine frame each, with that frame's schema.
SNAPSHOT_TABLES: Final = {"huma_users": HUMA_USERS_SCHEMA, "entra_users": ENTRA_USERS_SCHEMA}
OUTPUT_TABLES: Final = {
    "validation_failures": VALIDATION_FAILURES_SCHEMA,
    "field_diffs": FIELD_DIFFS_SCHEMA,
    "conflicts": CONFLICTS_SCHEMA,
    "sync_plan": SYNC_PLAN_SCHEMA,
    "guard_trips": GUARD_TRIPS_SCHEMA,
    "notices": NOTICES_SCHEMA,
}
RUN_FRAME_TABLES: Final = {**SNAPSHOT_TABLES, **OUTPUT_TABLES}

_view_names = itertools.count()


def quoted(name: str) -> str:
    """A column name as a SQL identifier (`case` is a keyword)."""
    return '"' + name.replace('"', '""') + '"'


def column_list(names: Sequence[str], prefix: str = "") -> str:
    """`"a", "b"` (optionally `t."a", t."b"`)."""
    return ", ".join(prefix + quoted(name) for name in names)


def insert_frame(
    conn: duckdb.DuckDBPyConnection,
    table: str,
    frame: pl.DataFrame,
    constants: Mapping[str, Any] | None = None,
) -> int:
    """Append `frame`'s rows to `table`, with `constants` as extra columns.

    Args:
        conn: An open connection (usually inside a transaction).
        table: A table of this package.
        frame: The rows; its columns must exist in the table.
        constants: Column -> value, the same for every row (`run_id`, `connection`, …).

    Returns:
        The number of rows inserted.
    """
    constants = dict(constants or {})
    if frame.height == 0:
        return 0
    view = f"incoming_{next(_view_names)}"
    conn.register(view, frame)
    try:
        fixed = "".join(f"? AS {quoted(name)}, " for name in constants)
        conn.execute(
            f"INSERT INTO {table} BY NAME SELECT {fixed}{column_list(frame.columns)} FROM {view}",
            list(constants.values()),
        )
    finally:
        conn.unregister(view)
    return frame.height


def read_frame(
    conn: duckdb.DuckDBPyConnection,
    sql: str,
    params: Sequence[Any] | Mapping[str, Any] | None,
    schema: pl.Schema,
) -> pl.DataFrame:
    """Run a query and return its rows with exactly `schema` (names, order and dtypes).

    Args:
        conn: An open connection.
        sql: A query selecting at least the schema's columns.
        params: Its parameters.
        schema: The frame's contract (an engine schema, or one of this package's).

    Returns:
        The rows, cast to `schema` (an empty result keeps the dtypes).
    """
    frame = conn.sql(sql, params=params).pl()
    return frame.select(pl.col(name).cast(dtype) for name, dtype in schema.items())


def read_all(
    conn: duckdb.DuckDBPyConnection,
    sql: str,
    params: Sequence[Any] | Mapping[str, Any] | None = None,
) -> pl.DataFrame:
    """Run a query and return its rows as DuckDB typed them (for queries without a contract)."""
    return conn.sql(sql, params=params).pl()


def replace_run_rows(
    conn: duckdb.DuckDBPyConnection,
    table: str,
    frame: pl.DataFrame,
    *,
    run_id: str,
    connection: str,
    where: str = "",
    where_params: Sequence[Any] = (),
) -> int:
    """Delete a run's rows of `table` (optionally only those matching `where`), then insert
    `frame` as that run's rows: writing the same run twice leaves one copy.

    Returns:
        The number of rows inserted.
    """
    extra = f" AND {where}" if where else ""
    conn.execute(f"DELETE FROM {table} WHERE run_id = ?{extra}", [run_id, *where_params])
    return insert_frame(conn, table, frame, {"run_id": run_id, "connection": connection})

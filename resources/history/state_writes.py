"""The SQL of saving a state: each table changed by difference, each change logged once per run.

Writing only what differs keeps a nightly save small (a steady night changes a few thousand
baseline rows, not seven per user) and the file from churning. Re-saving the same run computes
the same log: rows the run itself wrote count as its changes, and rows it removed stay logged.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import polars as pl

from reconcile.state import BASELINE_SCHEMA, DELETED_HUMA_USERS_SCHEMA, LINKS_SCHEMA, SyncState
from resources.history.tables import column_list

if TYPE_CHECKING:
    from resources.history.state import StateChanges


def _null_safe_match(left: str, right: str, names: list[str]) -> str:
    return " AND ".join(f'{left}."{n}" IS NOT DISTINCT FROM {right}."{n}"' for n in names)


def _replace_by_difference(
    conn: duckdb.DuckDBPyConnection,
    table: str,
    new: pl.DataFrame,
    names: list[str],
    connection: str,
    run_id: str,
) -> tuple[str, str]:
    """Make the connection's rows of `table` equal to `new`, touching only the rows that differ.

    Returns:
        The temp tables `added` (rows the run wrote, itself included on a re-save) and `gone`
        (rows it removed now), for a caller that logs them.
    """
    cols = column_list(names)
    conn.register("new_rows", new.select(names))
    try:
        conn.execute(
            f"CREATE OR REPLACE TEMP TABLE added AS SELECT {cols} FROM new_rows EXCEPT "
            f"SELECT {cols} FROM {table} WHERE connection = ? AND run_id <> ?",
            [connection, run_id],
        )
        conn.execute(
            f"CREATE OR REPLACE TEMP TABLE gone AS SELECT {cols} FROM {table} "
            f"WHERE connection = ? EXCEPT SELECT {cols} FROM new_rows",
            [connection],
        )
        conn.execute(
            f"CREATE OR REPLACE TEMP TABLE fresh AS SELECT {cols} FROM new_rows EXCEPT "
            f"SELECT {cols} FROM {table} WHERE connection = ?",
            [connection],
        )
    finally:
        conn.unregister("new_rows")
    conn.execute(
        f"DELETE FROM {table} AS t USING gone AS g WHERE t.connection = ? AND "
        + _null_safe_match("t", "g", names),
        [connection],
    )
    conn.execute(
        f"INSERT INTO {table} BY NAME SELECT ? AS connection, ? AS run_id, {cols} FROM fresh",
        [connection, run_id],
    )
    return "added", "gone"


def save_replaced(
    conn: duckdb.DuckDBPyConnection,
    connection: str,
    run_id: str,
    state: SyncState | StateChanges,
) -> None:
    """Replace links (logging what changed), deleted users and activation."""
    names = LINKS_SCHEMA.names()
    added, gone = _replace_by_difference(conn, "links", state.links, names, connection, run_id)
    cols = column_list(names)
    conn.execute("DELETE FROM link_changes WHERE run_id = ? AND change = 'added'", [run_id])
    for change, source in (("added", added), ("removed", gone)):
        conn.execute(
            f"INSERT INTO link_changes BY NAME SELECT ? AS run_id, ? AS connection, "
            f"? AS change, {cols} FROM {source}",
            [run_id, connection, change],
        )
    _replace_by_difference(
        conn,
        "deleted_huma_users",
        state.deleted_huma_users,
        DELETED_HUMA_USERS_SCHEMA.names(),
        connection,
        run_id,
    )
    if state.activation.height == 0:
        conn.execute("DELETE FROM activation WHERE connection = ?", [connection])
        return
    conn.execute(
        "INSERT INTO activation VALUES (?, ?, ?) ON CONFLICT (connection) DO UPDATE SET "
        "activated_at = excluded.activated_at, run_id = excluded.run_id "
        "WHERE activation.activated_at <> excluded.activated_at",
        [connection, state.activation.item(0, "activated_at"), run_id],
    )


def _stage_changes(conn: duckdb.DuckDBPyConnection, connection: str, changes: StateChanges) -> None:
    cols = column_list(BASELINE_SCHEMA.names())
    conn.register("changed_rows", changes.baseline_changes)
    conn.register(
        "removed_ids",
        pl.DataFrame({"huma_id": list(changes.removed_huma_ids)}, schema={"huma_id": pl.String()}),
    )
    try:
        conn.execute(
            f"CREATE OR REPLACE TEMP TABLE ups AS SELECT DISTINCT {cols} FROM changed_rows"
        )
        conn.execute(
            f"CREATE OR REPLACE TEMP TABLE gone AS SELECT {cols} FROM baseline "
            "WHERE connection = ? AND huma_id IN (SELECT huma_id FROM removed_ids)",
            [connection],
        )
    finally:
        conn.unregister("changed_rows")
        conn.unregister("removed_ids")


def _stage_whole(
    conn: duckdb.DuckDBPyConnection, connection: str, run_id: str, baseline: pl.DataFrame | Path
) -> None:
    names = BASELINE_SCHEMA.names()
    cols = column_list(names)
    if isinstance(baseline, Path):
        literal = str(baseline).replace("'", "''")
        conn.execute(
            f"CREATE OR REPLACE TEMP VIEW new_baseline AS SELECT * FROM read_parquet('{literal}')"
        )
    else:
        conn.register("new_baseline", baseline)
    try:
        conn.execute(
            f"CREATE OR REPLACE TEMP TABLE ups AS SELECT {cols} FROM new_baseline EXCEPT "
            f"SELECT {cols} FROM baseline WHERE connection = ? AND run_id <> ?",
            [connection, run_id],
        )
        conn.execute(
            f"CREATE OR REPLACE TEMP TABLE gone AS SELECT {column_list(names, 'b.')} "
            "FROM baseline AS b WHERE b.connection = ? AND NOT EXISTS (SELECT 1 FROM new_baseline "
            "AS n WHERE n.huma_id = b.huma_id AND n.field = b.field)",
            [connection],
        )
    finally:
        if isinstance(baseline, Path):
            conn.execute("DROP VIEW new_baseline")
        else:
            conn.unregister("new_baseline")


def save_baseline(
    conn: duckdb.DuckDBPyConnection,
    connection: str,
    run_id: str,
    baseline: StateChanges | pl.DataFrame | Path,
) -> None:
    """Upsert the changed baseline rows, remove the gone ones, and log both for the run.

    Args:
        conn: A writable connection inside the save's transaction.
        connection: The connection.
        run_id: The run saving.
        baseline: Only the changes, or the whole next baseline (a frame, or a Parquet file).
    """
    if isinstance(baseline, pl.DataFrame | Path):
        _stage_whole(conn, connection, run_id, baseline)
    else:
        _stage_changes(conn, connection, baseline)
    cols = column_list(BASELINE_SCHEMA.names())
    conn.execute("DELETE FROM baseline_changes WHERE run_id = ? AND NOT removed", [run_id])
    for removed, source in ((False, "ups"), (True, "gone")):
        conn.execute(
            f"INSERT INTO baseline_changes BY NAME SELECT ? AS run_id, ? AS connection, "
            f"? AS removed, {cols} FROM {source}",
            [run_id, connection, removed],
        )
    conn.execute(
        "DELETE FROM baseline AS b USING (SELECT huma_id, field FROM ups UNION "
        "SELECT huma_id, field FROM gone) AS k "
        "WHERE b.connection = ? AND b.huma_id = k.huma_id AND b.field = k.field",
        [connection],
    )
    conn.execute(
        f"INSERT INTO baseline BY NAME SELECT ? AS connection, ? AS run_id, {cols} FROM ups",
        [connection, run_id],
    )

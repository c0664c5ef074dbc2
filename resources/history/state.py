"""The state a connection keeps between runs (`reconcile.state.SyncState`), loaded and saved.

`links`, `baseline`, `activation` and `deleted_huma_users` hold the current state, each row
naming the run that last wrote it; `link_changes` and `baseline_changes` log what each run
changed (rows removed are logged with `removed`/`change = 'removed'`), so the state after any run
can be traced. Saving twice for one run id gives the same tables and the same log.

Each table is changed by difference, each change logged once per run. Writing only what differs
keeps a nightly save small (a steady night changes a few thousand baseline rows, not seven per
user) and the file from churning. Re-saving the same run computes the same log: rows the run
itself wrote count as its changes, and rows it removed stay logged. A connection's first
baseline (the activation's, every row new) is inserted as it is: comparing it would hold a copy
of every row. The baseline, inserted or compared, is written with DuckDB's memory capped
(`STATE_WRITE_MEMORY_LIMIT`): uncapped, DuckDB keeps what it writes and compares in memory, up
to most of the machine's (at 1,000,000 people a night's comparison took 1.7 GB; capped, 0.5 GB
and about 5 s more, spilled beside the file).
"""

from __future__ import annotations

import contextlib
import re
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import duckdb
import polars as pl

from reconcile.frames import require_schema
from reconcile.state import (
    ACTIVATION_SCHEMA,
    BASELINE_SCHEMA,
    DELETED_HUMA_USERS_SCHEMA,
    LINKS_SCHEMA,
    SyncState,
)
from resources.history.kept_baseline import KeptBaseline, baseline_fingerprint
from resources.history.plan import read_decisions
from resources.history.store import StoreBase
from resources.history.tables import column_list, read_frame

#: DuckDB's memory while a baseline is written (`_memory_capped`).
STATE_WRITE_MEMORY_LIMIT = "256MB"


@dataclass(frozen=True)
class StateChanges:
    """What a run changed, for saving without handing over the whole baseline.

    Attributes:
        links: Every link after the run (`LINKS_SCHEMA`).
        activation: `ACTIVATION_SCHEMA` (one row once the connection was activated).
        deleted_huma_users: Every known deletion after the run.
        baseline_changes: Only the baseline rows that are new or changed
            (`reconcile.baseline.baseline_changes`).
        removed_huma_ids: Huma users whose baseline rows go (a re-created user's old id).
    """

    links: pl.DataFrame
    activation: pl.DataFrame
    deleted_huma_users: pl.DataFrame
    baseline_changes: pl.DataFrame
    removed_huma_ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        """Refuse frames that do not match their schemas."""
        require_schema(self.links, LINKS_SCHEMA, "links")
        require_schema(self.activation, ACTIVATION_SCHEMA, "activation")
        require_schema(self.deleted_huma_users, DELETED_HUMA_USERS_SCHEMA, "deleted_huma_users")
        require_schema(self.baseline_changes, BASELINE_SCHEMA, "baseline_changes")


def _safe_name(connection: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", connection)


def _baseline_sql() -> str:
    return f"SELECT {column_list(BASELINE_SCHEMA.names())} FROM baseline WHERE connection = ?"


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


@contextlib.contextmanager
def _new_baseline(conn: duckdb.DuckDBPyConnection, baseline: pl.DataFrame | Path) -> Iterator[None]:
    """The whole next baseline as the relation `new_baseline`, for the block's statements."""
    if isinstance(baseline, Path):
        literal = str(baseline).replace("'", "''")  # a view takes no parameters
        conn.execute(
            f"CREATE OR REPLACE TEMP VIEW new_baseline AS SELECT * FROM read_parquet('{literal}')"
        )
    else:
        conn.register("new_baseline", baseline)
    yield
    # Not in a `finally`: after a failed statement the transaction accepts no other statement,
    # not even these, whose error would hide the one that failed; its rollback drops the view.
    if isinstance(baseline, Path):
        conn.execute("DROP VIEW new_baseline")
    else:
        conn.unregister("new_baseline")


def _stage_whole(conn: duckdb.DuckDBPyConnection, connection: str, run_id: str) -> None:
    names = BASELINE_SCHEMA.names()
    cols = column_list(names)
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


def _holds_baseline(conn: duckdb.DuckDBPyConnection, connection: str) -> bool:
    found = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM baseline WHERE connection = ?)", [connection]
    ).fetchall()
    return bool(found[0][0])


def _insert_first(conn: duckdb.DuckDBPyConnection, connection: str, run_id: str) -> None:
    """The connection's first baseline (the activation's): every distinct row is new, none gone.

    What `_stage_whole` and the upsert would write, without their copies of the whole baseline
    (the rows to upsert held as a temporary table, the keys to delete as a hash table): at
    activation that is every row, about fifteen per person.
    """
    cols = column_list(BASELINE_SCHEMA.names())
    conn.execute("DELETE FROM baseline_changes WHERE run_id = ? AND NOT removed", [run_id])
    conn.execute(
        f"INSERT INTO baseline BY NAME SELECT ? AS connection, ? AS run_id, {cols} "
        f"FROM (SELECT DISTINCT {cols} FROM new_baseline)",
        [connection, run_id],
    )
    conn.execute(
        f"INSERT INTO baseline_changes BY NAME SELECT ? AS run_id, ? AS connection, "
        f"false AS removed, {cols} FROM baseline WHERE connection = ?",
        [run_id, connection, connection],
    )


@contextlib.contextmanager
def _memory_capped(conn: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """The block's statements with DuckDB's memory capped at `STATE_WRITE_MEMORY_LIMIT`.

    Uncapped, DuckDB keeps the blocks it writes cached, and the rows it compares or keeps apart,
    up to most of the machine's memory; capped, it drops written blocks and spills the rest
    beside the file.
    """
    conn.execute(f"SET memory_limit = '{STATE_WRITE_MEMORY_LIMIT}'")
    yield
    # Not in a `finally`: after a failed statement the transaction accepts no other; the cap
    # then lasts as long as the connection, no longer.
    conn.execute("RESET memory_limit")


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
        baseline: Only the changes, or the whole next baseline (a frame, or a Parquet file):
            compared with the table, or, when the table holds none of the connection's rows,
            inserted without a comparison (`_insert_first`).
    """
    with _memory_capped(conn):
        if isinstance(baseline, StateChanges):
            _stage_changes(conn, connection, baseline)
        else:
            with _new_baseline(conn, baseline):
                if not _holds_baseline(conn, connection):
                    _insert_first(conn, connection, run_id)
                    return
                _stage_whole(conn, connection, run_id)
        _write_staged(conn, connection, run_id)


def _write_staged(conn: duckdb.DuckDBPyConnection, connection: str, run_id: str) -> None:
    """Log the staged rows (`ups`, `gone`) as the run's changes, and make them the table's."""
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


class StateMixin(StoreBase):
    """Load and save a connection's `SyncState`."""

    def load_state(self, *, connection: str, baseline_dir: str | Path | None = None) -> SyncState:
        """The connection's state; `empty_state()` for a connection that never saved one.

        Args:
            connection: The connection.
            baseline_dir: When given, the baseline is put there as Parquet
                (`baseline-<connection>.parquet`, replaced on each load: the file the last
                save kept when it still matches the table, see `kept_baseline`, else exported
                from the table) and returned as a
                `LazyFrame` scanning it, so planning reads only the rows it needs. The caller
                keeps the folder until the run is done. When None, the baseline is eager.

        Returns:
            The `SyncState`, every frame with its exact schema; decisions oldest first.
        """
        with self._read() as conn:
            links = read_frame(
                conn,
                f"SELECT {column_list(LINKS_SCHEMA.names())} FROM links WHERE connection = ? "
                "ORDER BY linked_at, huma_id",
                [connection],
                LINKS_SCHEMA,
            )
            baseline = self._load_baseline(conn, connection, baseline_dir)
            activation = read_frame(
                conn,
                "SELECT activated_at FROM activation WHERE connection = ?",
                [connection],
                ACTIVATION_SCHEMA,
            )
            deleted = read_frame(
                conn,
                f"SELECT {column_list(DELETED_HUMA_USERS_SCHEMA.names())} FROM deleted_huma_users "
                "WHERE connection = ? ORDER BY detected_at, huma_id",
                [connection],
                DELETED_HUMA_USERS_SCHEMA,
            )
            decisions = read_decisions(conn, connection)
        return SyncState(
            links=links,
            baseline=baseline,
            activation=activation,
            deleted_huma_users=deleted,
            decisions=decisions,
        )

    def linked_entra_ids(self, *, connection: str, huma_ids: Sequence[str]) -> dict[str, str]:
        """The Entra object id each of `huma_ids` is linked to (those with a link)."""
        if not huma_ids:
            return {}
        with self._read() as conn:
            rows = conn.execute(
                "SELECT huma_id, entra_id FROM links WHERE connection = ? "
                "AND huma_id IN (SELECT unnest(?))",
                [connection, list(huma_ids)],
            ).fetchall()
        return dict(rows)

    def baseline_rows_written(self, *, run_id: str) -> int:
        """How many baseline rows the run wrote or removed (`baseline_changes`): whether an
        interrupted rollback got as far as resetting its fields."""
        with self._read() as conn:
            found = conn.sql(
                "SELECT count(*) FROM baseline_changes WHERE run_id = ?", params=[run_id]
            ).fetchall()
        return int(found[0][0])

    def _load_baseline(
        self, conn: duckdb.DuckDBPyConnection, connection: str, folder: str | Path | None
    ) -> pl.DataFrame | pl.LazyFrame:
        if folder is None:
            return read_frame(conn, _baseline_sql(), [connection], BASELINE_SCHEMA)
        target = Path(folder) / f"baseline-{_safe_name(connection)}.parquet"
        target.parent.mkdir(parents=True, exist_ok=True)
        # The file the last save kept, when it still holds the table's rows; else an export.
        if not KeptBaseline(self.path, connection).usable_copy(conn, target):
            _export_baseline(conn, connection, target)
        scan = pl.scan_parquet(target)
        return scan.select(pl.col(name).cast(dtype) for name, dtype in BASELINE_SCHEMA.items())

    def save_state(self, *, connection: str, run_id: str, state: SyncState | StateChanges) -> None:
        """Keep the state after a run, in one transaction.

        Links, activation and deleted users are replaced by the given ones; the baseline is
        replaced by a `SyncState`'s (compared in the database: only differing rows are written;
        a first baseline is inserted whole) or changed by a `StateChanges`' rows. Decisions
        are not touched (`record_decisions`).
        A whole state's baseline file is kept beside the history for the next load once the
        transaction committed (`kept_baseline`); saving only the changes drops the kept file.
        A dry run, or a run whose snapshot guard stopped it, should not save at all.

        Args:
            connection: The connection.
            run_id: The run (begun for `connection`) that computed the state.
            state: The whole next state (`reconcile.next_state.next_state`; a lazy baseline is
                streamed, never loaded whole), or only what changed. A caller that holds no
                other reference to it (`state=pending.pop()`) has the baseline's frames freed
                once they are written to a file, before the database writes them.

        Raises:
            ValueError: The run is not the connection's, or frames do not match their schemas.
        """
        if isinstance(state, SyncState):
            require_schema(state.baseline, BASELINE_SCHEMA, "baseline")
        kept = KeptBaseline(self.path, connection)
        staged = kept.staged_path() if isinstance(state, SyncState) else None
        fingerprint = None
        try:
            with tempfile.TemporaryDirectory(prefix="history-baseline-") as scratch:
                baseline = _baseline_input(state, staged or Path(scratch) / "baseline.parquet")
                if isinstance(state, SyncState):
                    # The file holds it now: the frames behind the baseline (at activation,
                    # every row) are freed here when the caller handed the state over.
                    state = replace(state, baseline=pl.DataFrame(schema=BASELINE_SCHEMA))
                with self._write(f"run {run_id} of connection {connection}: state") as conn:
                    self._check_run(conn, run_id, connection)
                    save_replaced(conn, connection, run_id, state)
                    save_baseline(conn, connection, run_id, baseline)
                    if staged is not None:
                        fingerprint = _fingerprint_of_file(conn, connection, staged)
        except BaseException:
            if staged is not None:
                kept.discard(staged)
            raise
        if staged is not None and fingerprint is not None:
            kept.keep(staged, fingerprint)
        else:
            kept.forget()


def _export_baseline(conn: duckdb.DuckDBPyConnection, connection: str, target: Path) -> None:
    """Write the connection's baseline rows from the table to a Parquet file (any order)."""
    literal = str(target).replace("'", "''")
    # Row order does not matter to a baseline; without keeping it DuckDB streams the export
    # (at 1,000,000 users its peak memory falls from about 800 MB to 350 MB).
    conn.execute("SET preserve_insertion_order = false")
    try:
        conn.execute(f"COPY ({_baseline_sql()}) TO '{literal}' (FORMAT parquet)", [connection])
    finally:
        conn.execute("RESET preserve_insertion_order")


def _fingerprint_of_file(
    conn: duckdb.DuckDBPyConnection, connection: str, path: Path
) -> str | None:
    """The table's fingerprint after the save, when it holds as many rows as the file it was
    saved from (the table keeps each row once: a file repeating a row is not kept)."""
    literal = str(path).replace("'", "''")
    in_file = conn.execute(f"SELECT count(*) FROM read_parquet('{literal}')").fetchall()[0][0]
    in_table = conn.execute(
        "SELECT count(*) FROM baseline WHERE connection = ?", [connection]
    ).fetchall()[0][0]
    return baseline_fingerprint(conn, connection) if in_file == in_table else None


def _baseline_input(state: SyncState | StateChanges, target: Path) -> StateChanges | Path:
    """What `save_baseline` reads: the changes, or the whole baseline written to `target`."""
    if isinstance(state, StateChanges):
        return state
    if isinstance(state.baseline, pl.LazyFrame):
        state.baseline.sink_parquet(target)
    else:
        state.baseline.write_parquet(target)
    return target

"""Both snapshots of each run: the normalised frames, and the raw payloads kept once per content.

A user whose API object did not change since an earlier run adds only a narrow reference row
(`snapshot_payloads`: run, side, user id, md5 of the JSON text) to the file, not another copy of
the object (`payloads`).
"""

from __future__ import annotations

from typing import Final

import polars as pl

from reconcile.frames import require_schema
from reconcile.mapping import OPTIONAL_COLUMNS
from reconcile.vocabulary import ENTRA, HUMA
from resources.history.base import StoreBase
from resources.history.tables import SNAPSHOT_TABLES, read_frame, replace_run_rows

_SIDES: Final = {HUMA: ("huma_users", "huma_id"), ENTRA: ("entra_users", "entra_id")}


def raw_schema(side: str) -> pl.Schema:
    """The raw payload frame of a side: its id column and `payload` (JSON text)."""
    return pl.Schema({_SIDES[side][1]: pl.String(), "payload": pl.String()})


class SnapshotsMixin(StoreBase):
    """Record and read the snapshots of a run."""

    def record_snapshot(
        self,
        *,
        run_id: str,
        side: str,
        users: pl.DataFrame,
        raw: pl.DataFrame | None = None,
        complete: bool = True,
    ) -> None:
        """Keep one side's snapshot of a run, replacing what the run kept of that side before.

        Args:
            run_id: A begun run.
            side: `huma` or `entra`.
            users: The normalised snapshot (`HUMA_USERS_SCHEMA` / `ENTRA_USERS_SCHEMA`), every
                user the client read (invalid, deactivated and guest users included).
            raw: The API objects as received: `huma_id`/`entra_id` and `payload` (JSON text).
            complete: False when the client could not read every user.

        Raises:
            ValueError: Unknown side, frames not matching their schemas, or no such run.
        """
        if side not in _SIDES:
            raise ValueError(f"side must be {HUMA!r} or {ENTRA!r}, not {side!r}")
        table, id_column = _SIDES[side]
        # A connection's optional fields stay in the raw payloads kept below: the table holds
        # the columns every connection's snapshot has.
        users = users.drop(OPTIONAL_COLUMNS, strict=False)
        require_schema(users, SNAPSHOT_TABLES[table], f"{side} snapshot")
        if raw is not None:
            require_schema(raw, raw_schema(side), f"{side} raw payloads")
        with self._write(f"run {run_id}: {side} snapshot") as conn:
            connection = self._run_connection(conn, run_id)
            replace_run_rows(conn, table, users, run_id=run_id, connection=connection)
            conn.execute(
                f"UPDATE runs SET {side}_count = ?, {side}_partial = ? WHERE run_id = ?",
                [users.height, not complete, run_id],
            )
            conn.execute(
                "DELETE FROM snapshot_payloads WHERE run_id = ? AND side = ?", [run_id, side]
            )
            if raw is None or raw.height == 0:
                return
            # Only the hashes are held apart; each payload goes from the frame to the file once,
            # streamed by position: a temporary copy of a whole snapshot's payloads, grouped by
            # hash, costs several times their size in memory.
            conn.register("raw_incoming", raw.rename({id_column: "user_id"}).with_row_index("pos"))
            try:
                conn.execute(
                    "CREATE TEMP TABLE hashed AS "
                    "SELECT pos, user_id, md5_number(payload) AS payload_hash FROM raw_incoming"
                )
                conn.execute(
                    "CREATE TEMP TABLE fresh AS SELECT payload_hash, min(pos) AS pos "
                    "FROM hashed AS h WHERE NOT EXISTS (SELECT 1 FROM payloads AS p "
                    "WHERE p.connection = ? AND p.payload_hash = h.payload_hash) "
                    "GROUP BY payload_hash",
                    [connection],
                )
                conn.execute(
                    "INSERT INTO payloads (connection, payload_hash, payload) "
                    "SELECT ?, f.payload_hash, r.payload FROM fresh AS f "
                    "JOIN raw_incoming AS r ON r.pos = f.pos",
                    [connection],
                )
            finally:
                conn.unregister("raw_incoming")
            conn.execute(
                "INSERT INTO snapshot_payloads (run_id, connection, side, user_id, payload_hash) "
                "SELECT ?, ?, ?, user_id, payload_hash FROM hashed ORDER BY pos",
                [run_id, connection, side],
            )
            conn.execute("DROP TABLE hashed")
            conn.execute("DROP TABLE fresh")

    def snapshot(self, *, run_id: str, side: str) -> pl.DataFrame:
        """One side's normalised snapshot of a run, as recorded, ordered by id (empty if none)."""
        table, id_column = _SIDES[side]
        schema = SNAPSHOT_TABLES[table]
        with self._read() as conn:
            return read_frame(
                conn,
                f"SELECT * FROM {table} WHERE run_id = ? ORDER BY {id_column}",
                [run_id],
                schema,
            )

    def snapshot_payloads(self, *, run_id: str, side: str) -> pl.DataFrame:
        """One side's raw payloads of a run (`huma_id`/`entra_id`, `payload`), by id."""
        id_column = _SIDES[side][1]
        with self._read() as conn:
            return read_frame(
                conn,
                f"SELECT s.user_id AS {id_column}, p.payload FROM snapshot_payloads AS s "
                "JOIN payloads AS p USING (connection, payload_hash) "
                "WHERE s.run_id = ? AND s.side = ? ORDER BY s.user_id",
                [run_id, side],
                raw_schema(side),
            )

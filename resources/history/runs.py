"""Runs and their snapshots, and what a new run's guards learn from them (SPEC §7).

The run record: one row per run of a connection, begun before anything else is written.

Snapshots: both sides of each run, the normalised frames and the raw payloads kept once per
content. A user whose API object did not change since an earlier run adds only a narrow reference
row (`snapshot_payloads`: run, side, user id, md5 of the JSON text) to the file, not another copy
of the object (`payloads`).

Guards: the snapshot sizes to compare with, and the guards still tripped. A run a guard stopped
proves nothing about the directory: its sizes never become the comparison (a shrink seen twice is
still a shrink), and the guards that stopped it are held for the next run, which they stop too,
until a run overrides them. A run's guard trips are those its plan recorded (`guard_trips`); a run
that recorded a plan without an enforced trip wrote or was let through.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from reconcile.frames import require_schema
from reconcile.mapping import OPTIONAL_COLUMNS
from reconcile.state import HeldTrip
from reconcile.vocabulary import ENTRA, HUMA
from resources.history.scratch import scratch_file
from resources.history.store import StoreBase
from resources.history.tables import (
    SNAPSHOT_TABLES,
    column_list,
    read_all,
    read_frame,
    replace_run_rows,
)
from resources.huma_payloads import RawPayloads

APPLY: Final = "apply"
DRY_RUN: Final = "dry_run"
ROLLBACK: Final = "rollback"
MODES: Final = (APPLY, DRY_RUN, ROLLBACK)
#: A run that read every user, and one that read only the users some webhooks named.
FULL: Final = "full"
TARGETED: Final = "targeted"
SCOPES: Final = (FULL, TARGETED)
#: How the `email_status` of a run whose report a later run sent begins.
SENT_LATE_PREFIX: Final = "sent late "


@dataclass(frozen=True)
class RunRecord:
    """One run as the history knows it.

    Attributes:
        run_id: The run's id (unique across connections).
        connection: The connection's name.
        mode: `apply`, `dry_run` or `rollback`.
        started_at: When the run began (UTC).
        ended_at: When it finished; None while running or after a crash.
        outcome: The caller's word for how it ended (`succeeded`, `failed`, `guard_stopped`, …).
        dagster_run_id: The Dagster run, when run by Dagster.
        rollback_of: The run a rollback undoes.
        huma_count: Rows of the Huma snapshot recorded (None when none was).
        entra_count: Rows of the Entra snapshot recorded.
        huma_partial: Whether the Huma snapshot came back partial.
        entra_partial: The same for Entra.
        plan_rows: Rows of the plan recorded (None when no plan was).
        summary: Counts per action and status, as the caller gave them.
        report_path: Where the run's report file is.
        email_status: What became of the report email (`sent …`, `failed: …`, or for a
            report kept unsent and sent by a later run `sent late at <when> by run <id>; at the
            end of its run: failed: …`).
        error: Why the run failed (never a secret: the caller passes the error's message).
        scope: `full` (every user read) or `targeted` (only the users webhooks named).
        scope_users: How many users a targeted run was asked to read (None for a full run).
    """

    run_id: str
    connection: str
    mode: str
    started_at: datetime
    ended_at: datetime | None
    outcome: str | None
    dagster_run_id: str | None
    rollback_of: str | None
    huma_count: int | None
    entra_count: int | None
    huma_partial: bool | None
    entra_partial: bool | None
    plan_rows: int | None
    summary: dict[str, Any]
    report_path: str | None
    email_status: str | None
    error: str | None
    scope: str = FULL
    scope_users: int | None = None


_RUN_COLUMNS: Final = ", ".join(f.name for f in fields(RunRecord))


def _record(row: Mapping[str, Any]) -> RunRecord:
    values = dict(row)
    values["summary"] = json.loads(values["summary"]) if values["summary"] else {}
    return RunRecord(**values)


_SIDES: Final = {HUMA: ("huma_users", "huma_id"), ENTRA: ("entra_users", "entra_id")}


#: DuckDB's memory while a snapshot's raw payloads are written (see `record_snapshot`).
PAYLOAD_WRITE_MEMORY_LIMIT = "256MB"
#: The payload spill's Parquet compression. The file lives for one write and its payloads come
#: out of zstd chunks: compressing them with zstd again cost more than DuckDB gained reading it
#: (100,000 Huma payloads: 0.97 CPU s written and read with zstd, 0.90 with lz4, 0.80 with none,
#: 17, 34 and 182 MB on disk). lz4 keeps most of the time and a fifth of the uncompressed file.
SPILL_COMPRESSION: Final = "lz4"


def raw_schema(side: str) -> pl.Schema:
    """The raw payload frame of a side: its id column and `payload` (JSON text)."""
    return pl.Schema({_SIDES[side][1]: pl.String(), "payload": pl.String()})


#: Runs of the connection begun before the asking run (all of them when it names none).
_EARLIER: Final = (
    "connection = ? AND run_id IS DISTINCT FROM ? AND started_at < coalesce("
    "(SELECT started_at FROM runs WHERE run_id = ?), 'infinity'::TIMESTAMPTZ)"
)
#: Whether the run `r` was stopped by a guard: it recorded a trip nobody overrode.
_STOPPED: Final = (
    "EXISTS (SELECT 1 FROM guard_trips AS g WHERE g.run_id = r.run_id AND NOT g.overridden)"
)


@dataclass(frozen=True)
class PreviousSnapshots:
    """What the engine's snapshot guard compares a new snapshot with (`RunContext`).

    Attributes:
        huma_count: Rows of the latest complete Huma snapshot of a run that planned and was
            not stopped by a guard, before the asking run (None if none).
        entra_count: The same for Entra.
        last_run_id: The latest earlier run that recorded a snapshot.
        last_huma_partial: Whether that run's Huma snapshot was partial.
        last_entra_partial: Whether that run's Entra snapshot was partial.
        huma_run_id: The run of `huma_count`'s snapshot: the latest Huma snapshot the guards
            accepted complete (what a targeted run knows of the users it does not read).
        entra_run_id: The same for Entra.
    """

    huma_count: int | None
    entra_count: int | None
    last_run_id: str | None
    last_huma_partial: bool
    last_entra_partial: bool
    huma_run_id: str | None = None
    entra_run_id: str | None = None


def _latest_complete(runs: pl.DataFrame, side: str) -> tuple[int | None, str | None]:
    """The size of the newest complete snapshot of `side` among runs that planned and were not
    stopped (newest first): a run that died before its plan was never judged by the guards."""
    complete = runs.filter(
        pl.col("planned")
        & ~pl.col("stopped")
        & pl.col(f"{side}_count").is_not_null()
        & ~pl.col(f"{side}_partial").fill_null(value=False)
    )
    if not complete.height:
        return None, None
    return int(complete.item(0, f"{side}_count")), complete.item(0, "run_id")


class RunsMixin(StoreBase):
    """Begin and finish runs and list them; record and read their snapshots; give the comparison
    sizes and the held trips a new run's guards start from.
    """

    def begin_run(
        self,
        *,
        run_id: str,
        connection: str,
        mode: str,
        started_at: datetime,
        dagster_run_id: str | None = None,
        rollback_of: str | None = None,
        scope: str = FULL,
        scope_users: int | None = None,
    ) -> None:
        """Record that a run began.

        Beginning a run id again (a re-executed run) clears how it ended; what the run already
        recorded (snapshots, plan, journal) stays until the run writes it again: the journal
        in particular is what keeps a re-run from sending a change twice.

        Args:
            run_id: The run's id; every later write of the run names it.
            connection: The connection's name.
            mode: `apply`, `dry_run` or `rollback`.
            started_at: When it began (timezone-aware).
            dagster_run_id: The Dagster run, when there is one.
            rollback_of: For a rollback, the run it undoes.
            scope: `full`, or `targeted` for a run that read only the users webhooks named.
            scope_users: For a targeted run, how many users it was asked to read.

        Raises:
            ValueError: Unknown mode or scope, naive time, a rollback without `rollback_of`, or
                a run id already used by another connection.
        """
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
        if scope not in SCOPES:
            raise ValueError(f"scope must be one of {SCOPES}, not {scope!r}")
        if started_at.tzinfo is None:
            raise ValueError("started_at must be timezone-aware")
        if (mode == ROLLBACK) != (rollback_of is not None):
            raise ValueError("rollback_of is required for a rollback run, and only for one")
        with self._write(f"run {run_id} of connection {connection}: begin") as conn:
            owner = self._run_owner(conn, run_id)
            if owner not in (None, connection):
                raise ValueError(f"run id {run_id!r} is already used by connection {owner!r}")
            conn.execute(
                "INSERT INTO runs (run_id, connection, mode, started_at, dagster_run_id, "
                "rollback_of, scope, scope_users) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (run_id) DO UPDATE SET "
                "mode = excluded.mode, started_at = excluded.started_at, "
                "dagster_run_id = excluded.dagster_run_id, rollback_of = excluded.rollback_of, "
                "scope = excluded.scope, scope_users = excluded.scope_users, "
                "ended_at = NULL, outcome = NULL, summary = NULL, report_path = NULL, "
                "email_status = NULL, error = NULL",
                [
                    run_id,
                    connection,
                    mode,
                    started_at,
                    dagster_run_id,
                    rollback_of,
                    scope,
                    scope_users,
                ],
            )

    def finish_run(
        self,
        *,
        run_id: str,
        outcome: str,
        ended_at: datetime,
        summary: Mapping[str, Any] | None = None,
        report_path: str | None = None,
        email_status: str | None = None,
        error: str | None = None,
        reports_sent_late: Mapping[str, datetime] | None = None,
    ) -> None:
        """Record how a run ended (again: the last call wins), and publish the history with it
        for analysts.

        Args:
            run_id: A begun run.
            outcome: How it ended (`succeeded`, `failed`, `guard_stopped`, …).
            ended_at: When (timezone-aware).
            summary: Counts per action and status (stored as JSON).
            report_path: The report file.
            email_status: What became of the report email.
            error: The failure's message, if it failed.
            reports_sent_late: Earlier runs of the same connection whose kept report this run
                sent, with when the relay took it: their `email_status` becomes
                `sent late at <when> by run <run_id>; at the end of its run: <what it said>`
                (once: a run already marked keeps its first late send). Other connections'
                runs are left alone.
        """
        if ended_at.tzinfo is None:
            raise ValueError("ended_at must be timezone-aware")
        late = dict(reports_sent_late or {})
        if any(at.tzinfo is None for at in late.values()):
            raise ValueError("the times reports were sent late must be timezone-aware")
        text = json.dumps(dict(summary or {}), sort_keys=True, default=str)
        with self._write(f"run {run_id}: finish", then_publish=True) as conn:
            connection = self._run_connection(conn, run_id)
            conn.execute(
                "UPDATE runs SET outcome = ?, ended_at = ?, summary = ?, report_path = ?, "
                "email_status = ?, error = ? WHERE run_id = ?",
                [outcome, ended_at, text, report_path, email_status, error, run_id],
            )
            for late_run, sent_at in sorted(late.items()):
                when = sent_at.astimezone(UTC).isoformat(timespec="seconds")
                conn.execute(
                    "UPDATE runs SET email_status = ? || coalesce(email_status, 'nothing') "
                    "WHERE run_id = ? AND connection = ? "
                    "AND NOT starts_with(coalesce(email_status, ''), ?)",
                    [
                        f"{SENT_LATE_PREFIX}at {when} by run {run_id}; at the end of its run: ",
                        late_run,
                        connection,
                        SENT_LATE_PREFIX,
                    ],
                )

    def run(self, *, run_id: str) -> RunRecord | None:
        """The run's record, or None when no such run was begun."""
        with self._read() as conn:
            rows = conn.sql(f"SELECT {_RUN_COLUMNS} FROM runs WHERE run_id = ?", params=[run_id])
            found = rows.pl().to_dicts()
        return _record(found[0]) if found else None

    def runs(self, *, connection: str, limit: int = 20) -> pl.DataFrame:
        """The connection's latest runs, newest first (one row per run, `RunRecord` columns;
        `summary` as JSON text)."""
        with self._read() as conn:
            return read_all(
                conn,
                f"SELECT {_RUN_COLUMNS} FROM runs WHERE connection = ? "
                "ORDER BY started_at DESC, run_id DESC LIMIT ?",
                [connection, limit],
            )

    def latest_run(
        self, *, connection: str, mode: str = APPLY, outcome: str | None = None
    ) -> RunRecord | None:
        """The connection's latest finished run of `mode` (and `outcome`, when given)."""
        with self._read() as conn:
            found = conn.sql(
                f"SELECT {_RUN_COLUMNS} FROM runs WHERE connection = ? AND mode = ? "
                "AND ended_at IS NOT NULL AND (CAST(? AS VARCHAR) IS NULL OR outcome = ?) "
                "ORDER BY started_at DESC, run_id DESC LIMIT 1",
                params=[connection, mode, outcome, outcome],
            ).pl()
        return _record(found.row(0, named=True)) if found.height else None

    def record_snapshot(
        self,
        *,
        run_id: str,
        side: str,
        users: pl.DataFrame,
        raw: pl.DataFrame | RawPayloads | None = None,
        complete: bool = True,
    ) -> None:
        """Keep one side's snapshot of a run, replacing what the run kept of that side before.

        Args:
            run_id: A begun run.
            side: `huma` or `entra`.
            users: The normalised snapshot (`HUMA_USERS_SCHEMA` / `ENTRA_USERS_SCHEMA`), every
                user the client read (invalid, deactivated and guest users included).
            raw: The API objects as received: `huma_id`/`entra_id` and `payload` (JSON text),
                as a frame or packed (`RawPayloads`, written a chunk at a time).
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
        if isinstance(raw, pl.DataFrame):
            require_schema(raw, raw_schema(side), f"{side} raw payloads")
        elif raw is not None and raw.schema != raw_schema(side):
            # Packed payloads are texts keyed by text ids by construction: only the id column's
            # name can be another side's.
            raise ValueError(
                f"{side} raw payloads do not match their schema: keyed by {raw.ids.name!r}, "
                f"not {_SIDES[side][1]!r}"
            )
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
            # hash, costs several times their size in memory. DuckDB would also keep the blocks
            # it wrote cached up to most of the machine's memory (1.6 times the payloads: about
            # 2.7 GB at 1,000,000 Huma users, beside the frame that holds them): capped while
            # they are written, it drops written blocks (they are in the file) and spills the
            # rest beside the file. Only here: a read of a large result needs more than the cap.
            conn.execute(f"SET memory_limit = '{PAYLOAD_WRITE_MEMORY_LIMIT}'")
            if isinstance(raw, pl.DataFrame):
                conn.register("raw_incoming", _positioned(raw, id_column))
                try:
                    _keep_payloads(conn, connection)
                finally:
                    conn.unregister("raw_incoming")
            else:
                with _spilled(raw, self.path) as spilled:
                    literal = str(spilled).replace("'", "''")  # a view takes no parameters
                    conn.execute(
                        f"CREATE TEMP VIEW raw_incoming AS SELECT * FROM read_parquet('{literal}')"
                    )
                    _keep_payloads(conn, connection)
                    conn.execute("DROP VIEW raw_incoming")
            conn.execute(
                "INSERT INTO snapshot_payloads (run_id, connection, side, user_id, payload_hash) "
                "SELECT ?, ?, ?, user_id, payload_hash FROM hashed ORDER BY pos",
                [run_id, connection, side],
            )
            conn.execute("DROP TABLE hashed")
            # Not in a `finally`: after a failed statement the transaction accepts no other; the
            # cap then lasts as long as the connection, no longer.
            conn.execute("RESET memory_limit")

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

    def latest_full_columns(
        self,
        *,
        connection: str,
        before_run_id: str | None = None,
        huma_columns: Sequence[str],
        entra_columns: Sequence[str],
    ) -> tuple[pl.DataFrame, pl.DataFrame]:
        """Some columns of each side's latest complete snapshot that the guards accepted
        (`previous_snapshots(...).huma_run_id` / `.entra_run_id`: a partial snapshot misses
        users who still hold their keys), read in one session of the file.

        A targeted run needs of the users it did not read only their ids and unique keys: the
        other columns of a large snapshot would cost it their reading and memory for nothing.

        Args:
            connection: The connection.
            before_run_id: The run asking: only runs begun before it count (default: all).
            huma_columns: Columns of the Huma snapshot (`HUMA_USERS_SCHEMA`), in this order.
            entra_columns: Columns of the Entra snapshot (`ENTRA_USERS_SCHEMA`).

        Returns:
            `(huma, entra)` with exactly those columns and the snapshot dtypes, in no
            particular row order; a side is empty when no such snapshot exists.
        """
        frames = []
        with self._read() as conn:
            earlier = _earlier_full_runs(conn, connection, before_run_id)
            for side, columns in ((HUMA, huma_columns), (ENTRA, entra_columns)):
                run_id = _latest_complete(earlier, side)[1]
                table = _SIDES[side][0]
                wanted = SNAPSHOT_TABLES[table]
                schema = pl.Schema({name: wanted[name] for name in columns})
                frames.append(
                    read_frame(
                        conn,
                        f"SELECT {column_list(list(columns))} FROM {table} WHERE run_id = ?",
                        [run_id],
                        schema,
                    )
                )
        return frames[0], frames[1]

    def previous_snapshots(
        self, *, connection: str, before_run_id: str | None = None
    ) -> PreviousSnapshots:
        """The snapshot sizes a new run's snapshot guard compares with.

        Args:
            connection: The connection.
            before_run_id: The run asking: only runs begun before it count (default: all).

        Returns:
            Per side, the size of the latest complete snapshot of a full run that planned and
            that no guard stopped (a targeted run read a few users on purpose: its sizes say
            nothing); and whether the latest snapshot was partial (a partial one is never the
            comparison: it would hide a shrink).
        """
        with self._read() as conn:
            earlier = _earlier_full_runs(conn, connection, before_run_id)
        recorded = earlier.filter(
            pl.col("huma_count").is_not_null() | pl.col("entra_count").is_not_null()
        )
        last = recorded.row(0, named=True) if recorded.height else {}
        (huma_count, huma_run_id), (entra_count, entra_run_id) = (
            _latest_complete(earlier, HUMA),
            _latest_complete(earlier, ENTRA),
        )
        return PreviousSnapshots(
            huma_count=huma_count,
            entra_count=entra_count,
            last_run_id=last.get("run_id"),
            last_huma_partial=bool(last.get("huma_partial")),
            last_entra_partial=bool(last.get("entra_partial")),
            huma_run_id=huma_run_id,
            entra_run_id=entra_run_id,
        )

    def held_guard_trips(
        self, *, connection: str, before_run_id: str | None = None
    ) -> tuple[HeldTrip, ...]:
        """The guards still tripped for a new run: those that stopped the latest earlier run
        that recorded a plan (a dry run records none), when nobody overrode them there.

        Args:
            connection: The connection.
            before_run_id: The run asking: only runs begun before it count (default: all).

        Returns:
            One `HeldTrip` per guard and side, with when it first tripped (a trip kept before
            that was recorded takes its run's start).
        """
        with self._read() as conn:
            rows = conn.sql(
                "WITH latest AS (SELECT run_id, started_at FROM runs AS r "
                f"WHERE {_EARLIER} AND plan_rows IS NOT NULL "
                "ORDER BY started_at DESC, run_id DESC LIMIT 1) "
                "SELECT g.guard, g.side, g.observed, g.threshold, g.message, "
                "coalesce(g.tripped_at, latest.started_at) AS tripped_at "
                "FROM guard_trips AS g JOIN latest USING (run_id) WHERE NOT g.overridden "
                "ORDER BY g.guard, g.side NULLS LAST",
                params=[connection, before_run_id, before_run_id],
            ).fetchall()
        return tuple(HeldTrip(*row) for row in rows)


def _earlier_full_runs(
    conn: duckdb.DuckDBPyConnection, connection: str, before_run_id: str | None
) -> pl.DataFrame:
    """The connection's full runs begun before `before_run_id`, latest first, with their
    snapshot sizes and whether each planned and was stopped (what the guards compare with)."""
    return conn.sql(
        "SELECT run_id, huma_count, entra_count, huma_partial, entra_partial, "
        f"plan_rows IS NOT NULL AS planned, {_STOPPED} AS stopped FROM runs AS r "
        f"WHERE {_EARLIER} AND scope = 'full' "
        "ORDER BY started_at DESC, run_id DESC",
        params=[connection, before_run_id, before_run_id],
    ).pl()


def _keep_payloads(conn: duckdb.DuckDBPyConnection, connection: str) -> None:
    """Hash the raw payloads of `raw_incoming` (`pos`, `user_id`, `payload`) into the temporary
    table `hashed`, and add to `payloads` those the connection does not have yet: once per
    content, the first by position."""
    conn.execute(
        "CREATE TEMP TABLE hashed AS "
        "SELECT pos, user_id, md5_number(payload) AS payload_hash FROM raw_incoming"
    )
    conn.execute(
        "CREATE TEMP TABLE fresh AS SELECT min(pos) AS pos, payload_hash FROM hashed AS h "
        "WHERE NOT EXISTS (SELECT 1 FROM payloads AS p "
        "WHERE p.connection = ? AND p.payload_hash = h.payload_hash) GROUP BY payload_hash",
        [connection],
    )
    # The positions and their hashes are the smaller side: only they are held to pick the
    # payloads, each hashed once.
    conn.execute(
        "INSERT INTO payloads (connection, payload_hash, payload) "
        "SELECT ?, f.payload_hash, r.payload FROM raw_incoming AS r JOIN fresh AS f USING (pos)",
        [connection],
    )
    conn.execute("DROP TABLE fresh")


def _positioned(chunk: pl.DataFrame, id_column: str, start: int = 0) -> pa.Table:
    """Raw payloads as `pos` (each row's position, from `start`), `user_id` and `payload`, as
    Arrow string views sharing the frame's buffers: registered as a frame, Polars would copy
    every payload into a large-string Arrow column first (the payloads' size again)."""
    positioned = chunk.rename({id_column: "user_id"}).with_row_index("pos", offset=start)
    return positioned.to_arrow(compat_level=pl.CompatLevel.newest())


@contextlib.contextmanager
def _spilled(raw: RawPayloads, history: Path) -> Iterator[Path]:
    """Packed raw payloads written a chunk at a time to a Parquet file beside `history` (a
    scratch file: owner-only, removed after, cleared by the next writer if this one is killed),
    for DuckDB to read in parallel within its memory cap. Handed over from memory instead, each
    chunk would stay referenced until the transaction ends (all the texts at once), and a single
    stream is read by one thread, whose inserts DuckDB cannot spill."""
    with scratch_file(history, suffix=".parquet") as path:
        writer = None
        start = 0
        for chunk in raw.frames():
            table = _positioned(chunk, raw.ids.name, start).cast(_SPILLED)
            if writer is None:
                writer = pq.ParquetWriter(path, _SPILLED, compression=SPILL_COMPRESSION)
            writer.write_table(table)
            start += chunk.height
        if writer is not None:
            writer.close()
        yield path


#: String views as Polars hands them over: a large-string copy of every payload cost about as
#: much CPU as writing the file.
_SPILLED: Final = pa.schema(
    [("pos", pa.uint32()), ("user_id", pa.string_view()), ("payload", pa.string_view())]
)

"""The planning outputs of each run (1:1 with the engine's frames) and the plan's statuses over
time: the engine's status when planned, then each change the apply step reports."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final

import polars as pl

from reconcile.frames import require_schema
from reconcile.outputs import SYNC_PLAN_SCHEMA
from resources.history.base import StoreBase
from resources.history.tables import (
    OUTPUT_TABLES,
    RUN_FRAME_TABLES,
    insert_frame,
    read_all,
    read_frame,
    replace_run_rows,
)

if TYPE_CHECKING:
    from reconcile.engine import PlanResult

#: What the apply step reports when it changes a plan row's status (`changed_at` defaults to now,
#: `reason` may be null).
STATUS_CHANGES_SCHEMA: Final = pl.Schema(
    {
        "change_id": pl.String(),
        "status": pl.String(),
        "changed_at": pl.Datetime("us", "UTC"),
        "reason": pl.String(),
    }
)
_PLANNED: Final = "planned"
#: The plan with each row's latest status (`sync_plan_current`).
PLAN_STATUS_SCHEMA: Final = pl.Schema(
    {
        **SYNC_PLAN_SCHEMA,
        "planned_status": pl.String(),
        "status_changed_at": pl.Datetime("us", "UTC"),
    }
)


class OutputsMixin(StoreBase):
    """Record a run's plan and its statuses; read any per-run frame back."""

    def record_plan(self, *, run_id: str, plan: PlanResult) -> None:
        """Keep a run's planning outputs, replacing what the run kept before.

        Stores `validation_failures`, `field_diffs`, `conflicts`, `sync_plan`, `guard_trips` and
        `notices` 1:1, and each plan row's planned status as the first entry of its status
        history (at the run's start).

        Args:
            run_id: A begun run.
            plan: The run's `PlanResult` (only the six frames above are read).

        Raises:
            ValueError: A frame does not match its schema, or no such run.
        """
        frames = {table: getattr(plan, table) for table in OUTPUT_TABLES}
        for table, frame in frames.items():
            require_schema(frame, OUTPUT_TABLES[table], table)
        with self._write(f"run {run_id}: plan") as conn:
            connection = self._run_connection(conn, run_id)
            for table, frame in frames.items():
                replace_run_rows(conn, table, frame, run_id=run_id, connection=connection)
            conn.execute(
                "UPDATE runs SET plan_rows = ? WHERE run_id = ?",
                [frames["sync_plan"].height, run_id],
            )
            conn.execute(
                "DELETE FROM plan_status_history WHERE run_id = ? AND reason = ?",
                [run_id, _PLANNED],
            )
            conn.execute(
                "INSERT INTO plan_status_history "
                "SELECT p.run_id, p.connection, p.change_id, p.status, r.started_at, ? "
                "FROM sync_plan AS p JOIN runs AS r USING (run_id) WHERE p.run_id = ?",
                [_PLANNED, run_id],
            )

    def run_frame(self, *, run_id: str, table: str) -> pl.DataFrame:
        """One per-run frame exactly as recorded, with the engine's schema.

        Args:
            run_id: The run.
            table: `huma_users`, `entra_users`, `validation_failures`, `field_diffs`,
                `conflicts`, `sync_plan` (statuses as planned), `guard_trips` or `notices`.

        Returns:
            The rows, in the order they were written (empty when none were).
        """
        if table not in RUN_FRAME_TABLES:
            raise ValueError(f"table must be one of {sorted(RUN_FRAME_TABLES)}, not {table!r}")
        with self._read() as conn:
            return read_frame(
                conn, f"SELECT * FROM {table} WHERE run_id = ?", [run_id], RUN_FRAME_TABLES[table]
            )

    def record_statuses(self, *, run_id: str, changes: pl.DataFrame) -> int:
        """Append status changes of a run's plan rows (`applied`, `failed`, `stale`, …).

        Args:
            run_id: The run whose plan rows changed status.
            changes: `STATUS_CHANGES_SCHEMA` rows; `changed_at` and `reason` may be left out.
                A row equal to one already kept (same change, status and time) is not repeated.

        Returns:
            The number of rows added.
        """
        now = datetime.now(UTC)
        for name, dtype in STATUS_CHANGES_SCHEMA.items():
            if name not in changes.columns:
                default = now if name == "changed_at" else None
                changes = changes.with_columns(pl.lit(default, dtype=dtype).alias(name))
        changes = changes.select(STATUS_CHANGES_SCHEMA.names())
        require_schema(changes, STATUS_CHANGES_SCHEMA, "status changes")
        with self._write(f"run {run_id}: plan statuses") as conn:
            connection = self._run_connection(conn, run_id)
            conn.register("status_incoming", changes)
            try:
                fresh = conn.sql(
                    "SELECT i.* FROM status_incoming AS i WHERE NOT EXISTS ("
                    "SELECT 1 FROM plan_status_history AS h WHERE h.run_id = ? "
                    "AND h.change_id = i.change_id AND h.status = i.status "
                    "AND h.changed_at = i.changed_at)",
                    params=[run_id],
                ).pl()
            finally:
                conn.unregister("status_incoming")
            fresh = fresh.unique(maintain_order=True)
            return insert_frame(
                conn, "plan_status_history", fresh, {"run_id": run_id, "connection": connection}
            )

    def plan_with_statuses(self, *, run_id: str) -> pl.DataFrame:
        """A run's plan with each row's latest status (`PLAN_STATUS_SCHEMA`: `status` is the
        latest, `planned_status` the engine's, `status_changed_at` when it last changed)."""
        with self._read() as conn:
            return read_frame(
                conn,
                "SELECT * FROM sync_plan_current WHERE run_id = ?",
                [run_id],
                PLAN_STATUS_SCHEMA,
            )

    def status_history(self, *, run_id: str) -> pl.DataFrame:
        """Every status a run's plan rows went through, oldest first, per change."""
        with self._read() as conn:
            return read_all(
                conn,
                "SELECT change_id, status, changed_at, reason FROM plan_status_history "
                "WHERE run_id = ? ORDER BY change_id, changed_at",
                [run_id],
            )

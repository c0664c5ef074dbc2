"""Each run's plan and people's decisions on it (SPEC §7).

The planning outputs of each run are kept 1:1 with the engine's frames, and the plan's statuses
over time: the engine's status when planned, then each change the apply step reports.

Decisions are appended as they are made, kept per connection and never changed: the latest
decision on a row counts (the engine's `apply_decisions` reads them all). The rows awaiting a
person are those of the connection's latest applying full run (a targeted run re-plans a few
users; the next full run asks about them again) whose status is `pending` or `stale`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final

import polars as pl

from reconcile.frames import require_schema
from reconcile.outputs import SYNC_PLAN_SCHEMA
from resources.history.store import StoreBase
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
import duckdb

from reconcile.state import DECISIONS_SCHEMA
from reconcile.vocabulary import AWAITING_DECISION
from resources.history.tables import column_list

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


_TIMESTAMP: Final = pl.Datetime("us", "UTC")

#: A plan row awaiting a person: the run it belongs to, the row (`SYNC_PLAN_SCHEMA`, `status`
#: `pending` or `stale`), and the latest decision recorded since that run, if any (it takes
#: effect on the next run).
PENDING_DECISIONS_SCHEMA: Final = pl.Schema(
    {
        "run_id": pl.String(),
        **SYNC_PLAN_SCHEMA,
        "latest_verdict": pl.String(),
        "latest_winner": pl.String(),
        "latest_decided_at": _TIMESTAMP,
        "latest_decided_by": pl.String(),
    }
)

_PENDING_SQL: Final = f"""
WITH latest_run AS (
    SELECT run_id, started_at FROM runs
    WHERE connection = $connection AND mode = 'apply' AND plan_rows IS NOT NULL
      AND scope = 'full'
    ORDER BY started_at DESC, run_id DESC LIMIT 1
),
since AS (
    SELECT d.change_id,
           arg_max(d.verdict, d.decided_at) AS latest_verdict,
           arg_max(d.winner, d.decided_at) AS latest_winner,
           max(d.decided_at) AS latest_decided_at,
           arg_max(d.decided_by, d.decided_at) AS latest_decided_by
    FROM decisions AS d, latest_run AS r
    WHERE d.connection = $connection AND d.decided_at >= r.started_at
    GROUP BY d.change_id
)
SELECT p.run_id, {column_list(SYNC_PLAN_SCHEMA.names(), "p.")},
       s.latest_verdict, s.latest_winner, s.latest_decided_at, s.latest_decided_by
FROM sync_plan_current AS p
JOIN latest_run USING (run_id)
LEFT JOIN since AS s USING (change_id)
WHERE p.status IN ({", ".join(f"'{status}'" for status in AWAITING_DECISION)})
  AND ($kind IS NULL OR p.decision_kind = $kind)
  AND ($user IS NULL OR p.email_key = lower($user) OR p.huma_id = $user OR p.entra_id = $user)
  AND ($undecided_only = false OR s.latest_verdict IS NULL)
ORDER BY p.decision_kind, p.email_key, p.change_id
"""


def read_decisions(conn: duckdb.DuckDBPyConnection, connection: str) -> pl.DataFrame:
    """Every decision of the connection (`DECISIONS_SCHEMA`), oldest first."""
    return read_frame(
        conn,
        f"SELECT {column_list(DECISIONS_SCHEMA.names())} FROM decisions WHERE connection = ? "
        "ORDER BY decided_at, recorded_at, change_id",
        [connection],
        DECISIONS_SCHEMA,
    )


class PlanMixin(StoreBase):
    """Record a run's plan, its statuses and people's decisions; read any per-run frame back,
    and list the rows awaiting a decision.
    """

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

    def record_decisions(self, *, connection: str, decisions: pl.DataFrame) -> int:
        """Append people's decisions (`reconcile.decisions.decision_row` builds them), and
        publish the history with them for analysts.

        Args:
            connection: The connection the decided rows belong to.
            decisions: `DECISIONS_SCHEMA` rows. A row equal to one already kept is not
                repeated (recording the same decisions twice keeps one copy).

        Returns:
            The number of decisions added.
        """
        require_schema(decisions, DECISIONS_SCHEMA, "decisions")
        names = DECISIONS_SCHEMA.names()
        key = " AND ".join(f'd."{n}" IS NOT DISTINCT FROM i."{n}"' for n in names)
        with self._write(f"decisions of connection {connection}", then_publish=True) as conn:
            conn.register("decided", decisions)
            try:
                fresh = conn.sql(
                    f"SELECT DISTINCT {column_list(names, 'i.')} FROM decided AS i "
                    f"WHERE NOT EXISTS (SELECT 1 FROM decisions AS d "
                    f"WHERE d.connection = ? AND {key})",
                    params=[connection],
                ).pl()
            finally:
                conn.unregister("decided")
            return insert_frame(
                conn,
                "decisions",
                fresh,
                {"connection": connection, "recorded_at": datetime.now(UTC)},
            )

    def decisions(self, *, connection: str) -> pl.DataFrame:
        """Every decision people made for the connection (`DECISIONS_SCHEMA`), oldest first."""
        with self._read() as conn:
            return read_decisions(conn, connection)

    def pending_decisions(
        self,
        *,
        connection: str,
        kind: str | None = None,
        user: str | None = None,
        undecided_only: bool = True,
    ) -> pl.DataFrame:
        """The plan rows of the connection's latest applying run that await a person.

        Args:
            connection: The connection.
            kind: Only rows of this `decision_kind` (`conflict`, `create`, `entra_to_huma`, …).
            user: Only rows of this user: an email (any case), a Huma id or an Entra id.
            undecided_only: Leave out rows someone decided since that run (the decision takes
                effect on the next run).

        Returns:
            `PENDING_DECISIONS_SCHEMA` rows, by kind, email and change id.
        """
        params = {
            "connection": connection,
            "kind": kind,
            "user": user,
            "undecided_only": undecided_only,
        }
        with self._read() as conn:
            return read_frame(conn, _PENDING_SQL, params, PENDING_DECISIONS_SCHEMA)

"""People's decisions (SPEC §7): appended as they are made, and the plan rows still awaiting one.

Decisions are kept per connection and never changed: the latest decision on a row counts (the
engine's `apply_decisions` reads them all). The rows awaiting a person are those of the
connection's latest applying full run (a targeted run re-plans a few users; the next full run asks
about them again) whose status is `pending` or `stale`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

import duckdb
import polars as pl

from reconcile.frames import require_schema
from reconcile.outputs import SYNC_PLAN_SCHEMA
from reconcile.state import DECISIONS_SCHEMA
from reconcile.vocabulary import AWAITING_DECISION
from resources.history.base import StoreBase
from resources.history.tables import column_list, insert_frame, read_frame

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


class DecisionsMixin(StoreBase):
    """Record decisions; list them and the rows awaiting one."""

    def record_decisions(self, *, connection: str, decisions: pl.DataFrame) -> int:
        """Append people's decisions (`reconcile.human_decisions.decision_row` builds them), and
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

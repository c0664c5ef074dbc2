"""The run record: one row per run of a connection, begun before anything else is written."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, Final

import polars as pl

from resources.history.base import StoreBase
from resources.history.tables import read_all

APPLY: Final = "apply"
DRY_RUN: Final = "dry_run"
ROLLBACK: Final = "rollback"
MODES: Final = (APPLY, DRY_RUN, ROLLBACK)
#: A run that read every user, and one that read only the users some webhooks named.
FULL: Final = "full"
TARGETED: Final = "targeted"
SCOPES: Final = (FULL, TARGETED)


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
        email_status: What became of the report email (`sent`, `failed: …`).
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


class RunsMixin(StoreBase):
    """Begin and finish runs; list them."""

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
        """
        if ended_at.tzinfo is None:
            raise ValueError("ended_at must be timezone-aware")
        text = json.dumps(dict(summary or {}), sort_keys=True, default=str)
        with self._write(f"run {run_id}: finish", then_publish=True) as conn:
            self._run_connection(conn, run_id)
            conn.execute(
                "UPDATE runs SET outcome = ?, ended_at = ?, summary = ?, report_path = ?, "
                "email_status = ?, error = ? WHERE run_id = ?",
                [outcome, ended_at, text, report_path, email_status, error, run_id],
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

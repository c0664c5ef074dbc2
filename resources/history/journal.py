"""The apply journal (SPEC §7): every change is recorded before it is sent and after it answers.

An intent is committed before its request leaves; its outcome (`applied`, `failed`, or `unknown`
when no answer came) after. After a crash, `open_journal` lists the intents without a settled
outcome, so the next run can re-read each target and record what really happened. A change with
a recorded outcome is never journaled again under the same key (it would be sent twice), and a
batch that would break this is refused whole. Keys: run, change, step (a plan row sent in several
requests, such as a Huma create and its follow-up PATCH, numbers them).

Bodies are stored as JSON text with secrets masked: a Graph create carries the new user's first
password (`passwordProfile.password`, SPEC §6); nothing else the apply step journals should hold a
secret, but the journal is read by analysts, so the text value of any key that names a secret is
masked before a body is stored, wherever it is nested (a flag such as
`forceChangePasswordNextSignIn` is not a secret and stays).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

import duckdb
import polars as pl

from resources.history.files import JournalError
from resources.history.store import StoreBase
from resources.history.tables import insert_frame, read_frame

REDACTED: Final = "<redacted>"
_SECRET_WORDS: Final = ("password", "secret", "token", "authorization", "assertion", "apikey")


def _secret_key(key: str) -> bool:
    folded = key.casefold().replace("_", "").replace("-", "")
    return any(word in folded for word in _SECRET_WORDS)


def _masked(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {
            key: (REDACTED if _secret_key(str(key)) and isinstance(item, str) else _masked(item))
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_masked(item) for item in value]
    return value


def json_text(value: str | Mapping[str, Any] | list[Any] | None) -> str | None:
    """A body as JSON text with every secret-named key masked.

    Args:
        value: A mapping or list (dumped with sorted keys), JSON text, or None.

    Returns:
        The JSON text to store, or None.
    """
    if value is None:
        return None
    if isinstance(value, str):
        if not any(word in value.casefold() for word in _SECRET_WORDS):
            return value  # the common case: nothing to mask, no parse needed
        try:
            value = json.loads(value)
        except ValueError:
            return REDACTED  # not JSON, and it mentions a secret: keep none of it
    return json.dumps(_masked(value), sort_keys=True, ensure_ascii=False, default=str)


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


_KEY_TEXT: Final = "concat_ws('/', {0}.run_id, {0}.change_id, {0}.step)"
#: What refuses a batch of intents, by problem: each query lists the offending rows.
_INTENT_CHECKS: Final = {
    "intents of runs not begun for their connection": (
        "SELECT concat_ws(' of ', i.run_id, i.connection) AS detail FROM intents AS i "
        "LEFT JOIN runs AS r USING (run_id) WHERE r.connection IS DISTINCT FROM i.connection"
    ),
    "these changes already have an outcome and must not be sent again": (
        f"SELECT {_KEY_TEXT.format('j')} || ' ' || j.status AS detail FROM apply_journal AS j "
        "JOIN intents AS i USING (run_id, change_id, step) WHERE j.status IS NOT NULL"
    ),
}
_OUTCOME_CHECKS: Final = {
    "outcomes without an intent (an intent is recorded before sending)": (
        f"SELECT {_KEY_TEXT.format('o')} AS detail FROM outcomes AS o "
        "ANTI JOIN apply_journal AS j USING (run_id, change_id, step)"
    ),
}


class JournalMixin(StoreBase):
    """Write intents and outcomes; list what is open or applied."""

    def journal_intents(self, *, intents: pl.DataFrame) -> int:
        """Record changes about to be sent, in one transaction (commit before sending).

        Args:
            intents: `JOURNAL_INTENTS_SCHEMA` rows (`step`, `intended_at`, `target_id`,
                `request`, `before` may be left out). `system` is `huma` or `graph`; `request`
                and `before` are JSON text.

        Returns:
            The number of intents recorded. An intent replaces an earlier one of the same key
            that has no outcome (a re-executed run that crashed before sending).

        Raises:
            JournalError: A key repeats, already has an outcome (never send twice), or names
                a run not begun for its connection.
            ValueError: Bad columns or system.
        """
        frame = masked(
            conform(intents, JOURNAL_INTENTS_SCHEMA, REQUIRED_INTENT_COLUMNS, "journal intents"),
            ("request", "before"),
        )
        bad = sorted(set(frame.get_column("system").to_list()) - set(SYSTEMS))
        if bad:
            raise ValueError(f"system must be one of {SYSTEMS}, not {bad}")
        refuse_repeats(frame)
        with self._write("apply journal: intents") as conn:
            conn.register("intents", frame)
            try:
                refuse(conn, _INTENT_CHECKS)
                conn.execute(
                    "DELETE FROM apply_journal AS j USING intents AS i WHERE j.run_id = i.run_id "
                    "AND j.change_id = i.change_id AND j.step = i.step"
                )
            finally:
                conn.unregister("intents")
            return insert_frame(conn, "apply_journal", frame)

    def journal_outcomes(self, *, outcomes: pl.DataFrame) -> int:
        """Record what came of changes sent, in one transaction.

        Args:
            outcomes: `JOURNAL_OUTCOMES_SCHEMA` rows (`step`, `settled_at` and every remote
                column may be left out). `status`: `applied`, `failed`, or `unknown` (sent, no
                answer: stays open). `after` is JSON text. A later outcome of the same key
                replaces an earlier one (how a crashed run's intents are settled).

        Returns:
            The number of outcomes recorded.

        Raises:
            JournalError: An outcome has no intent, or a key repeats in the batch.
            ValueError: Bad columns or status.
        """
        frame = masked(
            conform(
                outcomes, JOURNAL_OUTCOMES_SCHEMA, REQUIRED_OUTCOME_COLUMNS, "journal outcomes"
            ),
            ("after",),
        )
        bad = sorted(set(frame.get_column("status").to_list()) - set(OUTCOME_STATUSES))
        if bad:
            raise ValueError(f"status must be one of {OUTCOME_STATUSES}, not {bad}")
        refuse_repeats(frame)
        columns = [name for name in JOURNAL_OUTCOMES_SCHEMA if name not in JOURNAL_KEY]
        with self._write("apply journal: outcomes") as conn:
            conn.register("outcomes", frame)
            try:
                refuse(conn, _OUTCOME_CHECKS)
                assignments = ", ".join(f'"{name}" = o."{name}"' for name in columns)
                conn.execute(
                    f"UPDATE apply_journal AS j SET {assignments} FROM outcomes AS o "
                    "WHERE j.run_id = o.run_id AND j.change_id = o.change_id AND j.step = o.step"
                )
            finally:
                conn.unregister("outcomes")
        return frame.height

    def open_journal(self, *, connection: str) -> pl.DataFrame:
        """Intents of the connection without a settled outcome (none yet, or `unknown`), from
        any run, oldest first: what a crash left for the next run to re-read and settle."""
        with self._read() as conn:
            return read_frame(
                conn,
                "SELECT * FROM apply_journal WHERE connection = ? "
                "AND (status IS NULL OR status = 'unknown') "
                "ORDER BY intended_at, run_id, change_id, step",
                [connection],
                JOURNAL_SCHEMA,
            )

    def applied_changes(self, *, run_id: str) -> pl.DataFrame:
        """The run's changes that were applied, with their before and after values (for
        rollback and the report), in the order they were intended."""
        with self._read() as conn:
            return read_frame(
                conn,
                "SELECT * FROM apply_journal WHERE run_id = ? AND status = 'applied' "
                "ORDER BY intended_at, change_id, step",
                [run_id],
                JOURNAL_SCHEMA,
            )

    def journal(self, *, run_id: str) -> pl.DataFrame:
        """Every journal row of a run, settled or not, in the order they were intended."""
        with self._read() as conn:
            return read_frame(
                conn,
                "SELECT * FROM apply_journal WHERE run_id = ? "
                "ORDER BY intended_at, change_id, step",
                [run_id],
                JOURNAL_SCHEMA,
            )

    def journal_intent(
        self,
        *,
        run_id: str,
        connection: str,
        change_id: str,
        system: str,
        operation: str,
        target_id: str | None,
        request: str | Mapping[str, Any] | None,
        before: str | Mapping[str, Any] | None,
        step: int = 1,
    ) -> None:
        """Record one change about to be sent (see `journal_intents`); commit before sending.

        Args:
            run_id: The run sending it.
            connection: The run's connection.
            change_id: The plan row's change id.
            system: `huma` or `graph`.
            operation: What is sent (`PATCH /users/{id}`, `POST /users`, …).
            target_id: The user written (None for a create).
            request: The request body (mapping or JSON text; secrets are masked).
            before: The target's values before the write (for rollback).
            step: Which request of the plan row this is (1, 2, …).
        """
        row = {
            "run_id": run_id,
            "connection": connection,
            "change_id": change_id,
            "step": step,
            "system": system,
            "operation": operation,
            "target_id": target_id,
            "request": json_text(request),
            "before": json_text(before),
        }
        schema = {name: JOURNAL_INTENTS_SCHEMA[name] for name in row}
        self.journal_intents(intents=pl.DataFrame([row], schema=schema))

    def journal_outcome(
        self,
        *,
        run_id: str,
        change_id: str,
        status: str,
        after: str | Mapping[str, Any] | None = None,
        remote_status: int | None = None,
        remote_code: str | None = None,
        remote_message: str | None = None,
        request_id: str | None = None,
        created_id: str | None = None,
        step: int = 1,
        settled_by_run_id: str | None = None,
    ) -> None:
        """Record what came of one change (see `journal_outcomes`).

        Args:
            run_id: The run that sent it.
            change_id: The plan row's change id.
            status: `applied`, `failed`, or `unknown` (no answer: stays open).
            after: The target's values after the write.
            remote_status: The HTTP status answered.
            remote_code: The service's error code.
            remote_message: The service's error message.
            request_id: The service's request id.
            created_id: The new user's id, for a create.
            step: Which request of the plan row this is.
            settled_by_run_id: The later run that settled an intent a crash left open.
        """
        row = {
            "run_id": run_id,
            "change_id": change_id,
            "step": step,
            "status": status,
            "after": json_text(after),
            "remote_status": remote_status,
            "remote_code": remote_code,
            "remote_message": remote_message,
            "request_id": request_id,
            "created_id": created_id,
            "settled_by_run_id": settled_by_run_id,
        }
        schema = {name: JOURNAL_OUTCOMES_SCHEMA[name] for name in row}
        self.journal_outcomes(outcomes=pl.DataFrame([row], schema=schema))

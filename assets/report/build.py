"""`build_run_report`: the engine's and the apply step's frames of one run → a `RunReport`.

Pure: frames in, a frozen model out; no I/O, no clock. The apply step's outcomes win over the
plan's statuses (what happened is what the report tells), so the plan may be handed over with
or without its statuses updated after the apply step.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Final
from urllib.parse import urlsplit

import polars as pl

from assets.apply.results import APPLY_RESULTS_SCHEMA
from assets.report import commands, differences, sections
from assets.report.model import (
    MODE_DRY_RUN,
    MODES,
    OUTCOMES,
    CountRow,
    CountTable,
    DecisionCommands,
    GuardTrip,
    KindCommand,
    RunReport,
)
from assets.report.values import with_people_named
from reconcile.frames import require_schema
from reconcile.outputs import (
    APPLY_OUTCOMES_SCHEMA,
    FIELD_DIFFS_SCHEMA,
    GUARD_TRIPS_SCHEMA,
    NOTICES_SCHEMA,
    SYNC_PLAN_SCHEMA,
    VALIDATION_FAILURES_SCHEMA,
)
from reconcile.vocabulary import (
    ACTIONS,
    APPLIED,
    AWAITING_DECISION,
    BLOCKED,
    FAILED,
    GUARD_MASS_CHANGE,
    GUARD_SNAPSHOT_PARTIAL,
    KIND_CONFLICT,
    STATUSES,
    WRITABLE_STATUSES,
)

#: How many rows each section of the email lists; counts and the attachment are always complete.
MAX_LISTED: Final = 200


def build_run_report(
    *,
    connection: str,
    run_id: str,
    mode: str,
    started_at: datetime,
    ended_at: datetime,
    outcome: str,
    plan: pl.DataFrame,
    outcomes: pl.DataFrame,
    validation_failures: pl.DataFrame,
    notices: pl.DataFrame,
    guard_trips: pl.DataFrame,
    field_diffs: pl.DataFrame,
    dagster_run_url: str | None = None,
    max_listed: int = MAX_LISTED,
    targeted_users: int | None = None,
    webhook_deletions: pl.DataFrame | None = None,
    people: pl.DataFrame | None = None,
) -> RunReport:
    """Make the report of one run.

    Args:
        connection: The connection's name (it goes into the subject and the commands).
        run_id: The Dagster run id.
        mode: `apply`, `dry_run` or `rollback` (`model.MODES`).
        started_at: When the run started (timezone-aware).
        ended_at: When it ended (timezone-aware).
        outcome: `completed` or `failed` (`model.OUTCOMES`); a guard stop is read from the trips.
        plan: The run's `sync_plan` (`SYNC_PLAN_SCHEMA`).
        outcomes: The apply step's results: `APPLY_RESULTS_SCHEMA`, or only the engine's
            `APPLY_OUTCOMES_SCHEMA` columns (the rest read as null); empty for a dry run.
        validation_failures: `VALIDATION_FAILURES_SCHEMA`.
        notices: `NOTICES_SCHEMA`.
        guard_trips: `GUARD_TRIPS_SCHEMA`.
        field_diffs: `FIELD_DIFFS_SCHEMA` (its email mismatches and drift are reported).
        dagster_run_url: The run's page in the Dagster UI (http or https), when configured.
        max_listed: How many rows each section of the email lists.
        targeted_users: For a targeted run, how many users the webhooks named.
        webhook_deletions: The users Huma's `users-delete` webhooks named that this run covered,
            with what it did about them (`sections.WEBHOOK_DELETIONS_SCHEMA`).
        people: `entra_id`, `email_key` of the Entra users the run knows: a user reference
            (the manager) among the values is shown as that person's email beside the id.

    Returns:
        The `RunReport`.

    Raises:
        ValueError: A frame breaks its schema, an outcome names a change twice, or an argument
            is outside its allowed values.
    """
    _check_arguments(mode, outcome, started_at, ended_at, dagster_run_url, max_listed)
    require_schema(plan, SYNC_PLAN_SCHEMA, "sync_plan")
    require_schema(validation_failures, VALIDATION_FAILURES_SCHEMA, "validation_failures")
    require_schema(notices, NOTICES_SCHEMA, "notices")
    require_schema(guard_trips, GUARD_TRIPS_SCHEMA, "guard_trips")
    require_schema(field_diffs, FIELD_DIFFS_SCHEMA, "field_diffs")
    if webhook_deletions is None:
        webhook_deletions = pl.DataFrame(schema=sections.WEBHOOK_DELETIONS_SCHEMA)
    require_schema(webhook_deletions, sections.WEBHOOK_DELETIONS_SCHEMA, "webhook_deletions")
    merged = with_people_named(with_outcomes(plan, outcomes), people, field_column="fields")
    field_diffs = with_people_named(field_diffs, people, field_column="field")
    done: Collection[str] = WRITABLE_STATUSES if mode == MODE_DRY_RUN else (APPLIED,)
    counts = count_table(merged)
    pending = sections.pending_decisions(merged, connection, max_listed)
    return RunReport(
        connection=connection,
        run_id=run_id,
        mode=mode,
        started_at=started_at,
        ended_at=ended_at,
        outcome=outcome,
        counts=counts,
        applied=sum(counts.count(status=status) for status in done),
        waiting=sum(counts.count(status=status) for status in AWAITING_DECISION),
        failed=counts.count(status=FAILED),
        blocked=counts.count(status=BLOCKED),
        created=sections.created_users(merged, done, max_listed),
        updated=sections.updated_fields(merged, done, max_listed),
        failures=sections.failures(merged, max_listed),
        pending=pending,
        blocked_changes=sections.blocked_changes(merged, max_listed),
        validation_failures=sections.validation_problems(validation_failures, max_listed),
        notices=sections.notices(notices, max_listed),
        differences=differences.differences(field_diffs, max_listed),
        difference_counts=differences.difference_counts(field_diffs),
        guard_trips=tuple(
            _guard_trip(trip, connection) for trip in guard_trips.iter_rows(named=True)
        ),
        commands=_decision_commands(connection, merged),
        dagster_run_url=dagster_run_url,
        targeted_users=targeted_users,
        webhook_deletions=sections.webhook_deletions(webhook_deletions, max_listed),
    )


def _check_arguments(
    mode: str,
    outcome: str,
    started_at: datetime,
    ended_at: datetime,
    dagster_run_url: str | None,
    max_listed: int,
) -> None:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {list(MODES)}, not {mode!r}")
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {list(OUTCOMES)}, not {outcome!r}")
    if started_at.tzinfo is None or ended_at.tzinfo is None:
        raise ValueError("started_at and ended_at must be timezone-aware")
    if max_listed < 1:
        raise ValueError("max_listed must be at least 1")
    # The link goes into an href: only a web address may, never `javascript:` or the like.
    if dagster_run_url is not None and urlsplit(dagster_run_url).scheme not in ("http", "https"):
        raise ValueError("dagster_run_url must be an http or https address")


def with_outcomes(plan: pl.DataFrame, outcomes: pl.DataFrame) -> pl.DataFrame:
    """The plan with the apply step's result columns, each row's status the outcome's if any.

    Args:
        plan: `SYNC_PLAN_SCHEMA`.
        outcomes: `APPLY_RESULTS_SCHEMA` or `APPLY_OUTCOMES_SCHEMA`.

    Returns:
        The plan rows in their order, with `created_id`, `error`, `remote_status`,
        `remote_code`, `request_id`, `note` (null where nothing was attempted).
    """
    present = set(outcomes.columns)
    missing = sorted(set(APPLY_OUTCOMES_SCHEMA) - present)
    if missing:
        raise ValueError(f"the apply outcomes lack the columns {missing}")
    results = outcomes.select(
        pl.col(name).cast(dtype) if name in present else pl.lit(None, dtype).alias(name)
        for name, dtype in APPLY_RESULTS_SCHEMA.items()
    )
    repeated = results.filter(pl.col("change_id").is_duplicated()).get_column("change_id")
    if repeated.len():
        raise ValueError(f"the apply outcomes name changes twice: {sorted(set(repeated))[:5]}")
    joined = plan.join(
        results.rename({"status": "_outcome"}), on="change_id", how="left", maintain_order="left"
    )
    return joined.with_columns(pl.coalesce("_outcome", "status").alias("status")).drop("_outcome")


def _order(words: Collection[str], known: tuple[str, ...]) -> tuple[str, ...]:
    """Known words in vocabulary order, then any others alphabetically."""
    return (*(w for w in known if w in words), *sorted(set(words) - set(known)))


def count_table(plan: pl.DataFrame) -> CountTable:
    """Plan rows per action and status, every row counted."""
    grouped = plan.group_by("action", "status").len()
    counts = {(a, s): n for a, s, n in grouped.iter_rows()}
    actions = _order({a for a, _ in counts}, ACTIONS)
    statuses = _order({s for _, s in counts}, STATUSES)
    rows = tuple(
        CountRow(
            action=action,
            cells=tuple(counts.get((action, status), 0) for status in statuses),
            total=sum(counts.get((action, status), 0) for status in statuses),
        )
        for action in actions
    )
    totals = tuple(sum(counts.get((a, status), 0) for a in actions) for status in statuses)
    return CountTable(statuses=statuses, rows=rows, totals=totals, total=plan.height)


def _guard_trip(row: dict[str, object], connection: str) -> GuardTrip:
    guard, side = str(row["guard"]), row["side"]
    side_text = f"the {side} snapshot" if side else "the snapshot"
    if row["overridden"]:
        hint = "A person overrode this guard for this run: the writes went ahead."
        command = None
    elif guard == GUARD_MASS_CHANGE:
        hint = (
            "Nothing was written. Look through the changes (history, attachment); if they are "
            "intended, run again with this guard overridden:"
        )
        command = commands.run_with_override(connection, guard)
    elif guard == GUARD_SNAPSHOT_PARTIAL:
        hint = (
            f"Nothing was written and no decision was taken up: {side_text} could not be read in "
            "full. The guard keeps stopping every run until a person overrides it; override only "
            "if you know the missing users do not matter:"
        )
        command = commands.run_with_override(connection, guard)
    else:
        hint = (
            f"Nothing was written and no decision was taken up. Find out why {side_text} "
            "shrank (an outage, a changed filter, people who really left); if it is right, run "
            "again with this guard overridden:"
        )
        command = commands.run_with_override(connection, guard)
    return GuardTrip(
        guard=guard,
        side=str(side) if side else None,
        message=str(row["message"]),
        overridden=bool(row["overridden"]),
        hint=hint,
        override_command=command,
    )


def _decision_commands(connection: str, plan: pl.DataFrame) -> DecisionCommands:
    waiting = plan.filter(pl.col("status").is_in(AWAITING_DECISION))
    per_kind = waiting.group_by("decision_kind").len().drop_nulls("decision_kind")
    counts = dict(per_kind.iter_rows())
    # A conflict cannot be approved in bulk: each one needs its winning side named.
    kinds = [kind for kind in sorted(counts) if kind != KIND_CONFLICT]
    return DecisionCommands(
        list_all=commands.list_decisions(connection),
        approve=commands.approve(connection, "CHANGE_ID"),
        approve_conflict=commands.approve(connection, "CHANGE_ID", winner="huma"),
        reject=commands.reject(connection, "CHANGE_ID"),
        approve_kinds=tuple(
            KindCommand(kind, counts[kind], commands.approve_all_of_kind(connection, kind))
            for kind in kinds
        ),
    )

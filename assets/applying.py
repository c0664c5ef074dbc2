"""The apply step of a connection: the approved changes, sent and journalled; the state kept.

Before anything is sent, the journal of an earlier run that was killed mid-apply is settled by
re-reading its targets. Then the plan's writable rows are applied (none when a guard stopped the
run), and the state the next run plans with is saved. A dry run does none of this.
"""

import dataclasses
from collections.abc import Sequence

import dagster as dg
import orjson
import polars as pl
from dagster import AssetExecutionContext

from assets.apply.results import WriteResult, results_frame
from assets.apply.run import apply_plan
from assets.apply.settle import settle_open_intents
from assets.apply.writes import PlannedWrite
from assets.keys import (
    APPLIED_CHANGES,
    HISTORY,
    HUMA_USERS_RAW,
    INPUT_PART,
    SYNC_PLAN,
    graph_resource_key,
    huma_resource_key,
)
from assets.metadata import StageClock, frame_metadata, numbers
from assets.planning import RunPlan, policy_for_run
from assets.run_options import run_options
from assets.targeting import finish_events
from reconcile.next_state import next_state
from reconcile.outputs import APPLY_OUTCOMES_SCHEMA
from reconcile.policy import Policy
from reconcile.vocabulary import APPLIED, FAILED
from resources.history import JOURNAL_INTENTS_SCHEMA, JOURNAL_OUTCOMES_SCHEMA, HistoryStore
from resources.huma_payloads import RawPayloads


@dataclasses.dataclass(frozen=True)
class HistoryJournal:
    """The apply step's journal (`assets.apply.run.Journal`) in the history database."""

    store: HistoryStore
    run_id: str
    connection: str
    clock: StageClock = dataclasses.field(default_factory=StageClock)

    def record_intents(self, writes: Sequence[PlannedWrite]) -> None:
        with self.clock.part("history"):
            self.store.journal_intents(intents=intents_frame(self.run_id, self.connection, writes))

    def record_outcomes(self, results: Sequence[WriteResult]) -> None:
        with self.clock.part("history"):
            self.store.journal_outcomes(outcomes=outcomes_frame(self.run_id, results))


def intents_frame(run_id: str, connection: str, writes: Sequence[PlannedWrite]) -> pl.DataFrame:
    """Journal intents (`JOURNAL_INTENTS_SCHEMA` columns) of `writes`."""
    rows = [
        {
            "run_id": run_id,
            "connection": connection,
            "change_id": w.change_id,
            "system": w.system,
            "operation": w.operation,
            "target_id": w.target_id,
            "request": orjson.dumps(w.journal_request()).decode(),
            "before": orjson.dumps(dict(w.before)).decode(),
        }
        for w in writes
    ]
    names = (
        "run_id",
        "connection",
        "change_id",
        "system",
        "operation",
        "target_id",
        "request",
        "before",
    )
    return pl.DataFrame(rows, schema={n: JOURNAL_INTENTS_SCHEMA[n] for n in names})


def outcomes_frame(
    run_id: str | Sequence[str], results: Sequence[WriteResult], settled_by: str | None = None
) -> pl.DataFrame:
    """Journal outcomes (`JOURNAL_OUTCOMES_SCHEMA` columns) of `results`; `run_id` per result
    when they settle intents of several earlier runs."""
    run_ids = [run_id] * len(results) if isinstance(run_id, str) else list(run_id)
    rows = [
        {
            "run_id": rid,
            "change_id": r.change_id,
            "status": r.status,
            "after": None if r.after is None else orjson.dumps(dict(r.after)).decode(),
            "remote_status": r.remote_status,
            "remote_code": r.remote_code,
            "remote_message": r.error,
            "request_id": r.request_id,
            "created_id": r.created_id,
            "settled_by_run_id": settled_by,
        }
        for rid, r in zip(run_ids, results, strict=True)
    ]
    names = (
        "run_id",
        "change_id",
        "status",
        "after",
        "remote_status",
        "remote_code",
        "remote_message",
        "request_id",
        "created_id",
        "settled_by_run_id",
    )
    return pl.DataFrame(rows, schema={n: JOURNAL_OUTCOMES_SCHEMA[n] for n in names})


def _record_settled_statuses(
    store: HistoryStore, intents: pl.DataFrame, settled: Sequence[WriteResult]
) -> None:
    """The settled changes' new statuses, in the plans of the runs they belong to."""
    frame = pl.DataFrame(
        {
            "run_id": intents.get_column("run_id").to_list(),
            "change_id": [r.change_id for r in settled],
            "status": [r.status for r in settled],
            "reason": [r.note or r.error for r in settled],
        }
    )
    for (run_id,), changes in frame.group_by("run_id"):
        store.record_statuses(run_id=str(run_id), changes=changes.drop("run_id"))


def applying_asset(connection: str, policy: Policy) -> dg.AssetsDefinition:
    """The `applied_changes` asset of the connection named `connection`."""
    huma_key, graph_key = huma_resource_key(connection), graph_resource_key(connection)

    @dg.asset(
        key=dg.AssetKey([connection, APPLIED_CHANGES]),
        ins={
            "run_plan": dg.AssetIn(dg.AssetKey([connection, SYNC_PLAN])),
            # Only the snapshot's raw payloads: its frame is not held through this step.
            "huma_raw": dg.AssetIn(
                dg.AssetKey([connection, HUMA_USERS_RAW]), metadata={INPUT_PART: "raw"}
            ),
        },
        group_name=connection,
        required_resource_keys={HISTORY, huma_key, graph_key},
        kinds={"huma", "entra", "duckdb"},
        tags={"connection": connection},
    )
    def applied_changes(
        context: AssetExecutionContext, run_plan: RunPlan, huma_raw: RawPayloads
    ) -> dg.Output[pl.DataFrame]:
        """One row per change sent in this run: applied or failed, with the remote error.

        Changes of an earlier, interrupted run are settled first (by re-reading their targets);
        then the plan's auto-approved and approved rows are applied, and the state kept.
        """
        if run_options(context.run).dry_run:
            return dg.Output(results_frame([]), metadata={"dagster/row_count": 0, "dry_run": True})
        clock = StageClock()
        store = context.resources.history.store()
        huma = getattr(context.resources, huma_key)
        graph = getattr(context.resources, graph_key)
        with clock.part("settle"):
            with clock.part("history"):
                open_intents = store.open_journal(connection=connection)
            settled = settle_open_intents(open_intents, huma=huma.client(), graph=graph)
        if settled:
            with clock.part("history"):
                _record_settled_statuses(store, open_intents, settled)
                store.journal_outcomes(
                    outcomes=outcomes_frame(
                        open_intents.get_column("run_id").to_list(),
                        settled,
                        settled_by=context.run.run_id,
                    )
                )
        with clock.part("apply"):
            results = apply_plan(
                run_plan.result.sync_plan,
                huma_raw=huma_raw.frame(),
                policy=policy_for_run(context, connection, policy),
                huma=huma,
                graph=graph,
                journal=HistoryJournal(store, context.run.run_id, connection, clock),
                progress=lambda done, total: context.log.info(
                    "applied %d of %d changes", done, total
                ),
            )
        outcomes = results.select(APPLY_OUTCOMES_SCHEMA.names())
        with clock.part("next_state"):
            # Handed over to `save_state` (nothing else holds it), which frees its baseline once
            # written to a file: at activation every row, before the database writes them.
            handed_over = [next_state(run_plan.state, run_plan.result, outcomes, run_plan.context)]
        run_id = context.run.run_id
        with (
            clock.part("history"),
            # One opening of the file for both writes: each opening costs a checkpoint.
            store.session(doing=f"run {run_id} of connection {connection}: state"),
        ):
            if results.height:
                store.record_statuses(
                    run_id=run_id,
                    changes=results.select(
                        "change_id", "status", pl.coalesce("error", "note").alias("reason")
                    ),
                )
            store.save_state(connection=connection, run_id=run_id, state=handed_over.pop())
        covered = finish_events(context, connection)
        done = dict(results.get_column("status").value_counts().iter_rows())
        return dg.Output(
            results,
            metadata=frame_metadata(
                results,
                by=("status",),
                **numbers(
                    sent=results.height,
                    applied=done.get(APPLIED, 0),
                    failed=done.get(FAILED, 0),
                    settled_from_an_interrupted_run=len(settled),
                    webhook_events_covered=covered,
                ),
                **clock.metadata(),
            ),
        )

    return applied_changes

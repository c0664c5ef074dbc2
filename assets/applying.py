"""The apply step of a connection: the approved changes, sent and journalled; the state kept.

Before anything is sent, the journal of an earlier run that was killed mid-apply is settled by
re-reading its targets. Then the plan's writable rows are applied (none when a guard stopped the
run), and the state the next run plans with is saved. A dry run does none of this.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import dagster as dg
import polars as pl

from assets.apply.results import WriteResult, results_frame
from assets.apply.run import apply_plan
from assets.apply.settle import settle_open_intents
from assets.apply.writes import PlannedWrite
from assets.keys import (
    APPLIED_CHANGES,
    HISTORY,
    HUMA_USERS_RAW,
    SYNC_PLAN,
    graph_resource_key,
    huma_resource_key,
)
from assets.metadata import frame_metadata
from assets.planning import RunPlan
from assets.run_options import run_options
from reconcile.next_state import next_state
from reconcile.outputs import APPLY_OUTCOMES_SCHEMA
from reconcile.policy import Policy
from resources.huma import HumaSnapshot


@dataclasses.dataclass(frozen=True)
class HistoryJournal:
    """The apply step's journal (`assets.apply.run.Journal`) in the history database."""

    history: object
    run_id: str
    connection: str

    def record_intents(self, writes: Sequence[PlannedWrite]) -> None:
        self.history.journal_intents(run_id=self.run_id, connection=self.connection, writes=writes)

    def record_outcomes(self, results: Sequence[WriteResult]) -> None:
        self.history.journal_outcomes(run_id=self.run_id, results=results)


def applying_asset(connection: str, policy: Policy) -> dg.AssetsDefinition:
    """The `applied_changes` asset of the connection named `connection`."""
    huma_key, graph_key = huma_resource_key(connection), graph_resource_key(connection)

    @dg.asset(
        key=dg.AssetKey([connection, APPLIED_CHANGES]),
        ins={
            "run_plan": dg.AssetIn(dg.AssetKey([connection, SYNC_PLAN])),
            "huma_raw": dg.AssetIn(dg.AssetKey([connection, HUMA_USERS_RAW])),
        },
        group_name=connection,
        required_resource_keys={HISTORY, huma_key, graph_key},
        kinds={"huma", "entra", "duckdb"},
        tags={"connection": connection},
    )
    def applied_changes(
        context: dg.AssetExecutionContext, run_plan: RunPlan, huma_raw: HumaSnapshot
    ) -> dg.Output[pl.DataFrame]:
        """One row per change sent in this run: applied or failed, with the remote error.

        Changes of an earlier, interrupted run are settled first (by re-reading their targets);
        then the plan's auto-approved and approved rows are applied, and the state kept.
        """
        if run_options(context.run.tags).dry_run:
            return dg.Output(results_frame([]), metadata={"dagster/row_count": 0, "dry_run": True})
        history = context.resources.history
        huma = getattr(context.resources, huma_key)
        graph = getattr(context.resources, graph_key)
        open_intents = history.open_journal(connection=connection)
        settled = settle_open_intents(open_intents, huma=huma.client(), graph=graph)
        history.settle_journal(intents=open_intents, results=settled)
        group = huma.default_group_id or policy.huma_default_group_id
        results = apply_plan(
            run_plan.result.sync_plan,
            huma_raw=huma_raw.raw,
            policy=dataclasses.replace(policy, huma_default_group_id=group),
            huma=huma.client(),
            graph=graph,
            journal=HistoryJournal(history, context.run_id, connection),
            progress=lambda done, total: context.log.info("applied %d of %d changes", done, total),
        )
        outcomes = results.select(APPLY_OUTCOMES_SCHEMA.names())
        state = next_state(run_plan.state, run_plan.result, outcomes, run_plan.context)
        history.save_state(
            connection=connection,
            run_id=context.run_id,
            state=state,
            result=run_plan.result,
            outcomes=outcomes,
        )
        return dg.Output(
            results,
            metadata=frame_metadata(
                results,
                by=("status",),
                settled_from_an_interrupted_run=len(settled),
            ),
        )

    return applied_changes

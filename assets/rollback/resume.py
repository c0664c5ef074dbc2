"""Finishing a rollback that was interrupted (killed, the machine lost) before it ended.

An interrupted rollback of a run is a rollback run of it that never ended (`ended_at` null). It
may have stopped anywhere: before sending, with writes sent and their outcomes not recorded,
after recording them but before marking the plan rows or resetting the baseline. The next
rollback of the same run finishes it before doing anything else:

* its open intents are settled by re-reading their targets (`apply.settle`): a restore found
  there is recorded as applied (settled by the new rollback), one not found as not applied
  (the new rollback sends it, since its target still holds what the undone run wrote);
* the plan rows of the restores it applied get `rolled_back`, when they do not have it yet;
* their baseline rows are reset as a complete rollback resets them, when it had not got that far
  (it writes its resets in one transaction: all or none);
* it is finished in the history with the outcome `interrupted`.

Its restores are then found "already as before" by the new rollback's judgement, so none is
sent twice.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from datetime import UTC, datetime

import polars as pl

from assets.apply.settle import settle_open_intents
from assets.rollback.plan import Restore
from reconcile.vocabulary import ROLLED_BACK
from resources.graph import GraphResource
from resources.history import JOURNAL_OUTCOMES_SCHEMA, ROLLBACK, HistoryStore
from resources.huma_client import HumaClient

INTERRUPTED = "interrupted"


@dataclasses.dataclass(frozen=True)
class Finished:
    """What finishing the interrupted rollbacks of a run left for the new rollback to do.

    Attributes:
        run_ids: The interrupted rollback runs, now finished.
        marked: Plan rows marked `rolled_back` for them.
        reset: Their applied restores whose baseline rows still need resetting.
    """

    run_ids: tuple[str, ...]
    marked: int
    reset: tuple[Restore, ...]


def interrupted_rollbacks(
    store: HistoryStore, *, connection: str, rollback_of: str, besides: str
) -> list[str]:
    """The rollback runs of `rollback_of` that never ended, oldest first (not `besides`)."""
    runs = store.runs(connection=connection, limit=1_000_000).filter(
        (pl.col("mode") == ROLLBACK)
        & (pl.col("rollback_of") == rollback_of)
        & pl.col("ended_at").is_null()
        & (pl.col("run_id") != besides)
    )
    return runs.sort("started_at").get_column("run_id").to_list()


def finish_interrupted(
    store: HistoryStore,
    *,
    connection: str,
    rollback_of: str,
    run_id: str,
    restores: Sequence[Restore],
    huma: HumaClient,
    graph: GraphResource,
) -> Finished:
    """Finish every interrupted rollback of `rollback_of` (see the module's docstring).

    Args:
        store: The history (writable; the caller holds the connection's run lock).
        connection: The connection.
        rollback_of: The run being rolled back.
        run_id: The new rollback run (begun), which settles what the interrupted ones left.
        restores: Every restore of `rollback_of` (`plan.rollback_plan`).
        huma / graph: The connection's clients, to re-read open intents' targets.

    Returns:
        What was finished, and the restores whose baseline the new rollback must reset.
    """
    interrupted = interrupted_rollbacks(
        store, connection=connection, rollback_of=rollback_of, besides=run_id
    )
    by_change = {r.change_id: r for r in restores}
    marked, reset = 0, []
    for earlier in interrupted:
        journal = store.journal(run_id=earlier)
        still_open = journal.filter(pl.col("status").is_null() | (pl.col("status") == "unknown"))
        if still_open.height:
            results = settle_open_intents(still_open, huma=huma, graph=graph)
            store.journal_outcomes(outcomes=_settled(earlier, run_id, still_open, results))
            journal = store.journal(run_id=earlier)
        applied_ids = set(journal.filter(pl.col("status") == "applied").get_column("change_id"))
        applied = [by_change[c] for c in sorted(applied_ids) if c in by_change]
        marked += _mark(store, rollback_of, earlier, run_id, applied)
        if applied and not store.baseline_rows_written(run_id=earlier):
            reset.extend(applied)
        store.finish_run(
            run_id=earlier,
            outcome=INTERRUPTED,
            ended_at=datetime.now(UTC),
            summary={"restored": len(applied), "finished_by": run_id},
            error=f"interrupted before it ended; finished by rollback run {run_id}",
        )
    return Finished(tuple(interrupted), marked, tuple(reset))


def _settled(
    earlier: str, run_id: str, still_open: pl.DataFrame, results: Sequence
) -> pl.DataFrame:
    """The settled outcomes of an interrupted rollback's open intents, as journal rows."""
    steps = dict(zip(still_open["change_id"], still_open["step"], strict=True))
    rows = [
        {
            "run_id": earlier,
            "change_id": r.change_id,
            "step": steps[r.change_id],
            "status": r.status,
            "after": None if r.after is None else json.dumps(dict(r.after), ensure_ascii=False),
            "remote_message": r.error or r.note,
            "settled_by_run_id": run_id,
        }
        for r in results
    ]
    return pl.DataFrame(rows, schema={name: JOURNAL_OUTCOMES_SCHEMA[name] for name in rows[0]})


def _mark(
    store: HistoryStore,
    rollback_of: str,
    earlier: str,
    run_id: str,
    applied: Sequence[Restore],
) -> int:
    """Mark `rolled_back` the plan rows of `applied` that are not marked yet; how many."""
    if not applied:
        return 0
    statuses = store.plan_with_statuses(run_id=rollback_of)
    done = set(statuses.filter(pl.col("status") == ROLLED_BACK).get_column("change_id"))
    todo = [r.change_id for r in applied if r.change_id not in done]
    if todo:
        store.record_statuses(
            run_id=rollback_of,
            changes=pl.DataFrame(
                {
                    "change_id": todo,
                    "status": [ROLLED_BACK] * len(todo),
                    "reason": [
                        f"restored by rollback run {earlier} (interrupted; finished by rollback "
                        f"run {run_id})"
                    ]
                    * len(todo),
                }
            ),
        )
    return len(todo)

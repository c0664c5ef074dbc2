"""A rollback, applied as a run of its own in the history (`mode = 'rollback'`).

No run of its connection can interleave (the caller holds the connection's run lock), and the
history file is opened only for each short write, never across a request to Huma or Entra: runs
of the other connections share the file meanwhile, as they do with each other. It re-reads every
target just before sending (what was shown to the person may have moved since), and sends only
what still holds the undone run's values. Each restoring write is journalled like any other: intent
(with the values it replaces, so a rollback can itself be rolled back) before sending, outcome
after. The undone run's plan rows get the status `rolled_back`, and the restored fields' baseline
is reset (see `plan.baseline_resets`). A rollback killed half-way is finished by the next rollback
of the same run before it judges anything (`resume`): what it restored is not sent again, and
its rows and baseline end as a complete rollback leaves them.

Every target is re-read before anything is sent (one request per user, a few at a time,
`judge_all`) and judged (`plan.judge`): a rollback may write only where the systems still hold
what the undone run wrote.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import json
import tempfile
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import polars as pl

from assets.apply.graph_apply import apply_graph
from assets.apply.huma_apply import apply_huma
from assets.apply.results import WriteResult
from assets.apply.writes import PlannedWrite
from assets.rollback.plan import (
    GRAPH,
    HUMA,
    Judged,
    Restore,
    baseline_resets,
    judge,
    written_units,
)
from assets.rollback.resume import Finished, finish_interrupted
from reconcile.state import BASELINE_SCHEMA, baseline_rows
from reconcile.vocabulary import ROLLED_BACK
from resources.graph import GraphResource
from resources.graph_client import GraphClient
from resources.history import (
    JOURNAL_INTENTS_SCHEMA,
    JOURNAL_OUTCOMES_SCHEMA,
    ROLLBACK,
    HistoryStore,
    StateChanges,
)
from resources.huma import HumaResource
from resources.huma_client import HumaClient


@dataclasses.dataclass(frozen=True)
class RollbackRun:
    """What a rollback run did.

    Attributes:
        run_id: The rollback's own run id.
        judged: Every restore, as judged just before sending.
        results: One per restore sent (`applied` or `failed` with the remote error).
        baseline_reset: Baseline rows reset to "no agreed value yet".
        finished: The interrupted rollbacks of the same run it finished first.
    """

    run_id: str
    judged: list[Judged]
    results: list[WriteResult]
    baseline_reset: int
    finished: Finished

    @property
    def failed(self) -> list[WriteResult]:
        return [r for r in self.results if r.status != "applied"]


def execute_rollback(
    store: HistoryStore,
    *,
    connection: str,
    rollback_of: str,
    restores: Sequence[Restore],
    huma: HumaResource,
    graph: GraphResource,
    summary: dict[str, object],
    run_id: str | None = None,
    all_restores: Sequence[Restore] | None = None,
) -> RollbackRun:
    """Run the rollback of `rollback_of`: finish an interrupted one, judge again, send, journal,
    record, reset the baseline.

    The caller holds the connection's run lock (`resources.run_lock`): no run of the connection
    and no other rollback of it goes on meanwhile.

    Args:
        store: The history (writable).
        connection: The undone run's connection.
        rollback_of: The run undone.
        restores: Its restores (`plan.rollback_plan`).
        huma / graph: The connection's resources.
        summary: Extra counts and who ran it, kept in the run's summary.
        run_id: The rollback's own run id (the one its lock names); a new one when None.
        all_restores: Every restore of the run, also those judged already done when planned:
            what an interrupted rollback may have sent (default: `restores`).

    Returns:
        The `RollbackRun`; its run is finished `succeeded`, or `failed` when a write failed.
    """
    if len({r.change_id for r in restores}) != len(restores):
        raise ValueError("a change to undo appears twice in the journal")
    run_id = run_id or str(uuid.uuid4())
    store.begin_run(
        run_id=run_id,
        connection=connection,
        mode=ROLLBACK,
        started_at=datetime.now(UTC),
        rollback_of=rollback_of,
    )
    try:
        finished = finish_interrupted(
            store,
            connection=connection,
            rollback_of=rollback_of,
            run_id=run_id,
            restores=restores if all_restores is None else all_restores,
            huma=huma.client(),
            graph=graph,
        )
        done = _restore(store, run_id, connection, rollback_of, restores, huma, graph, finished)
    except Exception as exc:
        store.finish_run(
            run_id=run_id,
            outcome="failed",
            ended_at=datetime.now(UTC),
            summary=summary,
            error=f"{type(exc).__name__}: {exc}",
        )
        raise
    counts = {
        **summary,
        "restored": len(done.results) - len(done.failed),
        "failed": len(done.failed),
        "baseline_reset": done.baseline_reset,
        "finished_interrupted": list(done.finished.run_ids),
    }
    for verdict in ("already_restored", "moved", "gone"):
        counts[verdict] = sum(j.verdict == verdict for j in done.judged)
    store.finish_run(
        run_id=run_id,
        outcome="failed" if done.failed else "succeeded",
        ended_at=datetime.now(UTC),
        summary=counts,
        error=f"{len(done.failed)} restoring write(s) failed" if done.failed else None,
    )
    return done


def _restore(
    store: HistoryStore,
    run_id: str,
    connection: str,
    rollback_of: str,
    restores: Sequence[Restore],
    huma: HumaResource,
    graph: GraphResource,
    finished: Finished,
) -> RollbackRun:
    judged = judge_all(restores, huma=huma.client(), graph=graph.client())
    sending = [j.restore for j in judged if j.verdict == "restore"]
    writes = [
        PlannedWrite(
            r.change_id,
            r.system,  # `graph` or `huma`, as journalled
            "patch",
            r.target_id,
            r.body,
            before=written_units(r.system, r.written),
        )
        for r in sending
    ]
    results: list[WriteResult] = []
    if writes:
        store.journal_intents(intents=_intents(run_id, connection, sending, writes))
        results += apply_graph(graph, [w for w in writes if w.system == GRAPH])
        results += apply_huma(huma, [w for w in writes if w.system == HUMA])
        store.journal_outcomes(outcomes=_outcomes(run_id, sending, results))
    applied_ids = {r.change_id for r in results if r.status == "applied"}
    applied = [r for r in sending if r.change_id in applied_ids]
    if applied:
        store.record_statuses(
            run_id=rollback_of,
            changes=pl.DataFrame(
                {
                    "change_id": [r.change_id for r in applied],
                    "status": [ROLLED_BACK] * len(applied),
                    "reason": [f"restored by rollback run {run_id}"] * len(applied),
                }
            ),
        )
    resets = [*finished.reset, *applied]
    return RollbackRun(
        run_id, judged, results, _reset_baseline(store, connection, run_id, resets), finished
    )


def _intents(
    run_id: str, connection: str, restores: Sequence[Restore], writes: Sequence[PlannedWrite]
) -> pl.DataFrame:
    rows = [
        {
            "run_id": run_id,
            "connection": connection,
            "change_id": r.change_id,
            "step": r.step,
            "system": r.system,
            "operation": "patch",
            "target_id": r.target_id,
            "request": json.dumps(w.journal_request(), ensure_ascii=False),
            "before": json.dumps(dict(w.before), ensure_ascii=False),
        }
        for r, w in zip(restores, writes, strict=True)
    ]
    return pl.DataFrame(rows, schema={name: JOURNAL_INTENTS_SCHEMA[name] for name in rows[0]})


def _outcomes(
    run_id: str, restores: Sequence[Restore], results: Sequence[WriteResult]
) -> pl.DataFrame:
    step = {r.change_id: r.step for r in restores}
    rows = [
        {
            "run_id": run_id,
            "change_id": r.change_id,
            "step": step[r.change_id],
            "status": r.status,
            "after": None if r.after is None else json.dumps(dict(r.after), ensure_ascii=False),
            "remote_status": r.remote_status,
            "remote_code": r.remote_code,
            "remote_message": r.error,
            "request_id": r.request_id,
        }
        for r in results
    ]
    return pl.DataFrame(rows, schema={name: JOURNAL_OUTCOMES_SCHEMA[name] for name in rows[0]})


def _reset_baseline(
    store: HistoryStore, connection: str, run_id: str, applied: Sequence[Restore]
) -> int:
    """Reset the restored fields' baseline rows (`plan.baseline_resets`); returns how many."""
    huma_ids = pl.Series([r.huma_id for r in applied if r.huma_id], dtype=pl.String())
    if huma_ids.is_empty():
        return 0
    with tempfile.TemporaryDirectory(prefix="rollback-baseline-") as scratch:
        state = store.load_state(connection=connection, baseline_dir=scratch)
        resets = baseline_resets(baseline_rows(state.baseline, huma_ids), applied, BASELINE_SCHEMA)
    store.save_state(
        connection=connection,
        run_id=run_id,
        state=StateChanges(
            links=state.links,
            activation=state.activation,
            deleted_huma_users=state.deleted_huma_users,
            baseline_changes=resets,
        ),
    )
    return resets.height


def graph_current(client: GraphClient, restore: Restore) -> dict[str, Any] | None:
    """The Entra user's values of the properties the run wrote (None: no such user)."""
    user = client.get_user(restore.target_id, tuple(restore.written))
    return None if user is None else {prop: user.get(prop) for prop in restore.written}


def huma_current(client: HumaClient, restore: Restore) -> dict[str, Any] | None:
    """The Huma user's values of the properties the run wrote (None: no such user).

    `UserDetails` wraps each field as `{"value": …}` and leaves `value` out when empty.
    """
    details = client.get_user(restore.target_id)
    if details is None:
        return None
    return {prop: (details.get(prop) or {}).get("value") for prop in restore.written}


def judge_all(
    restores: Sequence[Restore], *, huma: HumaClient, graph: GraphClient, concurrency: int = 8
) -> list[Judged]:
    """Every restore judged against its target as it is now, in the given order."""

    def one(restore: Restore) -> Judged:
        if restore.system == GRAPH:
            return judge(restore, graph_current(graph, restore))
        return judge(restore, huma_current(huma, restore))

    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        return list(pool.map(one, restores))

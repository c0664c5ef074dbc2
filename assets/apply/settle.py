"""Settling the journal of a run that was killed mid-apply, before anything new is sent.

An intent without an outcome is a change that may or may not have reached its target. Its target
is re-read: a change found there is recorded as applied (with its before-value, so it can be
rolled back), one not found as not applied. Nothing is resent from here: the new run's plan,
made from fresh snapshots, decides again whatever is still different.
"""

from __future__ import annotations

import concurrent.futures
import logging
from collections.abc import Mapping
from typing import Any

import orjson
import polars as pl

from assets.apply.results import WriteResult
from assets.apply.verify import graph_applied, huma_applied
from assets.apply.writes import PlannedWrite
from resources.graph import GraphResource
from resources.huma_client import HumaClient

logger = logging.getLogger(__name__)

INTERRUPTED_APPLIED = "settled after an interrupted run: found applied"
INTERRUPTED_NOT_APPLIED = "settled after an interrupted run: not applied (planned again if needed)"


def settle_open_intents(
    intents: pl.DataFrame, *, huma: HumaClient, graph: GraphResource, concurrency: int = 8
) -> list[WriteResult]:
    """The outcome of each open intent (`change_id`, `system`, `operation`, `target_id`,
    `request` JSON), established by re-reading its target (a few targets at a time)."""
    writes = [_write(row) for row in intents.iter_rows(named=True)]

    def settle(write: PlannedWrite) -> WriteResult:
        if write.system == "graph":
            applied, user_id = graph_applied(graph.client(), write)
        else:
            applied, user_id = huma_applied(huma, write)
        if not applied:
            return WriteResult(write.change_id, "failed", error=INTERRUPTED_NOT_APPLIED)
        return WriteResult(
            write.change_id,
            "applied",
            created_id=user_id if write.operation == "create" else None,
            after=write.body,
            note=INTERRUPTED_APPLIED,
        )

    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        results = list(pool.map(settle, writes))
    if results:
        applied = sum(r.status == "applied" for r in results)
        logger.warning(
            "settled %d changes of an interrupted run: %d were applied", len(results), applied
        )
    return results


def _write(row: Mapping[str, Any]) -> PlannedWrite:
    request = orjson.loads(row["request"])
    body = request["body"]
    lookup = None
    if row["operation"] == "create":
        lookup = body.get("userPrincipalName") if row["system"] == "graph" else body.get("email")
    return PlannedWrite(
        change_id=row["change_id"],
        system=row["system"],
        operation=row["operation"],
        target_id=row["target_id"],
        body={k: v for k, v in body.items() if k != "passwordProfile"},
        followup=request.get("followup"),
        lookup=lookup,
    )

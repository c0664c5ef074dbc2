"""`apply_plan`: send a run's approved changes, journalled so that a crash loses nothing.

Changes go in chunks. Before a chunk is sent, its intents (target, request, values before) are
committed to the journal; after, their outcomes. A run killed in between leaves intents without
an outcome, which the next run settles by re-reading each target (`assets.apply.settle`) before it
sends anything, so no change is ever sent twice and every applied change keeps its before-value.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Protocol, TypeVar

import orjson
import polars as pl

from assets.apply.graph_apply import apply_graph
from assets.apply.huma_apply import apply_huma
from assets.apply.results import WriteResult, results_frame
from assets.apply.writes import PlannedWrite, planned_writes
from reconcile.policy import Policy
from resources.graph import GraphResource
from resources.huma import HumaResource

logger = logging.getLogger(__name__)

CHUNK = 200
T = TypeVar("T")


class Journal(Protocol):
    """Where intents and outcomes are kept (the history database)."""

    def record_intents(self, writes: Sequence[PlannedWrite]) -> None:
        """Commit the intents of `writes`, before they are sent."""

    def record_outcomes(self, results: Sequence[WriteResult]) -> None:
        """Commit what became of them."""


def apply_plan(
    plan: pl.DataFrame,
    *,
    huma_raw: pl.DataFrame,
    policy: Policy,
    huma: HumaResource,
    graph: GraphResource,
    journal: Journal,
    progress: Callable[[int, int], None] | None = None,
) -> pl.DataFrame:
    """Apply the plan's writable rows; returns `APPLY_RESULTS_SCHEMA`, one row per change sent.

    Args:
        plan: the run's `sync_plan`.
        huma_raw: the Huma snapshot's raw payloads (`huma_id`, `payload`), for the address lines
            the engine does not map.
        policy: the connection's policy (its default Huma group).
        huma / graph: the resources.
        journal: where intents and outcomes are committed.
        progress: called as `progress(done, total)` after each chunk.
    """
    toward_huma = plan.filter(pl.col("direction") == "entra_to_huma").get_column("huma_id")
    writes = planned_writes(
        plan,
        huma_address_lines=address_lines(
            huma_raw.filter(pl.col("huma_id").is_in(toward_huma.implode()))
        ),
        huma_default_group_id=policy.huma_default_group_id,
    )
    total, results = len(writes), []
    senders: dict[str, Callable[[Sequence[PlannedWrite]], list[WriteResult]]] = {
        "graph": lambda chunk: apply_graph(graph, chunk),
        "huma": lambda chunk: apply_huma(huma, chunk),
    }
    for system, send in senders.items():
        for chunk in _chunks([w for w in writes if w.system == system], CHUNK):
            journal.record_intents(chunk)
            chunk_results = send(chunk)
            journal.record_outcomes(chunk_results)
            results += chunk_results
            if progress is not None:
                progress(len(results), total)
    failed = sum(r.status == "failed" for r in results)
    logger.info("applied %d changes, %d failed", len(results) - failed, failed)
    return results_frame(results)


def address_lines(huma_raw: pl.DataFrame) -> Mapping[str, tuple[str, str]]:
    """Huma id -> (line2, line3) of its home address, as the snapshot read it."""
    lines = {}
    for huma_id, payload in huma_raw.select("huma_id", "payload").iter_rows():
        address = (orjson.loads(payload).get("homeAddress") or {}).get("value") or {}
        if address.get("line2") or address.get("line3"):
            lines[huma_id] = (address.get("line2") or "", address.get("line3") or "")
    return lines


def _chunks(items: Sequence[T], size: int) -> Iterable[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]

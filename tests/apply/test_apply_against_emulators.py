"""The apply step against the emulators: the engine's plan, really applied, converges.

Pins: with a policy that lets everything through, one run's approved changes (updates both ways,
creates in Entra and in Huma) are applied, and planning again from fresh snapshots finds nothing
left to write; lost answers on both sides still apply each change exactly once; a create whose
user already exists is linked to it, not duplicated; the journal holds every intent before its
outcome; an interrupted run's open intents are settled by re-reading the targets.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

import orjson
import polars as pl
import pytest

from assets.apply.results import WriteResult
from assets.apply.run import apply_plan
from assets.apply.settle import settle_open_intents
from assets.apply.writes import PlannedWrite, planned_writes
from reconcile.engine import PlanResult, plan_run
from reconcile.human_decisions import decision_row
from reconcile.next_state import next_state
from reconcile.outputs import APPLY_OUTCOMES_SCHEMA
from reconcile.policy import Policy
from reconcile.state import RunContext, SyncState, empty_state
from reconcile.vocabulary import (
    APPROVE,
    AWAITING_DECISION,
    HUMA,
    RESOLVE_CONFLICT,
    WRITABLE_STATUSES,
)
from resources.graph import GraphResource
from resources.huma import HumaResource
from tests.resources.conftest import Outside, graph_credentials, huma_credentials


@dataclasses.dataclass
class MemoryJournal:
    """Intents and outcomes in the order they were recorded."""

    events: list[tuple[str, str]] = dataclasses.field(default_factory=list)

    def record_intents(self, writes: Sequence[PlannedWrite]) -> None:
        self.events += [("intent", w.change_id) for w in writes]

    def record_outcomes(self, results: Sequence[WriteResult]) -> None:
        self.events += [("outcome", r.change_id) for r in results]


@dataclasses.dataclass
class Run:
    huma: HumaResource
    graph: GraphResource
    policy: Policy

    def plan(self, state: SyncState) -> tuple[PlanResult, pl.DataFrame, RunContext]:
        huma = self.huma.snapshot()
        entra = self.graph.snapshot()
        context = RunContext(
            run_at=datetime.now(UTC),
            verified_domains=frozenset(self.graph.verified_domains(users=entra.users)),
        )
        return (
            plan_run(huma.users, entra.users, state, self.policy, context),
            huma.raw.frame(),
            context,
        )


@pytest.fixture
def run(outside: Outside) -> Iterator[Run]:
    everything_through = Policy(
        initial_direction={
            "given_name": "huma_to_entra",
            "family_name": "huma_to_entra",
            "phone": "huma_to_entra",
            "address": "huma_to_entra",
        },
        create_entra_users_automatically=True,
        auto_apply_entra_to_huma=True,
        backfill_positions=True,
        huma_default_group_id=outside.world.huma["groups"][0]["id"],
        mass_change_max_share=1.0,
    )
    huma = HumaResource(**huma_credentials(outside))
    graph = GraphResource(**graph_credentials(outside))
    yield Run(huma, graph, everything_through)
    huma.close()
    graph.close()


def _approve_everything(result: PlanResult) -> SyncState:
    """A state holding a person's approval of every row awaiting one (conflicts: Huma wins)."""
    waiting = result.sync_plan.filter(pl.col("status").is_in(AWAITING_DECISION))
    decisions = [
        decision_row(
            row,
            verdict=APPROVE,
            decided_at=datetime.now(UTC),
            decided_by="test",
            winner=HUMA if row["action"] == RESOLVE_CONFLICT else None,
        )
        for row in waiting.iter_rows(named=True)
    ]
    return dataclasses.replace(empty_state(), decisions=pl.concat(decisions))


def _writable(plan: pl.DataFrame) -> pl.DataFrame:
    return plan.filter(pl.col("status").is_in(WRITABLE_STATUSES))


def _apply(run: Run, result: PlanResult, raw: pl.DataFrame, journal: MemoryJournal):
    return apply_plan(
        result.sync_plan,
        huma_raw=raw,
        policy=run.policy,
        huma=run.huma,
        graph=run.graph,
        journal=journal,
    )


def test_an_applied_plan_leaves_nothing_to_write(outside: Outside, run: Run) -> None:
    journal = MemoryJournal()
    asked, _, _ = run.plan(empty_state())
    decided = _approve_everything(asked)
    first, raw, context = run.plan(decided)
    writable = _writable(first.sync_plan)
    assert set(writable["action"]) >= {"update_entra", "update_huma", "create_entra", "create_huma"}

    results = _apply(run, first, raw, journal)

    assert results.filter(pl.col("status") == "failed").to_dicts() == []
    assert results.height == writable.height
    outcomes = results.select(APPLY_OUTCOMES_SCHEMA.names())
    second, _, _ = run.plan(next_state(decided, first, outcomes, context))
    assert _writable(second.sync_plan).to_dicts() == []
    order = {change: i for i, (kind, change) in enumerate(journal.events) if kind == "outcome"}
    assert all(i < order[c] for i, (k, c) in enumerate(journal.events) if k == "intent")


def test_lost_answers_on_both_sides_still_apply_each_change_once(outside, run) -> None:
    first, raw, context = run.plan(empty_state())
    outside.huma_settings(drop_rate=0.3, drop_phase="either", seed=4)
    outside.entra_settings(drop_rate=0.3, drop_phase="either", seed=4)

    results = _apply(run, first, raw, MemoryJournal())

    outside.huma_settings(drop_rate=0)
    outside.entra_settings(drop_rate=0)
    assert results.filter(pl.col("status") == "failed").to_dicts() == []
    huma_writes = Counter(
        (e["method"], e["path"], str(e["body"]))
        for e in outside.huma.requests()
        if e["method"] in ("PATCH", "POST") and e["fault"] != "drop_before"
    )
    assert set(huma_writes.values()) == {1}
    graph_items = Counter(
        (e["method"], e["path"], str(e["body"]))
        for e in outside.entra.requests()
        if e["parent"] is not None and e["status"] and e["status"] < 300
    )
    assert set(graph_items.values()) == {1}
    second, _, _ = run.plan(
        next_state(empty_state(), first, results.select(APPLY_OUTCOMES_SCHEMA.names()), context)
    )
    assert _writable(second.sync_plan).to_dicts() == []


def test_a_create_whose_user_exists_is_linked_not_doubled(outside, run) -> None:
    first, raw, _ = run.plan(empty_state())
    create = _writable(first.sync_plan).filter(pl.col("action") == "create_entra").head(1)
    _apply(run, dataclasses.replace(first, sync_plan=create), raw, MemoryJournal())

    again = _apply(run, dataclasses.replace(first, sync_plan=create), raw, MemoryJournal())

    [result] = again.to_dicts()
    assert result["status"] == "applied"
    assert "linked" in result["note"]
    upn = create["email_key"][0]
    found = [
        u
        for u in outside.entra.state()["tenants"][0]["users"]
        if u["userPrincipalName"].casefold() == upn
    ]
    assert len(found) == 1
    assert result["created_id"] == found[0]["id"]


def test_open_intents_of_an_interrupted_run_are_settled_by_re_reading(outside, run) -> None:
    first, raw, _ = run.plan(empty_state())
    journal = MemoryJournal()
    writable = _writable(first.sync_plan)
    done = writable.filter(pl.col("action").is_in(["update_entra", "update_huma"])).head(4)
    _apply(run, dataclasses.replace(first, sync_plan=done), raw, journal)

    pending = planned_writes(
        writable.head(8),
        huma_address_lines={},
        huma_default_group_id=run.policy.huma_default_group_id,
    )
    intents = pl.DataFrame(
        [
            {
                "change_id": w.change_id,
                "system": w.system,
                "operation": w.operation,
                "target_id": w.target_id,
                "request": orjson.dumps(w.journal_request()).decode(),
            }
            for w in pending
        ]
    )

    settled = {
        r.change_id: r
        for r in settle_open_intents(intents, huma=run.huma.client(), graph=run.graph)
    }

    applied = set(done["change_id"])
    assert {c for c, r in settled.items() if r.status == "applied"} == applied & set(settled)
    assert all(r.status == "failed" for c, r in settled.items() if c not in applied)

"""A small company over two nights, planned by the engine and kept in a real history file.

Connection `acme`: Ann (`h-ann` ↔ `e-ann`) and Bo (`h-bo` ↔ `e-bo`) in both systems, Cy only in
Huma, Di only in Entra. Night 1 (`acme-1`, 1 March) activates the connection: nothing is
written, Cy's and Di's creates wait for a person. Between the nights a person rejects Di's create.
Night 2 (`acme-2`, 2 March): Huma changed Ann's phone (written to Entra, applied), both systems
changed Bo's city (a conflict, pending), Cy still waits. Connection `globex` reuses the Huma id
`h-ann` for another person, so any mixing of connections shows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import polars as pl

from reconcile.context import RunContext
from reconcile.decisions import decision_row
from reconcile.engine import PlanResult, plan_run
from reconcile.next_state import next_state
from reconcile.outputs import APPLY_OUTCOMES_SCHEMA
from reconcile.policy import Policy
from reconcile.vocabulary import CREATE_HUMA, HUMA_TO_ENTRA, REJECT
from resources.history import HistoryStore
from tests.reference.builders import entra_frame, entra_user, huma_frame, huma_user
from tests.reference.simulation import apply_to_snapshots

ACME: Final = "acme"
GLOBEX: Final = "globex"
NIGHT_1: Final = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
NIGHT_2: Final = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
POLICY: Final = Policy(huma_default_group_id="group-1")
ANN_OLD_PHONE: Final = "+4790000001"
ANN_NEW_PHONE: Final = "+4790000099"


def _person(name: str, number: int) -> dict[str, Any]:
    return {
        "phone": f"+479000000{number}",
        "employment_id": f"E{number}",
        "given_name": name.capitalize(),
    }


def acme_snapshots(night: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Acme's Huma and Entra snapshots of night 1 or 2."""
    ann, bo = _person("ann", 1), _person("bo", 2)
    huma_ann, huma_bo = dict(ann), dict(bo)
    entra_ann, entra_bo = dict(ann), dict(bo)
    if night == 2:
        huma_ann["phone"] = ANN_NEW_PHONE
        huma_bo["address_city"] = "Bergen"
        entra_bo["address_city"] = "Trondheim"
    huma = huma_frame(
        huma_user("h-ann", "ann@example.com", **huma_ann),
        huma_user("h-bo", "Bo@Example.com", **huma_bo),
        huma_user("h-cy", "cy@example.com", **_person("cy", 3)),
    )
    entra = entra_frame(
        entra_user("e-ann", "ann@example.com", **entra_ann),
        entra_user("e-bo", "bo@example.com", **entra_bo),
        entra_user("e-di", "di@example.com", **_person("di", 4)),
    )
    return huma, entra


def globex_snapshots() -> tuple[pl.DataFrame, pl.DataFrame]:
    """Globex: one linked person whose Huma id is also one of Acme's."""
    person = {**_person("eve", 5), "address_city": "Stockholm", "address_country": "SE"}
    huma = huma_frame(huma_user("h-ann", "eve@globex.example", **person))
    entra = entra_frame(entra_user("g-eve", "eve@globex.example", **person))
    return huma, entra


def raw_payloads(users: pl.DataFrame, id_column: str) -> pl.DataFrame:
    """Stand-in API objects: each snapshot row as JSON text."""
    return pl.DataFrame(
        {
            id_column: users.get_column(id_column),
            "payload": [json.dumps(row, default=str, sort_keys=True) for row in users.to_dicts()],
        },
        schema={id_column: pl.String(), "payload": pl.String()},
    )


@dataclass(frozen=True)
class Night:
    """One planned and applied run, as the test sees it."""

    run_id: str
    result: PlanResult
    outcomes: pl.DataFrame


def _journal(store: HistoryStore, run_id: str, connection: str, night: Night) -> None:
    applied = night.result.sync_plan.join(night.outcomes, on="change_id", suffix="_outcome")
    for row in applied.iter_rows(named=True):
        to_entra = row["direction"] == HUMA_TO_ENTRA
        store.journal_intent(
            run_id=run_id,
            connection=connection,
            change_id=row["change_id"],
            system="graph" if to_entra else "huma",
            operation="PATCH /users/{id}",
            target_id=row["entra_id"] if to_entra else row["huma_id"],
            request=row["to_values"],
            before=row["from_values"],
        )
        store.journal_outcome(
            run_id=run_id,
            change_id=row["change_id"],
            status="applied",
            after=row["to_values"],
            remote_status=204,
        )
    if night.outcomes.height:
        store.record_statuses(
            run_id=run_id,
            changes=night.outcomes.select(
                "change_id",
                "status",
                pl.lit(NIGHT_2 + timedelta(minutes=3)).dt.cast_time_unit("us").alias("changed_at"),
            ),
        )


def run_night(
    store: HistoryStore,
    *,
    connection: str,
    run_id: str,
    run_at: datetime,
    snapshots: tuple[pl.DataFrame, pl.DataFrame],
) -> Night:
    """Plan, apply (simulated) and keep one run the way the pipeline does."""
    huma, entra = snapshots
    state = store.load_state(connection=connection)
    previous = store.previous_snapshots(connection=connection, before_run_id=run_id)
    store.begin_run(run_id=run_id, connection=connection, mode="apply", started_at=run_at)
    store.record_snapshot(run_id=run_id, side="huma", users=huma, raw=raw_payloads(huma, "huma_id"))
    store.record_snapshot(
        run_id=run_id, side="entra", users=entra, raw=raw_payloads(entra, "entra_id")
    )
    context = RunContext(
        run_at=run_at,
        verified_domains=frozenset({"example.com", "globex.example"}),
        previous_huma_count=previous.huma_count,
        previous_entra_count=previous.entra_count,
    )
    result = plan_run(huma, entra, state, POLICY, context)
    store.record_plan(run_id=run_id, plan=result)
    _, _, outcomes = apply_to_snapshots(huma, entra, result.sync_plan)
    night = Night(run_id, result, outcomes.cast(dict(APPLY_OUTCOMES_SCHEMA)))
    _journal(store, run_id, connection, night)
    store.save_state(
        connection=connection,
        run_id=run_id,
        state=next_state(state, result, night.outcomes, context),
    )
    store.finish_run(
        run_id=run_id,
        outcome="succeeded",
        ended_at=run_at + timedelta(minutes=5),
        summary={"applied": outcomes.height, "planned": result.sync_plan.height},
    )
    return night


def reject_di_create(store: HistoryStore, sync_plan: pl.DataFrame) -> None:
    """Between the nights, a person rejects creating Di in Huma (a row of night 1's plan)."""
    row = sync_plan.filter(pl.col("action") == CREATE_HUMA).row(0, named=True)
    decided = decision_row(
        row, verdict=REJECT, decided_at=NIGHT_1 + timedelta(hours=8), decided_by="hr@example.com"
    )
    store.record_decisions(connection=ACME, decisions=decided)


def populate(store: HistoryStore) -> tuple[Night, Night, Night]:
    """Both Acme nights (with the decision between them) and Globex's first night."""
    first = run_night(
        store, connection=ACME, run_id="acme-1", run_at=NIGHT_1, snapshots=acme_snapshots(1)
    )
    reject_di_create(store, first.result.sync_plan)
    second = run_night(
        store, connection=ACME, run_id="acme-2", run_at=NIGHT_2, snapshots=acme_snapshots(2)
    )
    globex = run_night(
        store, connection=GLOBEX, run_id="globex-1", run_at=NIGHT_2, snapshots=globex_snapshots()
    )
    return first, second, globex

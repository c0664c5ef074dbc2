"""A job for `test_io_manager`'s release tests, in a module of its own so that Dagster can run it
as a job outside `execute_in_process` (which keeps every output until the run ends): an output read
by two later steps (one of them taking one attribute of it), one read by one step, one by none.
Each step records what it got in `HELD`.
"""

from __future__ import annotations

import dataclasses
import gc
import weakref

import dagster as dg
import polars as pl

from assets.keys import INPUT_PART
from pipelines.io_manager import run_outputs_io_manager

FRAME = pl.DataFrame({"user_id": ["h1", "h2"], "phone": ["+47 1", None]})
HELD: dict[str, object] = {}


@dataclasses.dataclass(frozen=True)
class Plan:
    rows: pl.DataFrame
    note: str


@dg.asset(key=["acme", "snapshot"])
def snapshot() -> Plan:
    value = Plan(FRAME.clone(), "snapshot")
    HELD["snapshot"] = weakref.ref(value)
    return value


@dg.asset(key=["acme", "read_once"])
def read_once() -> Plan:
    value = Plan(FRAME.clone(), "read by one step")
    HELD["read_once"] = weakref.ref(value)
    return value


@dg.asset(key=["acme", "unread"])
def unread() -> Plan:
    value = Plan(FRAME.clone(), "read by no step")
    HELD["unread"] = weakref.ref(value)
    return value


@dg.asset(key=["acme", "planned"], ins={"seen": dg.AssetIn(["acme", "snapshot"])})
def planned(seen: Plan) -> str:
    HELD["planned_got"] = (seen.note, seen.rows.clone())
    return seen.note


@dg.asset(
    key=["acme", "applied"],
    ins={
        "rows": dg.AssetIn(["acme", "snapshot"], metadata={INPUT_PART: "rows"}),
        "note": dg.AssetIn(["acme", "planned"]),
        "waited": dg.AssetIn(["acme", "read_once"]),
    },
)
def applied(rows: pl.DataFrame, note: str, waited: Plan) -> int:
    HELD["applied_got"] = rows.clone()
    return rows.height


@dg.asset(key=["acme", "reported"], ins={"count": dg.AssetIn(["acme", "applied"])})
def reported(count: int) -> str:
    # By now every reader of the snapshot and of `read_once` has loaded it; `unread` has none.
    gc.collect()
    HELD["alive_at_the_end"] = {
        name: HELD[name]() is not None for name in ("snapshot", "read_once", "unread")
    }
    return str(count)


RELEASING = [snapshot, read_once, unread, planned, applied, reported]


def releasing_job() -> dg.JobDefinition:
    """The assets as one job run step after step in one process, as the nightly job is."""
    return dg.Definitions(
        assets=RELEASING,
        jobs=[dg.define_asset_job("releasing", executor_def=dg.in_process_executor)],
        resources={"io_manager": run_outputs_io_manager},
    ).resolve_job_def("releasing")

"""Benchmark: keep N nightly runs of a large company in the history file, then query it.

    uv run python -m benchmarks.history [--users 100000] [--nights 10] [--changed-users 0.02]

Night 0 saves the kept state of an activated connection (every user linked, seven baseline rows
each). Each night then does what a run does, timed per step: both snapshots with raw payloads,
`load_state`, the engine's plan (not history work, shown for scale), the plan kept, the automatic
rows journaled in batches of 20 inside one session (intent, then outcome, then status), the
changed state saved (`StateChanges`), the run finished (which publishes the analysts' copy).
About `--changed-users` of the users differ each night (a third changed in Huma, a third in Entra,
a third in both). Afterwards: the file size,
the README's analyst queries (run as written there), the largest tables, and `load_state` with the
baseline eager or lazy, then planning with it, each in a fresh process (time, and the process's
peak resident memory with both snapshots held). Not a test: it prints tables.
"""

from __future__ import annotations

import argparse
import multiprocessing
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from benchmarks.engine import generate, memory_mb
from reconcile.baseline import baseline_changes
from reconcile.context import RunContext
from reconcile.engine import plan_run
from reconcile.fields import UNITS
from reconcile.next_state import next_state
from reconcile.policy import Policy
from reconcile.state import ACTIVATION_SCHEMA, empty_state
from reconcile.vocabulary import APPLIED, AUTO_APPROVED
from resources.history import HistoryStore, StateChanges, read_only_store
from resources.history.files import connect

CONNECTION = "acme"
FIRST_NIGHT = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
POLICY = Policy()
README = Path(__file__).resolve().parents[1] / "README.md"


def _timed(work: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    result = work()
    return result, time.perf_counter() - started


def _load_and_plan(path: str, folder: str | None, inputs: str, answer: Any) -> None:
    """In a fresh process: load the state (eager, or lazy when `folder` is given) and plan."""
    huma, entra = (pl.read_ipc(Path(inputs) / f"{side}.arrow") for side in ("huma", "entra"))
    store = read_only_store(path)
    context = RunContext(run_at=datetime.now(UTC), verified_domains=frozenset({"example.com"}))
    before = memory_mb("VmRSS")
    state, load = _timed(lambda: store.load_state(connection=CONNECTION, baseline_dir=folder))
    load_peak = memory_mb("VmHWM")
    plan = _timed(lambda: plan_run(huma, entra, state, POLICY, context))[1]
    answer.put(
        {
            "baseline": "lazy (Parquet scan)" if folder else "eager",
            "load s": load,
            "plan s": plan,
            "RSS with inputs MB": before,
            "peak after load MB": load_peak,
            "peak after plan MB": memory_mb("VmHWM"),
            "peak over inputs MB": memory_mb("VmHWM") - before,
        }
    )


def _loading(store: HistoryStore, scratch: Path, huma: pl.DataFrame, entra: pl.DataFrame) -> list:
    """Eager and lazy loading, each measured in its own process (peaks do not mix)."""
    huma.write_ipc(scratch / "huma.arrow")
    entra.write_ipc(scratch / "entra.arrow")
    spawn = multiprocessing.get_context("spawn")
    answer = spawn.Queue()
    rows = []
    for folder in (None, str(scratch / "baseline")):
        child = spawn.Process(
            target=_load_and_plan, args=(str(store.path), folder, str(scratch), answer)
        )
        child.start()
        child.join()
        if child.exitcode != 0:
            raise RuntimeError("measuring the loading failed (see the child's traceback)")
        rows.append(answer.get(timeout=10))
    return rows


def _raw(frame: pl.DataFrame, id_column: str) -> pl.DataFrame:
    """Stand-in API objects: each row as JSON text."""
    payload = pl.struct(pl.all().exclude("unknown_fields")).struct.json_encode()
    return frame.select(pl.col(id_column), payload.alias("payload"))


def _journal(store: HistoryStore, run_id: str, plan: pl.DataFrame, at: datetime) -> int:
    """Journal the automatic rows as the apply step would: batches of 20, in one session."""
    rows = plan.filter(pl.col("status") == AUTO_APPROVED)
    with store.session(doing=f"apply of run {run_id}"):
        for batch in rows.iter_slices(20):
            store.journal_intents(
                intents=batch.select(
                    pl.lit(run_id).alias("run_id"),
                    pl.lit(CONNECTION).alias("connection"),
                    "change_id",
                    pl.lit("graph").alias("system"),
                    pl.lit("PATCH /users/{id}").alias("operation"),
                    pl.col("entra_id").alias("target_id"),
                    pl.col("to_values").alias("request"),
                    pl.col("from_values").alias("before"),
                )
            )
            store.journal_outcomes(
                outcomes=batch.select(
                    pl.lit(run_id).alias("run_id"),
                    "change_id",
                    pl.lit(APPLIED).alias("status"),
                    pl.col("to_values").alias("after"),
                    pl.lit(204, pl.Int32).alias("remote_status"),
                )
            )
            store.record_statuses(
                run_id=run_id,
                changes=batch.select(
                    "change_id",
                    pl.lit(APPLIED).alias("status"),
                    pl.lit(at).dt.cast_time_unit("us").alias("changed_at"),
                ),
            )
    return rows.height


def _night(store: HistoryStore, night: int, inputs: dict[str, pl.DataFrame]) -> dict[str, Any]:
    run_id, run_at = f"night-{night}", FIRST_NIGHT + timedelta(days=night - 1)
    huma, entra = inputs["huma"], inputs["entra"]
    times: dict[str, Any] = {"night": night}
    store.begin_run(run_id=run_id, connection=CONNECTION, mode="apply", started_at=run_at)

    def snapshots() -> None:
        store.record_snapshot(run_id=run_id, side="huma", users=huma, raw=_raw(huma, "huma_id"))
        store.record_snapshot(run_id=run_id, side="entra", users=entra, raw=_raw(entra, "entra_id"))

    times["snapshots"] = _timed(snapshots)[1]
    state, times["load state"] = _timed(lambda: store.load_state(connection=CONNECTION))
    context = RunContext(run_at=run_at, verified_domains=frozenset({"example.com"}))
    result, times["plan (engine)"] = _timed(lambda: plan_run(huma, entra, state, POLICY, context))
    times["keep plan"] = _timed(lambda: store.record_plan(run_id=run_id, plan=result))[1]
    at = run_at + timedelta(minutes=5)
    times["journaled"], times["journal"] = _timed(
        lambda: _journal(store, run_id, result.sync_plan, at)
    )
    outcomes = result.sync_plan.filter(pl.col("status") == AUTO_APPROVED).select(
        "change_id",
        pl.lit(APPLIED).alias("status"),
        pl.lit(None, pl.String).alias("created_id"),
        pl.lit(None, pl.String).alias("error"),
    )
    following = next_state(state, result, outcomes, context)
    changes = baseline_changes(state.baseline, result, outcomes.select("change_id", "created_id"))
    saved = StateChanges(
        links=following.links,
        activation=following.activation,
        deleted_huma_users=following.deleted_huma_users,
        baseline_changes=changes,
    )
    times["save state"] = _timed(
        lambda: store.save_state(connection=CONNECTION, run_id=run_id, state=saved)
    )[1]
    times["plan rows"] = result.sync_plan.height
    # Finishing publishes the copy analysts read: a checkpoint and a copy of the whole file.
    times["finish + publish"] = _timed(
        lambda: store.finish_run(run_id=run_id, outcome="succeeded", ended_at=at)
    )[1]
    times["file MB"] = store.path.stat().st_size / 2**20
    return times


def _queries(store: HistoryStore, email: str, repeat: int = 5) -> list[tuple[str, float, int]]:
    """The README's analyst queries as written there (with a user of this company)."""
    section = README.read_text(encoding="utf-8").split("\n## History tables\n", 1)[1]
    found = re.findall(r"^#### (.+?)\n.*?```sql\n(.*?)```", section, re.S | re.M)
    timings = []
    conn = connect(store.path, read_only=True, timeout_seconds=10)
    try:
        for title, sql in found:
            query = sql.replace("'Ann@Example.com'", f"'{email}'")
            seconds = []
            for _ in range(repeat):
                rows, spent = _timed(lambda q=query: conn.sql(q).pl())
                seconds.append(spent)
            timings.append((title, statistics.median(seconds) * 1000, rows.height))
    finally:
        conn.close()
    return timings


def _sizes(store: HistoryStore) -> list[dict[str, Any]]:
    """Where the bytes are: blocks used per table (DuckDB's 256 KiB blocks), largest first."""
    conn = connect(store.path, read_only=True, timeout_seconds=10)
    try:
        tables = [row[0] for row in conn.sql("SELECT table_name FROM duckdb_tables()").fetchall()]
        sizes = []
        for table in tables:
            blocks, rows = conn.sql(
                f"SELECT (SELECT count(DISTINCT block_id) FROM pragma_storage_info('{table}') "
                f"WHERE block_id >= 0), (SELECT count(*) FROM {table})"
            ).fetchall()[0]
            sizes.append({"table": table, "MB": blocks * 0.25, "rows": rows})
    finally:
        conn.close()
    return sorted(sizes, key=lambda size: -size["MB"])[:8]


def _table(rows: list[dict[str, Any]]) -> str:
    columns = list(rows[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---:|" * len(columns)]
    for row in rows:
        cells = [
            f"{v:.2f}" if isinstance(v, float) else f"{v:,}" if isinstance(v, int) else str(v)
            for v in row.values()
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    """Fill a history file night after night, then query it; print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--nights", type=int, default=10)
    parser.add_argument("--changed-users", type=float, default=0.02)
    args = parser.parse_args(argv)
    per_field = 1 - (1 - args.changed_users) ** (1 / len(UNITS))
    out = sys.stdout
    with tempfile.TemporaryDirectory() as directory:
        store = HistoryStore(Path(directory) / "history.duckdb")
        kept = generate(args.users, per_field, seed=0)
        activated = pl.DataFrame({"activated_at": [FIRST_NIGHT]}, schema=ACTIVATION_SCHEMA)
        state = replace(
            empty_state(), links=kept["links"], baseline=kept["baseline"], activation=activated
        )
        store.begin_run(
            run_id="night-0",
            connection=CONNECTION,
            mode="apply",
            started_at=FIRST_NIGHT - timedelta(days=1),
        )
        seconds = _timed(
            lambda: store.save_state(connection=CONNECTION, run_id="night-0", state=state)
        )[1]
        out.write(
            f"{args.users:,} linked users, ~{args.changed_users:.0%} of them differ each "
            f"night; night 0 saved the activated state in {seconds:.2f} s\n\n"
        )
        nights = []
        for night in range(1, args.nights + 1):
            nights.append(_night(store, night, generate(args.users, per_field, seed=night)))
        out.write("seconds per step; file size after the night\n\n" + _table(nights) + "\n")
        email = (
            store.plan_with_statuses(run_id=f"night-{args.nights}")
            .filter(pl.col("status") == APPLIED)
            .item(0, "email_key")
        )  # someone whose history has changes
        queries = [
            {"query": t, "ms (median of 5)": ms, "rows": n} for t, ms, n in _queries(store, email)
        ]
        out.write(_table(queries) + "\n")
        out.write("the largest tables\n\n" + _table(_sizes(store)) + "\n")
        loading = _loading(store, Path(directory), kept["huma"], kept["entra"])
        out.write("loading the state and planning, each in a fresh process\n\n" + _table(loading))


if __name__ == "__main__":
    main()

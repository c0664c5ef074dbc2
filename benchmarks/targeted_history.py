"""Benchmark: a targeted run's history read of the users it did not read, before and after.

    uv run python -m benchmarks.targeted_history [--users 100000] [--repeats 3]

Keeps one full run of `--users` users per side in a fresh history file (both snapshots), begins a
targeted run naming one user, and then reads what that run needs of everybody else, two ways,
each in a fresh process (so the peaks do not mix), alternating:

- **before**: what targeted runs did first: the latest full run's id (`previous_snapshots`), then
  each side's whole snapshot (`snapshot`, every column), three opens of the file, narrowed to
  SPEC §3's columns afterwards;
- **after**: `assets.targeting.unread_keys`: one open of the file, the ids and unique keys only.

Prints the median wall time, the process's peak resident memory over what it held before the
read, the opens of the file and the size of the frames handed to the engine. Not a test.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from assets.targeting import unread_keys
from benchmarks.engine import generate, memory_mb
from reconcile.frames import ENTRA_USERS_SCHEMA, HUMA_USERS_SCHEMA
from resources.history import HistoryStore

CONNECTION = "acme"
FULL_RUN = "nightly"
TARGETED_RUN = "targeted"
NIGHT = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
WAYS = ("before", "after")
SIDES = ("huma", "entra")


def _build(path: Path, users: int, inputs: Path) -> None:
    """The history file with one full run of both sides, and the targeted run's read."""
    frames = generate(users, 0.01, seed=1)
    store = HistoryStore(path)
    store.begin_run(run_id=FULL_RUN, connection=CONNECTION, mode="apply", started_at=NIGHT)
    for side in SIDES:
        store.record_snapshot(run_id=FULL_RUN, side=side, users=frames[side])
    store.begin_run(
        run_id=TARGETED_RUN,
        connection=CONNECTION,
        mode="apply",
        started_at=NIGHT + timedelta(hours=12),
        scope="targeted",
        scope_users=1,
    )
    for side in SIDES:
        frames[side].head(1).write_ipc(inputs / f"{side}.arrow")


def _before(store: Any, huma_read: pl.DataFrame, entra_read: pl.DataFrame) -> tuple:
    """The read as targeted runs first made it (whole snapshots, three opens)."""
    latest = store.previous_snapshots(connection=CONNECTION, before_run_id=TARGETED_RUN).last_run_id
    huma_seen = store.snapshot(run_id=latest, side="huma")
    entra_seen = store.snapshot(run_id=latest, side="entra")
    huma_columns, entra_columns = list(HUMA_USERS_SCHEMA), list(ENTRA_USERS_SCHEMA)
    huma = pl.concat(
        [
            huma_seen.select(huma_columns).join(huma_read, on="huma_id", how="anti"),
            huma_read.join(huma_read, on="huma_id", how="anti").select(huma_columns),
        ]
    )
    entra = entra_seen.select(entra_columns).join(entra_read, on="entra_id", how="anti")
    return huma, entra


def _after(store: Any, huma_read: pl.DataFrame, entra_read: pl.DataFrame) -> tuple:
    return unread_keys(
        store,
        CONNECTION,
        run_id=TARGETED_RUN,
        huma_read=huma_read,
        huma_planned=huma_read,
        entra_read=entra_read,
    )


def _measure(way: str, path: str, inputs: str, answer: Any) -> None:
    """In a fresh process: one read `way`, timed, with its peak memory and opens."""
    import resources.history.store as store_module

    opens = 0
    reading = store_module.reading

    def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal opens
        opens += 1
        return reading(*args, **kwargs)

    store_module.reading = counted
    huma_read, entra_read = (pl.read_ipc(Path(inputs) / f"{side}.arrow") for side in SIDES)
    store = HistoryStore(path)
    store.migrate()  # a run's store is checked by its first step, long before this read
    read = {"before": _before, "after": _after}[way]
    before = memory_mb("VmRSS")
    started = time.perf_counter()
    huma, entra = read(store, huma_read, entra_read)
    seconds = time.perf_counter() - started
    answer.put(
        {
            "way": way,
            "seconds": seconds,
            "peak over before MB": memory_mb("VmHWM") - before,
            "opens": opens,
            "rows": huma.height + entra.height,
            "frames MB": (huma.estimated_size() + entra.estimated_size()) / 2**20,
        }
    )


def _in_child(target: Any, *args: Any) -> Any:
    spawn = multiprocessing.get_context("spawn")
    answer = spawn.Queue()
    child = spawn.Process(target=target, args=(*args, answer))
    child.start()
    result = answer.get()
    child.join()
    return result


def _built(path: Path, users: int, inputs: Path, answer: Any) -> None:
    _build(path, users, inputs)
    answer.put(path.stat().st_size)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000, help="users per side")
    parser.add_argument("--repeats", type=int, default=3, help="measurements of each way")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="targeted-history-") as scratch:
        folder = Path(scratch)
        path = folder / "history.duckdb"
        size = _in_child(_built, path, args.users, folder)
        samples: dict[str, list[dict[str, Any]]] = {way: [] for way in WAYS}
        for _ in range(args.repeats):
            for way in WAYS:
                samples[way].append(_in_child(_measure, way, str(path), str(folder)))
    out = sys.stdout
    out.write(
        f"\n### A targeted run's read of the users it did not read: {args.users:,} users per "
        f"side, history file {size / 2**20:.0f} MiB, median of {args.repeats}\n\n"
    )
    out.write(
        "| read | wall s | peak memory over start MB | opens of the file | rows | frames MB |\n"
    )
    out.write("|---|---:|---:|---:|---:|---:|\n")
    for way in WAYS:
        rows = samples[way]
        out.write(
            f"| {way} "
            f"| {statistics.median(r['seconds'] for r in rows):.3f} "
            f"| {statistics.median(r['peak over before MB'] for r in rows):.0f} "
            f"| {rows[0]['opens']} | {rows[0]['rows']:,} "
            f"| {statistics.median(r['frames MB'] for r in rows):.1f} |\n"
        )


if __name__ == "__main__":
    main()

"""Benchmark: plan 100,000 and 1,000,000 linked users with the engine, beside a plain join.

    uv run python -m benchmarks.engine [--users N ...] [--differing-share S] [--seed K]
        [--repeat R] [--python | --no-python] [--shuffled] [--stages] [--history]
        [--save DIR] [--expect DIR]

Per size, inputs are generated in a child process and read back from Arrow IPC files, as if loaded
from storage. Then, in this process and on the same inputs: the engine's `plan_run` with the kept
baseline (seven rows per user) scanned lazily from a Parquet file, the engine with the baseline held
in memory; with `--history`, also as a real run gets it: the child keeps the links and the baseline
in a history file (`HistoryStore.save_state`, which keeps the baseline's Parquet file beside it),
and the phases are the history's `load_state` without the kept file (exporting the table) and with
it, the engine planning with the state it returned, a night's `next_state` after that plan, and its
`save_state` (into a fresh copy of the history each time). Then (by default up to 100,000 users;
`--python` forces it) `tests.reference.rules.plan_linked`, a straightforward dict-and-loop reading
of the same rules for linked users, and last a floor measured in the same run (a plain Polars join
of the two snapshots through the links, every column, the least any planner must do). The engine's
results are compared frame for frame (every frame of `PlanResult`: the plan with its change ids, the
field differences, the decisions' cases and outcomes, failures, links, notices), and the plain
Python plan row for row. `--save DIR` keeps the engine's result in `DIR/<users>/` (Arrow IPC, one
file per frame) and `--expect DIR` compares with a result kept so, e.g. by another build of the
engine on the same inputs (same `--users`, `--differing-share`, `--seed`, `--shuffled`).
`--shuffled` gives the Entra snapshot, the links and the baseline an order of their own (as Graph
and the history hand them over) instead of Huma's; `--stages` adds a table of the engine's steps
(`benchmarks.engine_stages`), baseline scanned.
Time is wall-clock and CPU (all threads) of the phase, the median of `--repeat` runs; the machine
is shared and noisy, so compare each figure with the floor's, measured in the same run. Peak
memory is the process's peak resident set during each phase (Linux `VmHWM`, reset before each),
inputs in memory included; "RSS before" is what the process held when the phase began.
Not a test: it prints a table.
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import fields, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from benchmarks.engine_stages import timed_steps
from reconcile.engine import PlanResult, plan_run
from reconcile.fields import UNITS, unit_text
from reconcile.frames import ENTRA_USERS_SCHEMA, HUMA_USERS_SCHEMA
from reconcile.next_state import next_state
from reconcile.outputs import APPLY_OUTCOMES_SCHEMA
from reconcile.policy import Policy
from reconcile.state import (
    ACTIVATION_SCHEMA,
    BASELINE_SCHEMA,
    LINKS_SCHEMA,
    RunContext,
    SyncState,
    empty_state,
)
from resources.history import HistoryStore, read_only_store
from resources.private_files import PRIVATE_FILE
from tests.reference.builders import RUN_AT
from tests.reference.rules import plan_linked

_GIVEN = ["Anna", "Bjørn", "Camilla", "Dag", "Eva", "Fredrik", "Guro", "Håkon", "Ingrid", "Jonas"]
_FAMILY = ["Hansen", "Johansen", "Olsen", "Larsen", "Andersen", "Pedersen", "Nilsen", "Berg"]
_CITIES = ["Oslo", "Bergen", "Trondheim", "Stavanger", "Tromsø"]
_TITLES = ["Engineer", "Senior Engineer", "Accountant", "Sales Manager", "HR Partner"]


def _pick(values: list[str], index: pl.Expr) -> pl.Expr:
    return pl.lit(pl.Series(values)).gather(index % len(values))


def _people(n: int) -> pl.DataFrame:
    """`n` distinct people, every field filled, agreed on both sides."""
    i = pl.int_range(n, dtype=pl.Int64)
    given, family = _pick(_GIVEN, i), _pick(_FAMILY, i // len(_GIVEN))
    digits = i.cast(pl.String).str.zfill(12)
    email = pl.concat_str(given, pl.lit("."), family, pl.lit("."), i.cast(pl.String))
    return pl.select(
        huma_id=pl.concat_str(pl.lit("0c1d2e3f-0000-4000-8000-"), digits),
        entra_id=pl.concat_str(pl.lit("9a8b7c6d-1111-4000-9000-"), digits),
        email=pl.concat_str(email.str.to_lowercase(), pl.lit("@example.com")),
        given_name=given,
        family_name=family,
        phone=pl.concat_str(pl.lit("+47"), (i + 40_000_000).cast(pl.String)),
        address_line1=pl.concat_str(pl.lit("Storgata "), (i % 200 + 1).cast(pl.String)),
        address_postal_code=(i % 9000 + 1000).cast(pl.String),
        address_city=_pick(_CITIES, i),
        address_country=pl.lit("NO"),
        employment_id=pl.concat_str(pl.lit("E"), i.cast(pl.String).str.zfill(8)),
        hire_date=pl.lit(datetime(2010, 1, 1).date()) + pl.duration(days=i % 5000),
        job_title=_pick(_TITLES, i),
    ).with_columns(email_key=pl.col("email"))


def _edit(frame: pl.DataFrame, mask: pl.Expr, unit: Any, mark: int) -> pl.DataFrame:
    """Change the unit's value where `mask` holds, each side its own way (keys stay unique)."""
    column = unit.columns[-2] if len(unit.columns) > 1 else unit.columns[0]  # the city
    value = pl.col(column)
    changed = value + pl.duration(days=mark) if column == "hire_date" else value + str(mark)
    return frame.with_columns(pl.when(mask).then(changed).otherwise(value).alias(column))


def generate(n: int, share: float, seed: int, shuffled: bool = False) -> dict[str, pl.DataFrame]:
    """Linked snapshots where about `share` of all field values differ, and the kept state;
    `shuffled`: Entra users, links and baseline rows each in an order of their own."""
    people = _people(n)
    huma, entra = people, people
    i = pl.int_range(n, dtype=pl.Int64)
    for number, unit in enumerate(UNITS):
        draw = (i * 7919 + seed * 104_729 + number * 15_485_863).hash(seed) % 1_000_000
        hit = draw < share * 1_000_000
        # A third each: Huma changed (E = B), Entra changed (H = B), both changed (conflict).
        huma = _edit(huma, hit & (draw % 3 != 1), unit, 1)
        entra = _edit(entra, hit & (draw % 3 != 0), unit, 2)
    extra = {
        "active": True,
        "deactivated_at": None,
        "unknown_fields": pl.lit([], pl.List(pl.String)),
    }
    huma = (
        huma.with_columns(**extra).select(HUMA_USERS_SCHEMA.names()).cast(dict(HUMA_USERS_SCHEMA))
    )
    entra = (
        entra.with_columns(
            user_principal_name=pl.col("email"),
            mail=pl.col("email"),
            account_enabled=True,
            user_type=pl.lit("Member"),
            on_premises_sync_enabled=pl.lit(None, pl.Boolean),
            unknown_fields=pl.lit([], pl.List(pl.String)),
        )
        .select(ENTRA_USERS_SCHEMA.names())
        .cast(dict(ENTRA_USERS_SCHEMA))
    )
    links = people.select(
        "huma_id",
        "entra_id",
        linked_at=pl.lit(RUN_AT - timedelta(days=30)).cast(LINKS_SCHEMA["linked_at"]),
        linked_by=pl.lit("email"),
    )
    baseline = (
        pl.concat(
            people.select(
                "huma_id",
                field=pl.lit(unit.name),
                has_agreed=pl.lit(True),
                agreed=unit_text(unit),
            )
            for unit in UNITS
        )
        .with_columns(huma_seen="agreed", entra_seen="agreed")
        .select(BASELINE_SCHEMA.names())
    )
    frames = {"huma": huma, "entra": entra, "links": links, "baseline": baseline}
    if shuffled:
        for offset, name in enumerate(("entra", "links", "baseline"), start=1):
            frames[name] = frames[name].sample(fraction=1.0, shuffle=True, seed=seed + offset)
    return frames


#: The connection whose state the history file keeps (`--history`).
_CONNECTION = "bench"


def _keep_in_history(path: Path, frames: dict[str, pl.DataFrame]) -> None:
    """Save the links and the baseline as an activated connection's state, the way a run does."""
    store = HistoryStore(path)
    store.migrate()
    activated_at = RUN_AT - timedelta(days=30)
    store.begin_run(run_id="activation", connection=_CONNECTION, mode="apply", started_at=RUN_AT)
    state = replace(
        empty_state(),
        links=frames["links"],
        baseline=frames["baseline"],
        activation=pl.DataFrame({"activated_at": [activated_at]}, schema=ACTIVATION_SCHEMA),
    )
    store.save_state(connection=_CONNECTION, run_id="activation", state=state)


def _write_inputs(
    directory: str, n: int, share: float, seed: int, shuffled: bool, history: bool
) -> None:
    frames = generate(n, share, seed, shuffled)
    for name, frame in frames.items():
        frame.write_ipc(Path(directory) / f"{name}.arrow")
    # The baseline also as Parquet, which a lazy scan reads row group by row group.
    frames["baseline"].write_parquet(Path(directory) / "baseline.parquet", row_group_size=100_000)
    if history:
        _keep_in_history(Path(directory) / "history.duckdb", frames)


def write_inputs(
    directory: str, n: int, share: float, seed: int, shuffled: bool = False, history: bool = False
) -> None:
    """Generate in a child process, so this process holds the inputs and nothing of their
    making, and the frames are read back as from storage (own buffers, nothing shared);
    `history`: also keep the links and the baseline in `history.duckdb` there."""
    child = multiprocessing.get_context("spawn").Process(
        target=_write_inputs, args=(directory, n, share, seed, shuffled, history)
    )
    child.start()
    child.join()
    if child.exitcode != 0:
        raise RuntimeError("generating the inputs failed")


def memory_mb(field: str) -> float:
    """A figure of this process's `/proc/self/status` (`VmRSS`, `VmHWM`) in MB."""
    status = Path("/proc/self/status").read_text()
    return int(re.search(rf"{field}:\s+(\d+) kB", status).group(1)) / 1024  # type: ignore[union-attr]


def _measure(run: Callable[[], Any], times: int = 1) -> tuple[Any, float, float, float, float]:
    """`(result, median seconds, median CPU seconds, peak MB, MB resident before)` of a phase
    run `times` times."""
    seconds, cpu, peaks, befores = [], [], [], []
    for _ in range(times):
        result = None
        gc.collect()
        Path("/proc/self/clear_refs").write_text("5")  # resets the peak (VmHWM) to the RSS
        befores.append(memory_mb("VmRSS"))
        started, started_cpu = time.perf_counter(), time.process_time()
        result = run()
        seconds.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
        peaks.append(memory_mb("VmHWM"))
    return result, statistics.median(seconds), statistics.median(cpu), max(peaks), befores[0]


def plain_join(huma: pl.DataFrame, entra: pl.DataFrame, links: pl.DataFrame) -> pl.DataFrame:
    """The floor: both snapshots side by side through the links, every column."""
    pairs = links.select("huma_id", "entra_id")
    return pairs.join(huma, on="huma_id").join(entra, on="entra_id", suffix="_entra")


def _python_plan(huma: pl.DataFrame, entra: pl.DataFrame, state: Any, policy: Policy) -> Any:
    baseline = state.baseline.lazy().collect().to_dicts()
    rows = (huma.to_dicts(), entra.to_dicts(), state.links.to_dicts(), baseline)
    return plan_linked(*rows, policy)


def _row(name: str, measured: tuple[Any, ...], floor: tuple[Any, ...]) -> str:
    seconds, cpu, peak, before = measured[1:]
    return (
        f"| {name} | {seconds:.2f} | {seconds / floor[1]:.1f}x | {cpu:.2f} | {cpu / floor[2]:.1f}x "
        f"| {peak:,.0f} | {before:,.0f} | {peak - before:,.0f} |\n"
    )


def run_size(users: int, args: argparse.Namespace, out: Any) -> None:
    """Generate `users`, plan them each way, compare the plans, print the table."""
    order = "; Entra, links and baseline in orders of their own" if args.shuffled else ""
    out.write(
        f"\n## {users:,} linked users, {args.differing_share:.0%} of field values differ{order}\n"
    )
    policy = Policy()
    # A fixed run time: results kept by `--save` compare equal across invocations.
    context = RunContext(run_at=RUN_AT, verified_domains=frozenset({"example.com"}))
    with_python = args.python if args.python is not None else users <= _PYTHON_UP_TO
    with tempfile.TemporaryDirectory() as directory:
        write_inputs(directory, users, args.differing_share, args.seed, args.shuffled, args.history)
        path = Path(directory)
        huma, entra = pl.read_ipc(path / "huma.arrow"), pl.read_ipc(path / "entra.arrow")
        links = pl.read_ipc(path / "links.arrow")
        storage = pl.scan_parquet(path / "baseline.parquet")
        scanned = replace(empty_state(), links=links, baseline=storage)
        lazy = _measure(lambda: plan_run(huma, entra, scanned, policy, context), args.repeat)
        held = replace(scanned, baseline=pl.read_ipc(path / "baseline.arrow"))
        eager = _measure(lambda: plan_run(huma, entra, held, policy, context), args.repeat)
        python = _measure(lambda: _python_plan(huma, entra, held, policy)) if with_python else None
        exported = _from_history(path, args.repeat, kept=False) if args.history else None
        loaded = _from_history(path, args.repeat) if args.history else None
        kept = (
            _measure(lambda: plan_run(huma, entra, loaded[0], policy, context), args.repeat)
            if loaded
            else None
        )
        following = (
            _measure(lambda: _following(loaded[0], kept[0]), args.repeat)
            if loaded and kept
            else None
        )
        saved = _saving(path, following[0], args.repeat) if following else None
        # The steps with the baseline as a run gets it, when the history is measured.
        stepped = loaded[0] if loaded else scanned
        plan = lambda: plan_run(huma, entra, stepped, policy, context)  # noqa: E731
        source = "as the history kept it" if loaded else "written by Polars"
        steps = _steps(plan, args.repeat, source) if args.stages else ""
        # Last: the allocator keeps what the floor's full-width join took, which would hide the
        # engine's own peak. Only its figures are kept.
        floor = (None, *_measure(lambda: plain_join(huma, entra, links).height, args.repeat)[1:])
    plan = eager[0].sync_plan
    agree = not differing_frames(eager[0], lazy[0])
    compared = "the two engine results (every frame)"
    if kept is not None:
        compared = "the three engine results (every frame)"
        # The history hands the links over in its own order, which `user_links` keeps.
        agree = agree and not differing_frames(eager[0], kept[0], any_order=("user_links",))
    if python is not None:
        compared = "the three plans"
        agree = agree and sorted(plan.select("change_id", "status").rows()) == sorted(
            (row["change_id"], row["status"]) for row in python[0]
        )
    diffs = eager[0].field_diffs.height
    out.write(
        f"{diffs:,} differing fields ({diffs / (users * len(UNITS)):.2%}), "
        f"{plan.height:,} plan rows; {compared} agree row for row: {agree}\n\n"
        f"median of {args.repeat} runs (plain Python: one run); "
        "x floor = over the floor's figure, measured in this run\n\n"
        "| phase | wall (s) | x floor | CPU (s) | x floor | peak RSS (MB) | RSS before (MB) "
        "| peak - before (MB) |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|\n"
        + _row("floor: plain join of the snapshots through the links", floor, floor)
        + _row("engine, baseline scanned from storage", lazy, floor)
        + _row("engine, baseline held in memory", eager, floor)
        + (
            _row("history: `load_state`, no kept file: baseline exported", exported, floor)
            if exported
            else ""
        )
        + (_row("history: `load_state`, the kept baseline file", loaded, floor) if loaded else "")
        + (_row("engine, baseline as the history kept it", kept, floor) if kept else "")
        + (
            _row("engine: `next_state` after the plan (a night)", following, floor)
            if following
            else ""
        )
        + (_row("history: `save_state` of the next state (a night)", saved, floor) if saved else "")
        + (_row("plain Python (incl. frames to dicts)", python, floor) if python else "")
    )
    out.write(steps)
    if args.save:
        save_result(eager[0], Path(args.save) / str(users))
    if args.expect:
        differing = differing_frames(eager[0], load_result(Path(args.expect) / str(users)))
        out.write(
            f"\nEqual frame for frame to the result kept in {args.expect}: {not differing}"
            + (f" (differing: {', '.join(differing)})" if differing else "")
            + "\n"
        )


def differing_frames(
    result: PlanResult, other: PlanResult, any_order: tuple[str, ...] = ()
) -> list[str]:
    """The names of the frames of two results that are not equal (values, order, schema); the
    frames named in `any_order` are compared as sets of rows."""

    def same(name: str) -> bool:
        mine, theirs = getattr(result, name), getattr(other, name)
        if name in any_order:
            mine, theirs = mine.sort(mine.columns), theirs.sort(theirs.columns)
        return mine.equals(theirs)

    return [field.name for field in fields(PlanResult) if not same(field.name)]


def save_result(result: PlanResult, folder: Path) -> None:
    """Keep every frame of `result` in `folder`, one Arrow IPC file each."""
    folder.mkdir(parents=True, exist_ok=True)
    for field in fields(PlanResult):
        getattr(result, field.name).write_ipc(folder / f"{field.name}.arrow")


def load_result(folder: Path) -> PlanResult:
    """A result kept by `save_result`."""
    names = [field.name for field in fields(PlanResult)]
    return PlanResult(**{name: pl.read_ipc(folder / f"{name}.arrow") for name in names})


def _from_history(path: Path, times: int, kept: bool = True) -> tuple[Any, ...]:
    """`_measure` of the history's `load_state` (the state a run plans with) into a folder of
    `path` as a run does: reading the baseline file the save kept, or (`kept` false, a copy
    of the history without it) exporting the table. The state is the last load's."""
    history = path / "history.duckdb"
    if not kept:
        history = path / "history-without-kept-file.duckdb"
        shutil.copyfile(path / "history.duckdb", history)
        history.chmod(PRIVATE_FILE)
    store = read_only_store(history)
    folder = path / ("run" if kept else "run-exported")
    return _measure(lambda: store.load_state(connection=_CONNECTION, baseline_dir=folder), times)


def _following(state: SyncState, result: PlanResult) -> SyncState:
    """A night's next state: after `result` with nothing applied (the seen values of the
    differing fields move)."""
    context = RunContext(run_at=RUN_AT, verified_domains=frozenset({"example.com"}))
    return next_state(state, result, pl.DataFrame(schema=APPLY_OUTCOMES_SCHEMA), context)


def _saving(path: Path, following: SyncState, times: int) -> tuple[Any, ...]:
    """`_measure` of a night's `save_state` of `following` (`_following`), each time into a
    fresh copy of the history and its kept baseline file."""
    measured = []
    for attempt in range(times):
        history = path / f"saving-{attempt}.duckdb"
        shutil.copyfile(path / "history.duckdb", history)
        history.chmod(PRIVATE_FILE)
        kept = path / "history.duckdb.baselines"
        if kept.exists():
            shutil.copytree(kept, history.with_name(history.name + ".baselines"))
        store = HistoryStore(history)
        store.begin_run(run_id="night", connection=_CONNECTION, mode="apply", started_at=RUN_AT)
        measured.append(
            _measure(
                lambda store=store: store.save_state(
                    connection=_CONNECTION, run_id="night", state=following
                )
            )
        )
    return (
        None,
        statistics.median(m[1] for m in measured),
        statistics.median(m[2] for m in measured),
        max(m[3] for m in measured),
        measured[0][4],
    )


def _steps(run: Callable[[], Any], times: int, source: str) -> str:
    """The table of the engine's steps, wall and CPU seconds per run (mean of `times` runs)."""
    with timed_steps() as steps:
        started, started_cpu = time.perf_counter(), time.process_time()
        for _ in range(times):
            run()
        wall, cpu = time.perf_counter() - started, time.process_time() - started_cpu
    rows = [(label, steps.wall[label], steps.cpu[label]) for label in steps.wall]
    rows.append(
        ("the rest of plan_run", wall - sum(steps.wall.values()), cpu - sum(steps.cpu.values()))
    )
    rows.append(("**whole plan_run**", wall, cpu))
    return (
        f"\nSteps of the engine, baseline scanned ({source}), mean of {times} runs\n\n"
        "| step | wall (s) | CPU (s) |\n|---|---:|---:|\n"
        + "".join(f"| {label} | {w / times:.3f} | {c / times:.3f} |\n" for label, w, c in rows)
    )


#: Above this size the plain-Python planner (minutes at a million users) runs only on request.
_PYTHON_UP_TO = 100_000


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line's options (`main`'s)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--differing-share", type=float, default=0.02)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3, help="runs per phase (median time)")
    parser.add_argument(
        "--python",
        action=argparse.BooleanOptionalAction,
        default=None,
        help=f"run the plain-Python planner too (default: up to {_PYTHON_UP_TO:,} users)",
    )
    parser.add_argument(
        "--shuffled",
        action="store_true",
        help="Entra users, links and baseline rows each in an order of their own, not Huma's",
    )
    parser.add_argument("--stages", action="store_true", help="also time the engine's steps")
    parser.add_argument(
        "--history",
        action="store_true",
        help="also plan with the state a run loads from a history file (export timed apart)",
    )
    parser.add_argument("--save", metavar="DIR", help="keep the engine's result in DIR/<users>/")
    parser.add_argument(
        "--expect", metavar="DIR", help="compare the engine's result with one kept in DIR/<users>/"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Per size: generate, plan each way, compare, print the table."""
    args = parse_args(argv)
    for users in args.users:
        run_size(users, args, sys.stdout)


if __name__ == "__main__":
    main()

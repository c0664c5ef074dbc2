"""Benchmark: plan 1,000,000 linked users with the engine and with a plain-Python planner.

    uv run python -m benchmarks.engine [--users N] [--differing-share S] [--seed K]

Both run in this process, on the same snapshots and kept state (each frame written to Arrow IPC
and read back, as if loaded from the history database): the engine's `plan_run`, then a
straightforward dict-and-loop implementation of the same rules for linked users (validation,
the three-way table, direction and position rules, address unit, blocks, uniqueness, grouping,
change ids). The two plans are compared row for row (change id and status). Peak memory is the
process's peak resident set during each phase (Linux `VmHWM`, reset between phases), inputs
included. Not a test: it prints a table.
"""

from __future__ import annotations

import argparse
import gc
import io
import re
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from reconcile.builders import RUN_AT
from reconcile.context import RunContext
from reconcile.engine import plan_run
from reconcile.fields import UNITS, unit_text
from reconcile.frames import ENTRA_USERS_SCHEMA, HUMA_USERS_SCHEMA
from reconcile.policy import Policy
from reconcile.reference import plan_linked
from reconcile.state import BASELINE_SCHEMA, LINKS_SCHEMA, empty_state

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


def _reloaded(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame as the history database hands it back: own buffers, nothing shared."""
    buffer = io.BytesIO()
    frame.write_ipc(buffer)
    buffer.seek(0)
    return pl.read_ipc(buffer)


def generate(n: int, share: float, seed: int) -> tuple[pl.DataFrame, pl.DataFrame, Any]:
    """Linked snapshots where about `share` of all field values differ, and the kept state."""
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
    state = empty_state()
    state = type(state)(
        **{**state.__dict__, "links": _reloaded(links), "baseline": _reloaded(baseline)}
    )
    return _reloaded(huma), _reloaded(entra), state


def _memory_mb(field: str) -> float:
    status = Path("/proc/self/status").read_text()
    return int(re.search(rf"{field}:\s+(\d+) kB", status).group(1)) / 1024  # type: ignore[union-attr]


def _measure(run: Callable[[], Any]) -> tuple[Any, float, float, float]:
    """`(result, seconds, peak MB, MB resident before)` of one phase."""
    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")  # resets the peak (VmHWM) to the current RSS
    before = _memory_mb("VmRSS")
    started = time.perf_counter()
    result = run()
    return result, time.perf_counter() - started, _memory_mb("VmHWM"), before


def _python_plan(huma: pl.DataFrame, entra: pl.DataFrame, state: Any, policy: Policy) -> Any:
    rows = (huma.to_dicts(), entra.to_dicts(), state.links.to_dicts(), state.baseline.to_dicts())
    return plan_linked(*rows, policy)


def main(argv: list[str] | None = None) -> None:
    """Generate, plan twice, compare, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--differing-share", type=float, default=0.02)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    out = sys.stdout
    out.write(
        f"generating {args.users:,} linked users, {args.differing_share:.0%} of fields differ\n"
    )
    huma, entra, state = generate(args.users, args.differing_share, args.seed)
    policy = Policy()
    context = RunContext(run_at=datetime.now(UTC), verified_domains=frozenset({"example.com"}))
    engine, engine_s, engine_peak, engine_before = _measure(
        lambda: plan_run(huma, entra, state, policy, context)
    )
    python, python_s, python_peak, python_before = _measure(
        lambda: _python_plan(huma, entra, state, policy)
    )
    agree = sorted(engine.sync_plan.select("change_id", "status").rows()) == sorted(
        (row["change_id"], row["status"]) for row in python
    )
    diffs = engine.field_diffs.height
    out.write(
        f"{diffs:,} differing fields ({diffs / (args.users * len(UNITS)):.2%}), "
        f"{engine.sync_plan.height:,} plan rows; plans agree row for row: {agree}\n\n"
        f"| planner | time (s) | peak RSS (MB) | RSS before (MB) |\n"
        f"|---|---:|---:|---:|\n"
        f"| engine (Polars) | {engine_s:.2f} | {engine_peak:,.0f} | {engine_before:,.0f} |\n"
        f"| plain Python (dicts, incl. frame → dict) | {python_s:.2f} | {python_peak:,.0f} "
        f"| {python_before:,.0f} |\n\n"
        f"engine: {python_s / engine_s:.1f}x faster\n"
    )


if __name__ == "__main__":
    main()

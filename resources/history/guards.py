"""What a run's guards learn from the history (SPEC §7): the snapshot sizes to compare with, and
the guards still tripped.

A run a guard stopped proves nothing about the directory: its sizes never become the
comparison (a shrink seen twice is still a shrink), and the guards that stopped it are held for
the next run, which they stop too, until a run overrides them. A run's guard trips are those its
plan recorded (`guard_trips`); a run that recorded a plan without an enforced trip wrote or was
let through.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import polars as pl

from reconcile.state import HeldTrip
from reconcile.vocabulary import ENTRA, HUMA
from resources.history.base import StoreBase

#: Runs of the connection begun before the asking run (all of them when it names none).
_EARLIER: Final = (
    "connection = ? AND run_id IS DISTINCT FROM ? AND started_at < coalesce("
    "(SELECT started_at FROM runs WHERE run_id = ?), 'infinity'::TIMESTAMPTZ)"
)
#: Whether the run `r` was stopped by a guard: it recorded a trip nobody overrode.
_STOPPED: Final = (
    "EXISTS (SELECT 1 FROM guard_trips AS g WHERE g.run_id = r.run_id AND NOT g.overridden)"
)


@dataclass(frozen=True)
class PreviousSnapshots:
    """What the engine's snapshot guard compares a new snapshot with (`RunContext`).

    Attributes:
        huma_count: Rows of the latest complete Huma snapshot of a run that was not stopped by
            a guard, before the asking run (None if none).
        entra_count: The same for Entra.
        last_run_id: The latest earlier run that recorded a snapshot.
        last_huma_partial: Whether that run's Huma snapshot was partial.
        last_entra_partial: Whether that run's Entra snapshot was partial.
    """

    huma_count: int | None
    entra_count: int | None
    last_run_id: str | None
    last_huma_partial: bool
    last_entra_partial: bool


def _latest_complete(runs: pl.DataFrame, side: str) -> int | None:
    """The size of the newest complete snapshot of `side` among runs not stopped (newest first)."""
    complete = runs.filter(
        ~pl.col("stopped")
        & pl.col(f"{side}_count").is_not_null()
        & ~pl.col(f"{side}_partial").fill_null(value=False)
    )
    return int(complete.item(0, f"{side}_count")) if complete.height else None


class GuardsMixin(StoreBase):
    """The comparison sizes and the held trips a new run's guards start from."""

    def previous_snapshots(
        self, *, connection: str, before_run_id: str | None = None
    ) -> PreviousSnapshots:
        """The snapshot sizes a new run's snapshot guard compares with.

        Args:
            connection: The connection.
            before_run_id: The run asking: only runs begun before it count (default: all).

        Returns:
            Per side, the size of the latest complete snapshot of a full run no guard stopped
            (a targeted run read a few users on purpose: its sizes say nothing); and
            whether the latest snapshot was partial (a partial one is never the comparison: it
            would hide a shrink).
        """
        with self._read() as conn:
            earlier = conn.sql(
                "SELECT run_id, huma_count, entra_count, huma_partial, entra_partial, "
                f"{_STOPPED} AS stopped FROM runs AS r WHERE {_EARLIER} AND scope = 'full' "
                "ORDER BY started_at DESC, run_id DESC",
                params=[connection, before_run_id, before_run_id],
            ).pl()
        recorded = earlier.filter(
            pl.col("huma_count").is_not_null() | pl.col("entra_count").is_not_null()
        )
        last = recorded.row(0, named=True) if recorded.height else {}
        return PreviousSnapshots(
            huma_count=_latest_complete(earlier, HUMA),
            entra_count=_latest_complete(earlier, ENTRA),
            last_run_id=last.get("run_id"),
            last_huma_partial=bool(last.get("huma_partial")),
            last_entra_partial=bool(last.get("entra_partial")),
        )

    def held_guard_trips(
        self, *, connection: str, before_run_id: str | None = None
    ) -> tuple[HeldTrip, ...]:
        """The guards still tripped for a new run: those that stopped the latest earlier run
        that recorded a plan (a dry run records none), when nobody overrode them there.

        Args:
            connection: The connection.
            before_run_id: The run asking: only runs begun before it count (default: all).

        Returns:
            One `HeldTrip` per guard and side, with when it first tripped (a trip kept before
            that was recorded takes its run's start).
        """
        with self._read() as conn:
            rows = conn.sql(
                "WITH latest AS (SELECT run_id, started_at FROM runs AS r "
                f"WHERE {_EARLIER} AND plan_rows IS NOT NULL "
                "ORDER BY started_at DESC, run_id DESC LIMIT 1) "
                "SELECT g.guard, g.side, g.observed, g.threshold, g.message, "
                "coalesce(g.tripped_at, latest.started_at) AS tripped_at "
                "FROM guard_trips AS g JOIN latest USING (run_id) WHERE NOT g.overridden "
                "ORDER BY g.guard, g.side NULLS LAST",
                params=[connection, before_run_id, before_run_id],
            ).fetchall()
        return tuple(HeldTrip(*row) for row in rows)

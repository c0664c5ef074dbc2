"""The two guards of SPEC §7, which stop a run's writes and say why.

* Snapshot guard: a side's snapshot came back partial, or has more than the policy's share fewer
  users than in the previous run. The snapshot cannot be trusted (users "missing" from it would
  look deleted), so every row that could still be written or asked about is blocked.
* Mass-change guard: the run would write to more than the policy's share of the users in scope
  (and more than its minimum count). Rows that would be written are blocked; questions to people
  stay pending.

A guard stays tripped: one that stopped an earlier run and was not overridden since
(`RunContext.held_trips`) keeps stopping the writes of every later run, whatever that run's own
numbers say, until a person overrides it. A guard a person overrode for this run
(`RunContext.guard_overrides`) is reported with who and why, not enforced; that run is let through,
but only as far as the person saw: when the guard held, an override covers a share of changed
users (mass change) or a shrink no larger than the held trip showed. A run that would go further
is stopped again and says so; its own figure is then what the next override covers.

Whether or not a person lets a partial snapshot through, nobody is created on its side: a user
absent from it may be there, unread.
"""

from __future__ import annotations

import polars as pl

from reconcile.outputs import GUARD_TRIPS_SCHEMA
from reconcile.policy import Policy
from reconcile.state import HeldTrip, RunContext
from reconcile.vocabulary import (
    AWAITING_DECISION,
    BLOCKED,
    CREATE_ENTRA,
    CREATE_HUMA_ACTIONS,
    ENTRA,
    GUARD_MASS_CHANGE,
    GUARD_SNAPSHOT_PARTIAL,
    GUARD_SNAPSHOT_SHRINK,
    HUMA,
    WRITABLE_STATUSES,
)


def snapshot_trips(
    *, huma_count: int, entra_count: int, policy: Policy, context: RunContext
) -> list[dict[str, object]]:
    """The snapshot guard's trips (`GUARD_TRIPS_SCHEMA` rows) for this run's snapshot sizes."""
    trips: list[dict[str, object]] = []
    sides = (
        (HUMA, huma_count, context.previous_huma_count, context.huma_partial),
        (ENTRA, entra_count, context.previous_entra_count, context.entra_partial),
    )
    for side, count, previous, partial in sides:
        if partial:
            trips.append(
                {
                    "guard": GUARD_SNAPSHOT_PARTIAL,
                    "side": side,
                    "observed": float(count),
                    "threshold": None,
                    "message": f"the {side} snapshot is partial ({count} users read)",
                }
            )
        if previous and not context.targeted:  # a targeted run reads a few users on purpose
            shrink = (previous - count) / previous
            if shrink > policy.snapshot_max_shrink:
                trips.append(
                    {
                        "guard": GUARD_SNAPSHOT_SHRINK,
                        "side": side,
                        "observed": shrink,
                        "threshold": policy.snapshot_max_shrink,
                        "message": (
                            f"the {side} snapshot shrank from {previous} to {count} users "
                            f"({shrink:.1%}, more than {policy.snapshot_max_shrink:.1%})"
                        ),
                    }
                )
    return trips


def mass_change_trips(
    rows: pl.DataFrame, *, users_in_scope: int, policy: Policy
) -> list[dict[str, object]]:
    """The mass-change guard's trip, if the writable rows touch too many users.

    Args:
        rows: The plan rows.
        users_in_scope: Everyone the run considered: linked pairs plus users on one side only.
        policy: Thresholds.

    Returns:
        Zero or one `GUARD_TRIPS_SCHEMA` row.
    """
    writable = rows.filter(pl.col("status").is_in(WRITABLE_STATUSES))
    changed = writable.select(pl.coalesce("huma_id", "entra_id").n_unique()).item()
    share = changed / users_in_scope if users_in_scope else 0.0
    if changed <= policy.mass_change_min_users or share <= policy.mass_change_max_share:
        return []
    return [
        {
            "guard": GUARD_MASS_CHANGE,
            "side": None,
            "observed": share,
            "threshold": policy.mass_change_max_share,
            "message": (
                f"the run would change {changed} of {users_in_scope} users ({share:.1%}, more "
                f"than {policy.mass_change_max_share:.1%})"
            ),
        }
    ]


def _still_tripped(trip: HeldTrip) -> str:
    """A held trip's message, saying it still stops the writes (said once, however many runs
    it was carried through)."""
    note = (
        f"; tripped on {trip.tripped_at:%Y-%m-%d %H:%M} UTC and still stopping the writes until "
        "a person overrides it"
    )
    return trip.message if trip.message.endswith(note) else trip.message + note


def _with_held(trips: list[dict[str, object]], context: RunContext) -> list[dict[str, object]]:
    """This run's trips plus the held ones it did not trip again; each stamped with when the
    guard first tripped (a fresh trip of a held guard and side keeps the held stamp)."""
    held = {(trip.guard, trip.side): trip for trip in context.held_trips}
    fresh = {(trip["guard"], trip["side"]): trip for trip in trips}
    stamped = [
        {**trip, "tripped_at": held[key].tripped_at if key in held else context.run_at}
        for key, trip in fresh.items()
    ]
    carried = [
        {
            "guard": trip.guard,
            "side": trip.side,
            "observed": trip.observed,
            "threshold": trip.threshold,
            "message": _still_tripped(trip),
            "tripped_at": trip.tripped_at,
        }
        for key, trip in held.items()
        if key not in fresh
    ]
    return stamped + carried


def enforce(
    rows: pl.DataFrame, trips: list[dict[str, object]], context: RunContext
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Block the rows the tripped or still-held, non-overridden guards stop.

    Args:
        rows: The plan rows.
        trips: This run's trips, from `snapshot_trips` and `mass_change_trips`.
        context: The run's held trips and overrides (with who and why).

    Returns:
        `(rows, guard_trips)`: rows with guard blocks applied, and the trips as a frame.
    """
    by, why = context.overridden_by, context.override_reason
    seen = {(held.guard, held.side): held.observed for held in context.held_trips}
    records = []
    for trip in _with_held(trips, context):
        beyond = _beyond_what_was_seen(trip, seen)
        overridden = trip["guard"] in context.guard_overrides and beyond is None
        message = trip["message"]
        if overridden:
            message = f"{message} (overridden by {by}: {why})"
        elif beyond and trip["guard"] in context.guard_overrides:
            message = f"{message} ({beyond})"
        records.append(
            {
                **trip,
                "message": message,
                "overridden": overridden,
                "overridden_by": by if overridden else None,
                "override_reason": why if overridden else None,
            }
        )
    frame = pl.DataFrame(records, schema=GUARD_TRIPS_SCHEMA)
    enforced = frame.filter(~pl.col("overridden"))
    snapshot = enforced.filter(pl.col("guard") != GUARD_MASS_CHANGE)
    mass = enforced.filter(pl.col("guard") == GUARD_MASS_CHANGE)
    for stopped, statuses in (
        (snapshot, (*WRITABLE_STATUSES, *AWAITING_DECISION)),
        (mass, WRITABLE_STATUSES),
    ):
        if stopped.height == 0:
            continue
        why_blocked = "guard: " + "; ".join(stopped.get_column("message").to_list())
        hit = pl.col("status").is_in(statuses)
        rows = rows.with_columns(
            blocked_reason=pl.when(hit)
            .then(pl.lit(why_blocked))
            .otherwise(pl.col("blocked_reason")),
            status=pl.when(hit).then(pl.lit(BLOCKED)).otherwise(pl.col("status")),
        )
    return rows, frame


def _beyond_what_was_seen(
    trip: dict[str, object], seen: dict[tuple[object, object], float | None]
) -> str | None:
    """Why an override does not cover `trip` (None when it does): the guard held on another side
    only (the person saw that side, not this one), or a share of changed users or a shrink larger
    than the held trip the person overrode showed.

    Args:
        trip: This run's trip (or a held one carried).
        seen: What each held trip showed, by guard and side.
    """
    guard, side = trip["guard"], trip["side"]
    if (guard, side) not in seen:
        if any(held_guard == guard for held_guard, _ in seen):
            return (
                f"not overridden: the override answers the stopped run, which showed this guard "
                f"on another side, not on the {side} snapshot; it waits for an override of its own"
            )
        return None  # no trip of this guard held: an override given in advance covers it
    observed, seen_observed = trip["observed"], seen[(guard, side)]
    if guard not in (GUARD_MASS_CHANGE, GUARD_SNAPSHOT_SHRINK) or seen_observed is None:
        return None
    if not isinstance(observed, float) or observed <= seen_observed:
        return None
    return (
        f"not overridden: the override covers at most {seen_observed:.1%}, what the stopped run "
        "showed; this run goes further, so it waits for an override of its own"
    )


def block_creates_on_partial_sides(rows: pl.DataFrame, context: RunContext) -> pl.DataFrame:
    """Block the creates on a side whose snapshot is partial (SPEC §7).

    A user absent from a partial snapshot may be there, unread: creating them would make a
    duplicate. Blocked whether or not a person lets the partial snapshot through.
    """
    for partial, side, actions in (
        (context.huma_partial, HUMA, CREATE_HUMA_ACTIONS),
        (context.entra_partial, ENTRA, (CREATE_ENTRA,)),
    ):
        if not partial:
            continue
        hit = pl.col("action").is_in(actions) & pl.col("status").is_in(
            (*WRITABLE_STATUSES, *AWAITING_DECISION)
        )
        why = f"the {side} snapshot is partial: the user may be there, unread"
        rows = rows.with_columns(
            blocked_reason=pl.when(hit).then(pl.lit(why)).otherwise(pl.col("blocked_reason")),
            status=pl.when(hit).then(pl.lit(BLOCKED)).otherwise(pl.col("status")),
        )
    return rows

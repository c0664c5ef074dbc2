"""What a run is planned with besides the two snapshots: the state kept between runs (links,
baseline, activation, known deletions, decisions) and the run's own facts (`RunContext`: time,
tenant, previous sizes, the guards still tripped from earlier runs, a person's override).

The history database persists each frame 1:1 (same columns, same types) and hands them back as a
`SyncState`; `empty_state()` is the state of a connection's first run. Values in the baseline and
the decisions are canonical texts (see `reconcile.fields`): dates `YYYY-MM-DD`, the address as one
unit `address` holding compact sorted JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

import polars as pl

from reconcile.frames import empty_frame, require_schema
from reconcile.vocabulary import GUARDS

_TIMESTAMP: Final = pl.Datetime("us", "UTC")

#: One row per linked pair: the same person in both systems (SPEC §4). Removed after the run that
#: reports one of its accounts deleted (a later account with the email is a new pair), and moved
#: to the new Huma id when a deleted Huma user is re-created.
#: `linked_by`: `email` (matched), or the plan action that created the other side.
LINKS_SCHEMA: Final = pl.Schema(
    {
        "huma_id": pl.String(),
        "entra_id": pl.String(),
        "linked_at": _TIMESTAMP,
        "linked_by": pl.String(),
    }
)

#: One row per linked Huma user and field (unit), once both sides' values have been seen.
#: `has_agreed` false means "no B yet" (then `agreed` is null); true with a null `agreed` means
#: both sides agreed on an empty value. `huma_seen`/`entra_seen`: each side's value when last seen
#: (the position rule of SPEC §5 and the deleted-user rule of §6 read them). Links are 1:1, so the
#: Huma id names the link.
BASELINE_SCHEMA: Final = pl.Schema(
    {
        "huma_id": pl.String(),
        "field": pl.String(),
        "has_agreed": pl.Boolean(),
        "agreed": pl.String(),
        "huma_seen": pl.String(),
        "entra_seen": pl.String(),
    }
)

#: Zero rows before the connection's first completed run; one row after.
ACTIVATION_SCHEMA: Final = pl.Schema({"activated_at": _TIMESTAMP})

#: One row per linked Huma user found missing from a complete Huma snapshot (deleted in Huma).
DELETED_HUMA_USERS_SCHEMA: Final = pl.Schema(
    {
        "huma_id": pl.String(),
        "entra_id": pl.String(),
        "email_key": pl.String(),
        "detected_at": _TIMESTAMP,
    }
)

#: One row per decision a person made on a plan row. `verdict`: `approve` / `reject`; `winner`
#: (`huma` / `entra`) names the side that wins a `resolve_conflict` row. `huma_values` and
#: `entra_values` are the row's values when it was decided (JSON, as in the plan); when either
#: side has moved since, the decision is stale and the row is asked again. `comment`: why, in
#: the decider's words (optional; kept for the history, never read by the engine).
DECISIONS_SCHEMA: Final = pl.Schema(
    {
        "change_id": pl.String(),
        "action": pl.String(),
        "huma_id": pl.String(),
        "entra_id": pl.String(),
        "fields": pl.List(pl.String()),
        "verdict": pl.String(),
        "winner": pl.String(),
        "huma_values": pl.String(),
        "entra_values": pl.String(),
        "decided_at": _TIMESTAMP,
        "decided_by": pl.String(),
        "comment": pl.String(),
    }
)


@dataclass(frozen=True)
class SyncState:
    """Everything a connection remembers between runs.

    Attributes:
        links: `LINKS_SCHEMA`.
        baseline: `BASELINE_SCHEMA`. It may be a `LazyFrame` over storage (seven rows per linked
            user add up): planning then reads only the rows of users whose fields differ.
        activation: `ACTIVATION_SCHEMA`.
        deleted_huma_users: `DELETED_HUMA_USERS_SCHEMA`.
        decisions: `DECISIONS_SCHEMA`.
    """

    links: pl.DataFrame
    baseline: pl.DataFrame | pl.LazyFrame
    activation: pl.DataFrame
    deleted_huma_users: pl.DataFrame
    decisions: pl.DataFrame

    def __post_init__(self) -> None:
        """Refuse frames that do not match their schemas."""
        for name, schema in STATE_SCHEMAS.items():
            require_schema(getattr(self, name), schema, f"state.{name}")

    @property
    def activated(self) -> bool:
        """Whether a run has completed before (false on the first run)."""
        return self.activation.height > 0


STATE_SCHEMAS: Final = {
    "links": LINKS_SCHEMA,
    "baseline": BASELINE_SCHEMA,
    "activation": ACTIVATION_SCHEMA,
    "deleted_huma_users": DELETED_HUMA_USERS_SCHEMA,
    "decisions": DECISIONS_SCHEMA,
}


def baseline_rows(baseline: pl.DataFrame | pl.LazyFrame, huma_ids: pl.Series) -> pl.DataFrame:
    """The baseline rows of the given Huma users, read without materialising the rest.

    Args:
        baseline: The kept baseline, eager or lazy.
        huma_ids: The users wanted.

    Returns:
        Their rows (`BASELINE_SCHEMA`).
    """
    wanted = huma_ids.unique()
    # A first cut on the ids' 64-bit hashes (cheaper than looking up each long string), then the
    # exact test on what is left: the same rows. The cut is pushed into a lazy scan, which reads
    # and filters row group by row group: the whole baseline is never loaded (measured at seven
    # million rows: tens of MB above the result; a third less CPU than the streaming engine).
    maybe = pl.col("huma_id").hash().is_in(wanted.hash().implode())
    rows = baseline.lazy().filter(maybe).collect()
    return rows.filter(pl.col("huma_id").is_in(wanted.implode()))


def empty_state() -> SyncState:
    """The state of a connection that has never run: no links, no baseline, no decisions."""
    return SyncState(**{name: empty_frame(schema) for name, schema in STATE_SCHEMAS.items()})


@dataclass(frozen=True)
class HeldTrip:
    """A guard that stopped an earlier run and has not been overridden since (SPEC §7).

    Attributes:
        guard: Its name (`vocabulary.GUARDS`).
        side: `huma` / `entra` for a snapshot guard, None for the mass-change guard.
        observed: What it measured when it tripped.
        threshold: The policy's limit then.
        message: Why it tripped, as first reported.
        tripped_at: When the run that first tripped it ran (timezone-aware).
    """

    guard: str
    side: str | None
    observed: float | None
    threshold: float | None
    message: str
    tripped_at: datetime


@dataclass(frozen=True)
class RunContext:
    """The facts of one run that are not data frames.

    Attributes:
        run_at: When the run started (timezone-aware); stamps new links, deletions, activation.
        verified_domains: The Entra tenant's verified domains; users are created in Entra only
            with an address on one of them (SPEC §6). Compared case-insensitively.
        previous_huma_count: Rows of the Huma snapshot the snapshot guard compares with: the
            latest complete one of a run that wrote or was let through (None on a first run).
        previous_entra_count: The same for Entra, guests included.
        huma_partial: The Huma client could not read every user (paging stopped early).
        entra_partial: The same for Graph.
        held_trips: Guards that stopped an earlier run and were not overridden since: they keep
            stopping this run's writes whatever its own numbers say.
        guard_overrides: Guards a person explicitly overrode for this run (names from
            `vocabulary.GUARDS`): they are still reported, but no longer stop the writes.
        overridden_by: Who overrode them (required with an override).
        override_reason: Why, in their words (required with an override).
        overrides_not_taken: Guards the run asked to let through on a run no person launched
            for it (a re-execution or retry of another run, a schedule's, sensor's or backfill's
            run): they are enforced as if not asked, and their trips say why not.
        why_not_taken: Why, in words (required with `overrides_not_taken`).
        targeted: The run read only the users some webhooks named (both snapshots hold just
            them): everyone else was not read. Nobody is missing, left or deleted; the snapshot
            sizes are not compared; Entra-only users wait for a full run; the mass-change
            guard counts the run's changes against the last full Huma snapshot's size.
    """

    run_at: datetime
    verified_domains: frozenset[str] = frozenset()
    previous_huma_count: int | None = None
    previous_entra_count: int | None = None
    huma_partial: bool = False
    entra_partial: bool = False
    held_trips: tuple[HeldTrip, ...] = ()
    guard_overrides: frozenset[str] = frozenset()
    overridden_by: str | None = None
    override_reason: str | None = None
    targeted: bool = False
    overrides_not_taken: frozenset[str] = frozenset()
    why_not_taken: str | None = None

    def __post_init__(self) -> None:
        """Reject a naive timestamp, unknown guard names and an override without who and why;
        lower-case the domains."""
        if self.run_at.tzinfo is None:
            raise ValueError("run_at must be timezone-aware")
        unknown = sorted(
            (
                {*self.guard_overrides, *self.overrides_not_taken}
                | {trip.guard for trip in self.held_trips}
            )
            - set(GUARDS)
        )
        if unknown:
            raise ValueError(f"unknown guards {unknown}; known: {list(GUARDS)}")
        if self.guard_overrides and not all(
            (text or "").strip() for text in (self.overridden_by, self.override_reason)
        ):
            raise ValueError("an override of a guard is recorded with who and why: name both")
        if self.overrides_not_taken and not (self.why_not_taken or "").strip():
            raise ValueError("an override not taken says why not")
        domains = frozenset(domain.lower() for domain in self.verified_domains)
        object.__setattr__(self, "verified_domains", domains)

"""What a run knows besides the two snapshots and the kept state: time, tenant, previous sizes,
the guards still tripped from earlier runs, and a person's override."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from reconcile.vocabulary import GUARDS


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

    def __post_init__(self) -> None:
        """Reject a naive timestamp, unknown guard names and an override without who and why;
        lower-case the domains."""
        if self.run_at.tzinfo is None:
            raise ValueError("run_at must be timezone-aware")
        unknown = sorted(
            ({*self.guard_overrides} | {trip.guard for trip in self.held_trips}) - set(GUARDS)
        )
        if unknown:
            raise ValueError(f"unknown guards {unknown}; known: {list(GUARDS)}")
        if self.guard_overrides and not all(
            (text or "").strip() for text in (self.overridden_by, self.override_reason)
        ):
            raise ValueError("an override of a guard is recorded with who and why: name both")
        domains = frozenset(domain.lower() for domain in self.verified_domains)
        object.__setattr__(self, "verified_domains", domains)

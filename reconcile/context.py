"""What a run knows besides the two snapshots and the kept state: time, tenant, previous sizes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from reconcile.vocabulary import GUARDS


@dataclass(frozen=True)
class RunContext:
    """The facts of one run that are not data frames.

    Attributes:
        run_at: When the run started (timezone-aware); stamps new links, deletions, activation.
        verified_domains: The Entra tenant's verified domains; users are created in Entra only
            with an address on one of them (SPEC §6). Compared case-insensitively.
        previous_huma_count: Rows of the previous run's Huma snapshot (None on a first run).
        previous_entra_count: Rows of the previous run's Entra snapshot, guests included.
        huma_partial: The Huma client could not read every user (paging stopped early).
        entra_partial: The same for Graph.
        guard_overrides: Guards a person explicitly overrode for this run (names from
            `vocabulary.GUARDS`): they are still reported, but no longer stop the writes.
    """

    run_at: datetime
    verified_domains: frozenset[str] = frozenset()
    previous_huma_count: int | None = None
    previous_entra_count: int | None = None
    huma_partial: bool = False
    entra_partial: bool = False
    guard_overrides: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        """Reject a naive timestamp and unknown guard names; lower-case the domains."""
        if self.run_at.tzinfo is None:
            raise ValueError("run_at must be timezone-aware")
        unknown = sorted(set(self.guard_overrides) - set(GUARDS))
        if unknown:
            raise ValueError(f"unknown guards {unknown}; known: {list(GUARDS)}")
        domains = frozenset(domain.lower() for domain in self.verified_domains)
        object.__setattr__(self, "verified_domains", domains)

"""How far apart a generated world's two systems are: the drift shares and their manifest keys.

Each share is a fraction of the world's `users` people. The number of people in a category is
`floor(share * users + 0.5)`; for the `duplicate_*` shares it is the number of pairs (two people
each). Categories fall into three families that never overlap within a family:

- **presence**: people on one side only (`huma_only`, `private_email`, `entra_only`, `guests`,
  and the second holder of a duplicated email, who is in Huma only);
- **data**: one difference in the mapped fields of a person on both sides (`differs:*`,
  `missing:phone:*`, `email_case`, `non_iso_country`, `long_employment_id`, `duplicate:*`);
- **status**: `deactivated` in Huma, `disabled` in Entra, `on_prem_synced` in Entra.

A person on both sides carries at most one data drift and at most one status, drawn
independently, so a deactivated or synced person may also differ in one field (which is how a
run meets locked users and on-premises-mastered properties).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

#: Data drift in one mapped field (SPEC §3), by manifest key, in the order they are assigned.
FIELD_DRIFT_KEYS: tuple[str, ...] = (
    "differs:given_name",
    "differs:family_name",
    "differs:phone",
    "differs:address",
    "differs:employment_id",
    "differs:hire_date",
    "differs:job_title",
)
OTHER_DATA_KEYS: tuple[str, ...] = (
    "missing:phone:huma",
    "missing:phone:entra",
    "email_case",
    "non_iso_country",
    "long_employment_id",
)
DUPLICATE_KEYS: tuple[str, ...] = (
    "duplicate:email",
    "duplicate:phone",
    "duplicate:employment_id",
)
PRESENCE_KEYS: tuple[str, ...] = ("huma_only", "private_email", "entra_only", "guests")
STATUS_KEYS: tuple[str, ...] = ("deactivated", "disabled", "on_prem_synced")
#: Facts of the realistic baseline (not drift, present in every world), for tests to find.
BASELINE_KEYS: tuple[str, ...] = (
    "positions:ended",
    "positions:upcoming",
    "name:apostrophe",
)
MANIFEST_KEYS: tuple[str, ...] = (
    PRESENCE_KEYS
    + FIELD_DRIFT_KEYS
    + OTHER_DATA_KEYS
    + DUPLICATE_KEYS
    + STATUS_KEYS
    + BASELINE_KEYS
)


@dataclass(frozen=True, slots=True)
class Drift:
    """Shares of the people who carry each drift; the defaults look like a mid-sized company."""

    huma_only: float = 0.01
    private_email: float = 0.005
    entra_only: float = 0.01
    guests: float = 0.01
    differs_given_name: float = 0.02
    differs_family_name: float = 0.02
    differs_phone: float = 0.02
    differs_address: float = 0.02
    differs_employment_id: float = 0.02
    differs_hire_date: float = 0.02
    differs_job_title: float = 0.02
    missing_phone_huma: float = 0.005
    missing_phone_entra: float = 0.005
    email_case: float = 0.01
    non_iso_country: float = 0.005
    long_employment_id: float = 0.001
    duplicate_email: float = 0.001
    duplicate_phone: float = 0.001
    duplicate_employment_id: float = 0.001
    deactivated: float = 0.02
    disabled: float = 0.005
    on_prem_synced: float = 0.01

    def __post_init__(self) -> None:
        for field in fields(self):
            share = getattr(self, field.name)
            if not 0.0 <= share <= 1.0:
                raise ValueError(f"drift share {field.name}={share} is not between 0 and 1")

    @classmethod
    def none(cls) -> Drift:
        """A perfectly synced world: every person on both sides, every mapped field equal."""
        return cls(**{field.name: 0.0 for field in fields(cls)})

    def count(self, key: str, users: int) -> int:
        """How many people (pairs, for `duplicate:*`) of `users` carry the drift `key`."""
        return math.floor(getattr(self, drift_attribute(key)) * users + 0.5)


def drift_attribute(key: str) -> str:
    """The `Drift` attribute of manifest key `key` (`missing:phone:huma` → `missing_phone_huma`)."""
    return key.replace(":", "_")

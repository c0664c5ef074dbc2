"""Settings of the Entra/Graph emulator: the shared ones plus Graph's throttling budget.

Changeable while running through `PATCH /_emulator/settings`, e.g.
`{"throttling": {"resource_units_per_10s": 50, "writes_per_150s": 10}}`.
"""

from __future__ import annotations

import dataclasses

from emulators.settings import EmulatorSettings


@dataclasses.dataclass
class ThrottlingSettings:
    """Graph's identity-and-access budget per application and tenant (token buckets)."""

    enabled: bool = True
    #: Resource units per 10 s; None sizes it by the tenant's users as Graph does
    #: (<50 users: 3,500; 50-500: 5,000; >500: 8,000).
    resource_units_per_10s: int | None = None
    #: Write requests per 150 s.
    writes_per_150s: int = 3000


@dataclasses.dataclass
class GraphSettings(EmulatorSettings):
    """The emulator's settings (see `emulators/README.md`, "Entra ID / Graph")."""

    throttling: ThrottlingSettings = dataclasses.field(default_factory=ThrottlingSettings)
    #: Refuse `employeeHireDate` writes from app-only tokens with 403, as the user-update page
    #: documents; off by default because many tenants accept them.
    deny_app_only_hire_date_writes: bool = False
    #: How long a device code waits for a person to sign in (Entra: 15 minutes), emulated s.
    device_code_lifetime_seconds: float = 900.0
    #: The polling `interval` a device code asks for (Entra: 5), emulated s; at least 1 real s.
    device_code_interval_seconds: float = 5.0
    #: A refresh token expires after this long unused (Entra: 90 days), emulated s.
    refresh_token_lifetime_seconds: float = 7_776_000.0

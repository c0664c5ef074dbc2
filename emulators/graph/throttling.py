"""Graph's identity-and-access throttling: resource-unit and write token buckets per app+tenant.

Costs follow Graph's published table: listing users 2 RU, any other GET 1 RU, a write 1 RU plus
one write; `$select` takes 1 off, `$expand` adds 1, `$top` below 20 takes 1 off, never below 1.
A request that finds a bucket short is refused (429) without being charged, and told when the
bucket will hold enough. Buckets refill continuously on the emulator's clock, so `time_scale`
shrinks the windows.
"""

from __future__ import annotations

import dataclasses

from emulators.graph.settings import ThrottlingSettings

RU_WINDOW = 10.0
WRITE_WINDOW = 150.0


def resource_units_for(users: int) -> int:
    """Graph's RU budget per 10 s by tenant size (S <50 users, M 50-500, L >500)."""
    if users < 50:
        return 3500
    if users <= 500:
        return 5000
    return 8000


def request_cost(
    *, is_list: bool, is_write: bool, has_select: bool, top: int | None, has_expand: bool = False
) -> int:
    """The RU cost of one request."""
    cost = 2 if is_list else 1
    if has_select:
        cost -= 1
    if has_expand:
        cost += 1
    if top is not None and top < 20:
        cost -= 1
    return max(1, cost)


class _Bucket:
    def __init__(self, capacity: float, now: float) -> None:
        self.level = capacity
        self.stamp = now

    def refill(self, capacity: float, window: float, now: float) -> None:
        self.level = min(capacity, self.level + (now - self.stamp) * capacity / window)
        self.stamp = now

    def wait_for(self, amount: float, capacity: float, window: float) -> float:
        """Emulated seconds until the bucket holds `amount` (0 if it does now)."""
        missing = amount - self.level
        return 0.0 if missing <= 0 else missing * window / capacity


@dataclasses.dataclass(frozen=True)
class Verdict:
    """The throttle's answer for one request."""

    allowed: bool
    #: Emulated seconds to wait when refused.
    retry_after: float = 0.0
    #: `x-ms-throttle-information` when refused.
    information: str = ""
    #: `x-ms-throttle-scope` when refused.
    scope: str = ""
    #: Share of the RU budget in use after this request (for `x-ms-throttle-limit-percentage`).
    usage: float = 0.0


class Throttle:
    """All app+tenant buckets of one emulator."""

    def __init__(self) -> None:
        self._buckets: dict[tuple[str, str], tuple[_Bucket, _Bucket]] = {}

    def reset(self) -> None:
        self._buckets.clear()

    def charge(
        self,
        settings: ThrottlingSettings,
        *,
        tenant_id: str,
        app_id: str,
        tenant_users: int,
        cost: float,
        writes: float,
        now: float,
    ) -> Verdict:
        """Take `cost` RU and `writes` writes from the pair's buckets, or refuse taking either."""
        if not settings.enabled:
            return Verdict(True)
        ru_capacity = float(settings.resource_units_per_10s or resource_units_for(tenant_users))
        write_capacity = float(settings.writes_per_150s)
        # A request dearer than a whole bucket would wait forever; it takes the whole bucket.
        cost = min(cost, ru_capacity)
        writes = min(writes, write_capacity)
        key = (tenant_id, app_id)
        buckets = self._buckets.get(key)
        if buckets is None:
            buckets = self._buckets[key] = (_Bucket(ru_capacity, now), _Bucket(write_capacity, now))
        ru, write = buckets
        ru.refill(ru_capacity, RU_WINDOW, now)
        write.refill(write_capacity, WRITE_WINDOW, now)
        if writes:
            wait = write.wait_for(writes, write_capacity, WRITE_WINDOW)
            if wait > 0:
                return Verdict(
                    False,
                    wait,
                    "WriteLimitExceeded",
                    f"Tenant_Application/Write/{app_id}/{tenant_id}",
                )
        wait = ru.wait_for(cost, ru_capacity, RU_WINDOW)
        if wait > 0:
            return Verdict(
                False,
                wait,
                "ResourceUnitLimitExceeded",
                f"Tenant_Application/ReadWrite/{app_id}/{tenant_id}",
            )
        ru.level -= cost
        write.level -= writes
        return Verdict(True, usage=1.0 - ru.level / ru_capacity)

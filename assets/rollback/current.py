"""What each target of a rollback holds now: every user re-read before anything is sent.

A rollback may write only where the systems still hold what the undone run wrote, so each target
is read again (one request per user, a few at a time) and judged (`plan.judge`).
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Sequence
from typing import Any

from assets.rollback.plan import GRAPH, Judged, Restore, judge
from resources.graph_client import GraphClient
from resources.huma_client import HumaClient


def graph_current(client: GraphClient, restore: Restore) -> dict[str, Any] | None:
    """The Entra user's values of the properties the run wrote (None: no such user)."""
    user = client.get_user(restore.target_id, tuple(restore.written))
    return None if user is None else {prop: user.get(prop) for prop in restore.written}


def huma_current(client: HumaClient, restore: Restore) -> dict[str, Any] | None:
    """The Huma user's values of the properties the run wrote (None: no such user).

    `UserDetails` wraps each field as `{"value": …}` and leaves `value` out when empty.
    """
    details = client.get_user(restore.target_id)
    if details is None:
        return None
    return {prop: (details.get(prop) or {}).get("value") for prop in restore.written}


def judge_all(
    restores: Sequence[Restore], *, huma: HumaClient, graph: GraphClient, concurrency: int = 8
) -> list[Judged]:
    """Every restore judged against its target as it is now, in the given order."""

    def one(restore: Restore) -> Judged:
        if restore.system == GRAPH:
            return judge(restore, graph_current(graph, restore))
        return judge(restore, huma_current(huma, restore))

    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        return list(pool.map(one, restores))

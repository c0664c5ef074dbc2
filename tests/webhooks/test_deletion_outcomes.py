"""What a full run's report says about each user a `users-delete` webhook named: the run's own
deletion notice when it has one, "still in Huma" for a user its snapshot holds (valid or held
out), that the next complete run decides when Huma was not read in full, and otherwise that
nothing is to be done; in the events' order, one row per user."""

from __future__ import annotations

import polars as pl
import pytest

from assets.targeting import deletion_outcomes
from reconcile.engine import PlanResult
from reconcile.frames import HUMA_USERS_SCHEMA
from reconcile.outputs import NOTICES_SCHEMA, VALIDATION_FAILURES_SCHEMA
from resources.webhook_events import EventUser

GONE = EventUser("h-gone", "gone@example.com")
KEPT = EventUser("h-kept", "kept@example.com")
HELD = EventUser("h-held", "held@example.com")
UNKNOWN = EventUser("h-unknown", "unknown@example.com")


def _result() -> PlanResult:
    empty = pl.DataFrame()
    return PlanResult(
        huma_users=pl.DataFrame({"huma_id": [KEPT.huma_id]}).select(
            pl.col("huma_id"),
            *(pl.lit(None, d).alias(n) for n, d in HUMA_USERS_SCHEMA.items() if n != "huma_id"),
        ),
        entra_users=empty,
        validation_failures=pl.DataFrame(
            [{"side": "huma", "user_id": HELD.huma_id, "rule": "unique"}],
            schema=VALIDATION_FAILURES_SCHEMA,
        ),
        user_links=empty,
        field_diffs=empty,
        conflicts=empty,
        sync_plan=empty,
        guard_trips=empty,
        notices=pl.DataFrame(
            [
                {"kind": "locked", "huma_id": KEPT.huma_id, "message": "deactivated in Huma"},
                {"kind": "deleted_in_huma", "huma_id": GONE.huma_id, "message": "the notice"},
            ],
            schema=NOTICES_SCHEMA,
        ),
    )


@pytest.mark.parametrize(
    ("partial", "unknown"),
    [
        pytest.param(
            False, "gone from Huma, linked to no Entra user: nothing to do", id="complete"
        ),
        pytest.param(True, "the next complete run decides", id="huma-partial"),
    ],
)
def test_each_named_user_gets_what_the_run_did(*, partial: bool, unknown: str) -> None:
    rows = deletion_outcomes([UNKNOWN, GONE, KEPT, HELD], _result(), huma_partial=partial)
    outcomes = dict(zip(rows["huma_id"], rows["outcome"], strict=True))
    assert list(outcomes) == ["h-unknown", "h-gone", "h-kept", "h-held"]
    assert outcomes["h-gone"] == "the notice"
    assert outcomes["h-kept"].startswith("still in Huma")
    assert outcomes["h-held"].startswith("still in Huma")
    assert unknown in outcomes["h-unknown"]
    assert rows["email"].to_list()[0] == UNKNOWN.email

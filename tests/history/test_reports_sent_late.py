"""A report sent late, as the history tells it (`HistoryStore.finish_run(reports_sent_late=...)`).

Pins: the late run's `email_status` says the report went out late, when, by which run, and what
its own end said; a run already marked keeps its first late send; another connection's run of
the same id space is left alone; a naive time is refused.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from resources.history import HistoryStore

T0 = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
FAILED = "failed: relay down (kept unsent; the next run sends it)"


def _finished(store: HistoryStore, run_id: str, day: int, connection: str = "acme", **kw) -> None:
    started = T0 + timedelta(days=day)
    store.begin_run(run_id=run_id, connection=connection, mode="apply", started_at=started)
    store.finish_run(
        run_id=run_id, outcome="succeeded", ended_at=started + timedelta(minutes=5), **kw
    )


def test_the_late_run_says_when_and_by_which_run_its_report_went_out(store: HistoryStore) -> None:
    _finished(store, "r1", 0, email_status=FAILED)
    sent_at = T0 + timedelta(days=1, minutes=4)

    _finished(
        store, "r2", 1, email_status="sent to 2 recipients", reports_sent_late={"r1": sent_at}
    )

    late = store.run(run_id="r1")
    assert late is not None
    assert late.email_status == (
        f"sent late at 2026-03-02T02:04:00+00:00 by run r2; at the end of its run: {FAILED}"
    )
    assert late.outcome == "succeeded"
    assert store.run(run_id="r2").email_status == "sent to 2 recipients"  # type: ignore[union-attr]


def test_a_report_is_marked_late_once(store: HistoryStore) -> None:
    _finished(store, "r1", 0, email_status=FAILED)
    _finished(store, "r2", 1, reports_sent_late={"r1": T0 + timedelta(days=1)})
    first = store.run(run_id="r1").email_status  # type: ignore[union-attr]

    _finished(store, "r2", 1, reports_sent_late={"r1": T0 + timedelta(days=2)})  # finished again

    assert store.run(run_id="r1").email_status == first  # type: ignore[union-attr]


def test_another_connections_run_is_left_alone(store: HistoryStore) -> None:
    _finished(store, "other-1", 0, connection="globex", email_status=FAILED)

    _finished(store, "r2", 1, reports_sent_late={"other-1": T0 + timedelta(days=1)})

    assert store.run(run_id="other-1").email_status == FAILED  # type: ignore[union-attr]


def test_a_naive_time_is_refused(store: HistoryStore) -> None:
    _finished(store, "r1", 0, email_status=FAILED)
    store.begin_run(run_id="r2", connection="acme", mode="apply", started_at=T0 + timedelta(1))
    with pytest.raises(ValueError, match="timezone-aware"):
        store.finish_run(
            run_id="r2",
            outcome="succeeded",
            ended_at=T0 + timedelta(days=1, minutes=5),
            reports_sent_late={"r1": datetime(2026, 3, 2, 2, 4)},
        )

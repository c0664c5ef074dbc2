"""The webhook event store: durable, replay-safe, each event taken by one run, nothing lost."""

from __future__ import annotations

import contextlib
import sqlite3
import stat
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from resources.webhook_events import (
    CHANGE_TOPICS,
    RETENTION,
    EventUser,
    WebhookEventStore,
    event_store_path,
)

ANNA = EventUser("5f0c6c55-1c1e-4a57-9d2e-8a0c1b6f0a01", "anna@example.com")
BO = EventUser("5f0c6c55-1c1e-4a57-9d2e-8a0c1b6f0a02", "bo@example.com")


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> WebhookEventStore:
    return WebhookEventStore(event_store_path(tmp_path / "history.duckdb", "acme"), clock=clock)


def test_the_store_lives_beside_the_history_per_connection(tmp_path: Path) -> None:
    path = event_store_path(tmp_path / "history.duckdb", "acme")
    assert path == tmp_path / "history.duckdb.events" / "acme.sqlite3"


def test_the_file_and_its_folder_are_readable_by_their_owner_only(
    store: WebhookEventStore,
) -> None:
    store.add(digest="d1", topic="users-update", users=[ANNA])
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.path.parent.stat().st_mode) == 0o700
    for journal in store.path.parent.glob(store.path.name + "-*"):
        assert not stat.S_IMODE(journal.stat().st_mode) & 0o077, journal


def test_a_replay_is_dropped_until_the_first_delivery_is_done(store: WebhookEventStore) -> None:
    assert store.add(digest="d1", topic="users-update", users=[ANNA])
    assert not store.add(digest="d1", topic="users-update", users=[ANNA])
    store.take("run-1")
    assert not store.add(digest="d1", topic="users-update", users=[ANNA])  # taken, not done
    store.finish("run-1")
    # A value that went A -> B -> A sends the same body for a real change: it is kept.
    assert store.add(digest="d1", topic="users-update", users=[ANNA])
    assert store.waiting().count == 1


def test_a_run_takes_every_waiting_event_each_user_once(store: WebhookEventStore) -> None:
    store.add(digest="d1", topic="users-update", users=[ANNA])
    store.add(digest="d2", topic="users-create", users=[BO, ANNA])
    store.add(digest="d3", topic="users-delete", users=[BO])
    taken = store.take("run-1")
    assert taken.changed == (ANNA, BO)
    assert taken.deleted == (BO,)
    assert not taken.full_run
    assert len(taken.sequences) == 3
    assert store.waiting().count == 0
    assert store.take("run-1") == taken  # asking again (a retried step) gives the same events
    assert store.take("run-2").empty


def test_an_export_asks_for_a_full_run(store: WebhookEventStore) -> None:
    store.add(digest="d1", topic="users-export", users=[ANNA, BO])
    taken = store.take("run-1")
    assert taken.full_run
    assert taken.changed == ()


def test_a_failed_run_gives_its_events_back_and_nothing_is_lost(store: WebhookEventStore) -> None:
    store.add(digest="d1", topic="users-update", users=[ANNA])
    store.take("run-1")
    store.add(digest="d2", topic="users-update", users=[BO])  # arrives during run-1
    assert store.holding_runs() == {"run-1"}
    assert store.give_back("run-1") == 1
    assert store.holding_runs() == set()
    assert store.take("run-2").changed == (ANNA, BO)
    assert store.finish("run-2") == 2
    assert store.give_back("run-2") == 0  # done stays done


def test_waiting_reports_count_newest_and_oldest(store: WebhookEventStore, clock: Clock) -> None:
    assert store.waiting().count == 0
    assert store.waiting().newest is None
    first = clock.now
    store.add(digest="d1", topic="users-update", users=[ANNA])
    clock.now += timedelta(seconds=5)
    store.add(digest="d2", topic="users-update", users=[BO])
    waiting = store.waiting()
    assert (waiting.count, waiting.oldest_received_at) == (2, first)
    assert waiting.newest is not None


def test_events_survive_a_restart(tmp_path: Path, clock: Clock) -> None:
    path = event_store_path(tmp_path / "history.duckdb", "acme")
    WebhookEventStore(path, clock=clock).add(digest="d1", topic="users-update", users=[ANNA])
    assert WebhookEventStore(path, clock=clock).take("run-1").changed == (ANNA,)


def test_done_events_are_forgotten_after_their_time(store: WebhookEventStore, clock: Clock) -> None:
    store.add(digest="d1", topic="users-update", users=[ANNA])
    store.add(digest="d2", topic="users-update", users=[BO])
    store.take("run-1")
    store.finish("run-1")
    store.add(digest="d3", topic="users-update", users=[ANNA])  # waiting: never forgotten
    clock.now += timedelta(days=8)
    assert store.forget_done(clock.now - timedelta(days=7)) == 2
    assert store.take("run-2").changed == (ANNA,)


def test_an_unknown_topic_is_refused(store: WebhookEventStore) -> None:
    with pytest.raises(ValueError, match="unknown webhook topic"):
        store.add(digest="d1", topic="users-rename", users=[ANNA])


def test_concurrent_receivers_and_runs_take_each_event_exactly_once(tmp_path: Path) -> None:
    path = event_store_path(tmp_path / "history.duckdb", "acme")
    WebhookEventStore(path)
    per_receiver, receivers = 60, 2
    taken: list[tuple[int, ...]] = []
    done = threading.Event()

    def receive(n: int) -> None:
        store = WebhookEventStore(path)  # each its own connection, as another process would
        for i in range(per_receiver):
            user = EventUser(f"user-{n}-{i}", f"u{n}.{i}@example.com")
            store.add(digest=f"{n}-{i}", topic="users-update", users=[user])

    def run(name: str) -> None:
        store = WebhookEventStore(path)
        k = 0
        while True:
            finished = done.is_set()
            batch = store.take(f"{name}-{k}")
            taken.append(batch.sequences)
            k += 1
            if finished:
                return

    senders = [threading.Thread(target=receive, args=(n,)) for n in range(receivers)]
    runners = [threading.Thread(target=run, args=(name,)) for name in ("a", "b")]
    for thread in senders + runners:
        thread.start()
    for thread in senders:
        thread.join()
    done.set()
    for thread in runners:
        thread.join()
    every = [sequence for batch in taken for sequence in batch]
    assert len(every) == len(set(every)) == per_receiver * receivers


def test_take_gives_a_run_one_set_whoever_of_its_steps_asks_first(
    store: WebhookEventStore,
) -> None:
    """Both snapshot steps of a run ask; what arrives between their asks waits for the next run."""
    store.add(digest="a", topic="users-update", users=[EventUser("h1", "a@example.com")])
    first = store.take("run-1")
    store.add(digest="b", topic="users-update", users=[EventUser("h2", "b@example.com")])
    second = store.take("run-1")
    assert [u.huma_id for u in first.changed] == ["h1"]
    assert second == first
    assert [u.huma_id for u in store.take("run-2").changed] == ["h2"]


def test_take_after_giving_back_takes_afresh(store: WebhookEventStore) -> None:
    store.add(digest="a", topic="users-update", users=[EventUser("h1", "a@example.com")])
    store.take("run-1")
    store.give_back("run-1")
    store.add(digest="b", topic="users-update", users=[EventUser("h2", "b@example.com")])
    again = store.take("run-1")
    assert [u.huma_id for u in again.changed] == ["h1", "h2"]


def test_peek_shows_what_waits_without_taking_it(store: WebhookEventStore) -> None:
    store.add(digest="a", topic="users-update", users=[EventUser("h1", "a@example.com")])
    store.add(digest="b", topic="users-delete", users=[EventUser("h2", "b@example.com")])
    seen = store.peek()
    assert [u.huma_id for u in seen.changed] == ["h1"]
    assert [u.huma_id for u in seen.deleted] == ["h2"]
    assert store.waiting().count == 2
    assert store.take("run-1").sequences == seen.sequences


def _rows(store: WebhookEventStore, table: str) -> int:
    with contextlib.closing(sqlite3.connect(store.path)) as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_forgetting_prunes_the_records_of_settled_runs_and_never_a_waiting_or_held_event(
    store: WebhookEventStore, clock: Clock
) -> None:
    store.add(digest="d1", topic="users-update", users=[ANNA])
    store.take("finished")
    store.finish("finished")
    store.take("took-nothing")
    store.add(digest="d2", topic="users-update", users=[BO])
    store.take("failed")
    store.give_back("failed")
    store.take("holding")  # takes d2 and keeps it, as a run still going does
    store.add(digest="d3", topic="users-delete", users=[ANNA])  # waits, however long
    clock.now += RETENTION + timedelta(days=1)

    assert store.forget_done(clock.now - RETENTION) == 1

    assert store.holding_runs() == {"holding"}
    assert store.take("holding").changed == (BO,)
    assert store.waiting().count == 1
    assert _rows(store, "events") == 2
    assert _rows(store, "event_users") == 2
    with contextlib.closing(sqlite3.connect(store.path)) as conn:
        takers = {run_id for (run_id,) in conn.execute("SELECT run_id FROM takers")}
    assert takers == {"holding"}


def test_the_give_back_count_never_falls_when_old_give_backs_are_pruned(
    store: WebhookEventStore, clock: Clock
) -> None:
    """The sensor's run key carries it: a count that fell could repeat an earlier key, and
    Dagster would then never start the run."""
    for n in range(3):
        store.add(digest=f"d{n}", topic="users-update", users=[ANNA])
        store.take(f"run-{n}")
        store.give_back(f"run-{n}")
    before = store.give_backs()
    clock.now += RETENTION + timedelta(days=1)
    store.forget_done(clock.now - RETENTION)
    assert _rows(store, "give_backs") == 1
    assert store.give_backs() == before
    store.take("run-3")
    store.give_back("run-3")
    assert store.give_backs() == before + 1


def test_a_targeted_run_takes_only_changes(store: WebhookEventStore) -> None:
    store.add(digest="d1", topic="users-update", users=[ANNA])
    store.add(digest="d2", topic="users-delete", users=[BO])
    store.add(digest="d3", topic="users-export", users=[ANNA, BO])
    taken = store.take("targeted", topics=CHANGE_TOPICS)
    assert (taken.changed, taken.deleted, taken.full_run) == ((ANNA,), (), False)
    store.finish("targeted")
    full = store.take("full")
    assert (full.changed, full.deleted, full.full_run) == ((), (BO,), True)


def test_covered_shows_what_a_run_took_after_it_finished(store: WebhookEventStore) -> None:
    store.add(digest="d1", topic="users-delete", users=[BO])
    taken = store.take("run-1")
    store.finish("run-1")
    assert store.take("run-1").empty
    assert store.covered("run-1") == taken


@pytest.mark.slow
def test_a_writer_of_this_process_waits_its_turn_however_long_another_writes(
    tmp_path: Path, clock: Clock
) -> None:
    """The receiver stores deliveries from many threads at once. SQLite's own wait for a busy
    file polls with growing sleeps, so in a burst one writer can keep losing its turn past the
    busy timeout and its delivery is answered 503, however short each write is. Writers of one
    process take turns without polling instead: one waits for as long as the others write."""
    path = event_store_path(tmp_path / "history.duckdb", "acme")
    first, second = WebhookEventStore(path, clock=clock), WebhookEventStore(path, clock=clock)
    writing = threading.Event()
    outcome: list[object] = []

    def deliver() -> None:
        writing.wait()
        try:
            outcome.append(second.add(digest="d2", topic="users-update", users=[BO]))
        except sqlite3.Error as exc:
            outcome.append(exc)

    waiter = threading.Thread(target=deliver)
    waiter.start()
    with first._transaction() as conn:  # a write longer than SQLite's busy timeout
        conn.execute("INSERT INTO events (digest, topic, received_at) VALUES ('d1', 'x', 'now')")
        writing.set()
        waiter.join(timeout=11)
    waiter.join()

    assert outcome == [True]
    assert second.waiting().count == 2

"""Huma's webhook events, kept durably between the receiver that accepts them and the runs they
start.

The receiver answers Huma within milliseconds, so it only stores what it accepted; a targeted run
later takes every change event waiting (a full run takes every event), re-reads the users they name
from both systems (the event's body is never the truth) and marks them done when it ends, or gives
them back when it fails. Done events are forgotten after `RETENTION`. The store is a
SQLite file per connection (`event_store_path`: beside the history, or in `WEBHOOK_EVENTS_DIR`, on
a local disk: `resources.webhook_store_location`): the DuckDB history admits one
writing process at a time and a run holds it for minutes, while SQLite in WAL mode lets the receiver
append at any moment, from another process, during a run.

An event moves through three states: waiting (`taken_by` empty), taken by one run, done. A delivery
is known by the SHA-256 of its raw body; the same delivery arriving again while the first is not
done yet is a replay and is dropped (the run that takes the first re-reads those users anyway). Once
done, the same body is accepted again: re-reading is harmless, and a user whose value went from A to
B and back to A sends the same body twice for two real changes.

The file holds emails and Huma ids: it is created readable by its owner only (SPEC §12), and the
journal files SQLite writes beside it take the file's mode.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from resources.private_files import PRIVATE_FILE, PRIVATE_FOLDER, tighten
from resources.webhook_store_location import events_folder

#: The topics Huma sends (api-facts A.6). Only these are stored.
TOPICS = ("users-create", "users-update", "users-delete", "users-export")
#: Asks for a full run: the export is the whole current state, not a change to some users.
FULL_RUN_TOPIC = "users-export"
DELETE_TOPIC = "users-delete"
#: The topics a targeted run covers: deletions wait for a full run (its complete snapshots decide
#: them, and its report names them), and so does an export.
CHANGE_TOPICS = ("users-create", "users-update")

#: How long a done event, and the record of the run that took it, is kept (`forget_done`): a
#: month of runs can still tell which deliveries they covered, and no email stays longer.
RETENTION = timedelta(days=30)

#: How long a writer waits for another process's write transaction (they last milliseconds).
_BUSY_TIMEOUT_MS = 10_000

#: Per store file, the turn of this process's writers. SQLite makes a writer that finds the file
#: busy poll with growing sleeps, and in a burst (the receiver stores from many threads at once)
#: one writer can keep losing its turn past the busy timeout, however short each write is. The
#: writers of one process queue here instead, without a timeout: the busy timeout is left to the
#: other processes' writers (another receiver, the runs taking events).
_WRITERS: dict[str, threading.RLock] = {}
_WRITERS_GUARD = threading.Lock()


def _writers(path: Path) -> threading.RLock:
    """This process's turn to write `path` (one lock per file, however it is named)."""
    with _WRITERS_GUARD:
        return _WRITERS.setdefault(os.path.realpath(path), threading.RLock())


_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    sequence INTEGER PRIMARY KEY AUTOINCREMENT,
    digest TEXT NOT NULL,
    topic TEXT NOT NULL,
    received_at TEXT NOT NULL,
    taken_by TEXT,
    done_at TEXT
);
CREATE INDEX IF NOT EXISTS events_taken_by ON events (taken_by);
CREATE INDEX IF NOT EXISTS events_digest ON events (digest);
CREATE TABLE IF NOT EXISTS takers (
    run_id TEXT PRIMARY KEY,
    taken_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS give_backs (
    run_id TEXT NOT NULL,
    given_back_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS event_users (
    sequence INTEGER NOT NULL REFERENCES events (sequence) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    huma_id TEXT NOT NULL,
    email TEXT NOT NULL,
    PRIMARY KEY (sequence, position)
);
"""


def event_store_path(
    history: Path, connection: str, environ: Mapping[str, str] = os.environ
) -> Path:
    """The event store of `connection`: in `WEBHOOK_EVENTS_DIR`, else beside the deployment's
    history file `history` (`resources.webhook_store_location.events_folder`)."""
    return events_folder(history, environ) / f"{connection}.sqlite3"


@dataclasses.dataclass(frozen=True)
class EventUser:
    """A user a webhook names: Huma's id and the email it carried (a hint, not the truth)."""

    huma_id: str
    email: str


@dataclasses.dataclass(frozen=True)
class Waiting:
    """The events no run has taken yet."""

    count: int
    #: The newest waiting event's sequence (None when nothing waits): a sensor's run key.
    newest: int | None
    #: When the oldest waiting event arrived (None when nothing waits).
    oldest_received_at: datetime | None


@dataclasses.dataclass(frozen=True)
class TakenEvents:
    """Everything one run took, each user once, in the order the events arrived."""

    run_id: str
    sequences: tuple[int, ...]
    #: Users named by create and update events.
    changed: tuple[EventUser, ...]
    #: Users named by delete events: only marked for the next full run's deletion rules.
    deleted: tuple[EventUser, ...]
    #: An export arrived: the connection wants a full run.
    full_run: bool

    @property
    def empty(self) -> bool:
        return not self.sequences


class WebhookEventStore:
    """One connection's stored webhook events; safe to use from several processes at once.

    Args:
        path: The SQLite file (created, owner-only, with its folder, when missing).
        clock: Now, as an aware datetime (injected by tests).
    """

    def __init__(self, path: Path, *, clock=lambda: datetime.now(UTC)) -> None:
        self.path = path
        self._clock = clock
        path.parent.mkdir(mode=PRIVATE_FOLDER, parents=True, exist_ok=True)
        if path.exists():
            tighten(path, what="the webhook event store")
        else:
            with contextlib.suppress(FileExistsError):
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))
        with contextlib.closing(self._connect()) as conn:
            conn.executescript(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")  # stored means on disk before Huma hears 2xx
        conn.execute("PRAGMA foreign_keys=ON")
        return conn

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """A connection inside one immediate (write-locked) transaction, committed on success;
        this process's other writers of the file wait their turn (`_WRITERS`)."""
        with _writers(self.path):
            conn = self._connect()
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            finally:
                conn.close()

    def add(self, *, digest: str, topic: str, users: Sequence[EventUser]) -> bool:
        """Store one accepted delivery; False (and nothing stored) when it is a replay.

        Args:
            digest: SHA-256 (hex) of the delivery's raw body.
            topic: One of `TOPICS`.
            users: The users it names.

        Raises:
            ValueError: An unknown topic.
        """
        if topic not in TOPICS:
            raise ValueError(f"unknown webhook topic {topic!r}")
        with self._transaction() as conn:
            replay = conn.execute(
                "SELECT 1 FROM events WHERE digest = ? AND done_at IS NULL LIMIT 1", (digest,)
            ).fetchone()
            if replay:
                return False
            sequence = conn.execute(
                "INSERT INTO events (digest, topic, received_at) VALUES (?, ?, ?)",
                (digest, topic, self._clock().isoformat()),
            ).lastrowid
            conn.executemany(
                "INSERT INTO event_users (sequence, position, huma_id, email) VALUES (?, ?, ?, ?)",
                [(sequence, i, user.huma_id, user.email) for i, user in enumerate(users)],
            )
        return True

    def waiting(self) -> Waiting:
        """What waits for a run."""
        with self._transaction() as conn:
            count, newest, oldest = conn.execute(
                "SELECT count(*), max(sequence), min(received_at) FROM events "
                "WHERE taken_by IS NULL"
            ).fetchone()
        return Waiting(count, newest, datetime.fromisoformat(oldest) if oldest else None)

    def take(self, run_id: str, *, topics: Sequence[str] = TOPICS) -> TakenEvents:
        """Give `run_id` every waiting event of `topics` the first time it asks; later calls of
        the same run return what it took then, and never take more.

        A run's two snapshot steps both ask, in either order: both must read the same users,
        so what arrives after the first ask waits for the next run. Taking is atomic: two runs
        never take the same event. Events of other topics keep waiting.
        """
        unknown = sorted(set(topics) - set(TOPICS))
        if unknown:
            raise ValueError(f"unknown webhook topics {unknown}")
        with self._transaction() as conn:
            first = conn.execute(
                "INSERT INTO takers (run_id, taken_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
                (run_id, self._clock().isoformat()),
            ).rowcount
            if first:
                conn.execute(
                    "UPDATE events SET taken_by = ? WHERE taken_by IS NULL AND done_at IS NULL "
                    "AND topic IN (SELECT value FROM json_each(?))",
                    (run_id, json.dumps(list(topics))),
                )
            rows = conn.execute(_TAKEN_ROWS, (run_id,)).fetchall()
        return _taken(run_id, rows)

    def covered(self, run_id: str) -> TakenEvents:
        """The events `run_id` took, done or not (until `forget_done` deletes them)."""
        with self._transaction() as conn:
            rows = conn.execute(_COVERED_ROWS, (run_id,)).fetchall()
        return _taken(run_id, rows)

    def peek(self) -> TakenEvents:
        """What a run would take now, without taking it (`run_id` empty)."""
        with self._transaction() as conn:
            rows = conn.execute(_WAITING_ROWS).fetchall()
        return _taken("", rows)

    def finish(self, run_id: str) -> int:
        """Mark the events `run_id` took as done; returns how many."""
        with self._transaction() as conn:
            return conn.execute(
                "UPDATE events SET done_at = ? WHERE taken_by = ? AND done_at IS NULL",
                (self._clock().isoformat(), run_id),
            ).rowcount

    def give_back(self, run_id: str) -> int:
        """Make the events `run_id` took wait again (it failed); returns how many.

        The run may ask `take` again afterwards (a re-executed run) and take afresh."""
        with self._transaction() as conn:
            conn.execute("DELETE FROM takers WHERE run_id = ?", (run_id,))
            count = conn.execute(
                "UPDATE events SET taken_by = NULL WHERE taken_by = ? AND done_at IS NULL",
                (run_id,),
            ).rowcount
            if count:
                conn.execute(
                    "INSERT INTO give_backs (run_id, given_back_at) VALUES (?, ?)",
                    (run_id, self._clock().isoformat()),
                )
            return count

    def give_backs(self) -> int:
        """A number that grows by one with each give-back and never falls (pruning keeps the
        newest record): with the newest waiting sequence, it tells one batch of waiting events
        from the same batch waiting again after a failed run (a sensor's run key)."""
        with self._transaction() as conn:
            return conn.execute("SELECT coalesce(max(rowid), 0) FROM give_backs").fetchone()[0]

    def holding_runs(self) -> set[str]:
        """The runs that took events and did not finish or give them back (running, or lost)."""
        with self._transaction() as conn:
            rows = conn.execute(
                "SELECT DISTINCT taken_by FROM events "
                "WHERE taken_by IS NOT NULL AND done_at IS NULL"
            ).fetchall()
        return {run_id for (run_id,) in rows}

    def forget_done(self, before: datetime) -> int:
        """Delete what was settled before `before` (the store keeps no personal data longer
        than it needs, and does not grow forever); returns how many events went.

        Goes: the events done before it, with their users; the record of each run that took
        events before it and holds none that is not done; the give-backs recorded before it,
        except the newest (its row number is what `give_backs` counts from). An event waiting
        or held by a run is never deleted, however old.
        """
        cutoff = before.astimezone(UTC).isoformat()
        with self._transaction() as conn:
            forgotten = conn.execute(
                "DELETE FROM events WHERE done_at IS NOT NULL AND done_at < ?", (cutoff,)
            ).rowcount
            conn.execute(
                "DELETE FROM takers WHERE taken_at < ? AND run_id NOT IN (SELECT taken_by "
                "FROM events WHERE taken_by IS NOT NULL AND done_at IS NULL)",
                (cutoff,),
            )
            conn.execute(
                "DELETE FROM give_backs WHERE given_back_at < ? "
                "AND rowid < (SELECT max(rowid) FROM give_backs)",
                (cutoff,),
            )
            return forgotten


_EVENT_ROWS = (
    "SELECT e.sequence, e.topic, u.huma_id, u.email FROM events e "
    "LEFT JOIN event_users u USING (sequence) WHERE {} ORDER BY e.sequence, u.position"
)
#: The not-done events one run took (its id the parameter), those nobody took yet, and all
#: those one run took, done or not.
_TAKEN_ROWS = _EVENT_ROWS.format("e.done_at IS NULL AND e.taken_by = ?")
_WAITING_ROWS = _EVENT_ROWS.format("e.done_at IS NULL AND e.taken_by IS NULL")
_COVERED_ROWS = _EVENT_ROWS.format("e.taken_by = ?")


def _taken(run_id: str, rows: Sequence[tuple[int, str, str | None, str | None]]) -> TakenEvents:
    """The events of `rows` (sequence, topic, huma id, email; in arrival order), each user once."""
    sequences: dict[int, None] = {}
    changed: dict[str, EventUser] = {}
    deleted: dict[str, EventUser] = {}
    full_run = False
    for sequence, topic, huma_id, email in rows:
        sequences[sequence] = None
        full_run = full_run or topic == FULL_RUN_TOPIC
        if huma_id is None or email is None or topic == FULL_RUN_TOPIC:
            continue
        target = deleted if topic == DELETE_TOPIC else changed
        target.setdefault(huma_id, EventUser(huma_id, email))
    return TakenEvents(
        run_id=run_id,
        sequences=tuple(sequences),
        changed=tuple(changed.values()),
        deleted=tuple(deleted.values()),
        full_run=full_run,
    )

"""An analyst's read-only session left open on the file the README tells analysts to open, with the
README's own queries run in it, never makes a run wait or fail; once a run has ended, the next
session sees it, and the open session goes on answering from what it opened."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest

from resources.history import LATEST_VERSION, HistoryStore
from tests.history.scenario import ACME, GLOBEX, NIGHT_2, acme_snapshots, populate, run_night
from tests.history.test_history_readme import _queries, _section

ROOT = Path(__file__).resolve().parents[2]

#: An analyst: opens the file read-only, runs every README query, says how many rows each gave,
#: and keeps the session open until told to go; then runs the queries again in the same session.
ANALYST = """
import json, sys
import duckdb
import pytest

path, queries = sys.argv[1], json.loads(sys.argv[2])
conn = duckdb.connect(path, read_only=True)
print(json.dumps({t: len(conn.sql(q).fetchall()) for t, q in queries.items()}), flush=True)
sys.stdin.readline()
print(json.dumps({t: len(conn.sql(q).fetchall()) for t, q in queries.items()}), flush=True)
conn.close()
"""


def analysts_file(history: Path) -> Path:
    """The file the README's "Reading it" tells analysts to open, in `history`'s folder."""
    found = re.search(r"^duckdb -readonly (\S+)", _section(), re.MULTILINE)
    assert found, "the README shows no `duckdb -readonly FILE` command"
    return history.with_name(found.group(1))


@contextmanager
def analyst(path: Path) -> Iterator[tuple[dict[str, int], subprocess.Popen[str]]]:
    """An analyst's session on `path` in a child process: yields the rows per README query."""
    child = subprocess.Popen(
        [sys.executable, "-c", ANALYST, str(path), json.dumps(_queries())],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
    )
    try:
        assert child.stdout is not None
        yield json.loads(child.stdout.readline()), child
    finally:
        if child.stdin is not None and not child.stdin.closed:
            child.stdin.close()
        child.wait(timeout=30)
        if child.stdout is not None:
            child.stdout.close()


def _rows(path: Path, query: str) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as conn:
        return conn.sql(query).fetchall()


def test_an_open_analyst_session_never_makes_a_run_wait(tmp_path: Path) -> None:
    history = tmp_path / "history.duckdb"
    waits: list[float] = []
    store = HistoryStore(history, lock_timeout_seconds=1, on_wait=waits.append)
    populate(store)
    with analyst(analysts_file(history)) as (seen, child):
        assert seen["What did last night change"] == 1  # the README's queries answer in it
        for number in (3, 4, 5):  # the nights of two connections while the session stays open
            run_night(
                store,
                connection=ACME if number % 2 else GLOBEX,
                run_id=f"night-{number}",
                run_at=NIGHT_2.replace(day=number),
                snapshots=acme_snapshots(2),
            )
        assert waits == []  # no open of the file had to wait
        # A new session sees every run that has ended; the open one answers as it did.
        ended = _rows(analysts_file(history), "SELECT run_id FROM runs ORDER BY run_id")
        assert [run_id for (run_id,) in ended if run_id.startswith("night-")] == [
            "night-3",
            "night-4",
            "night-5",
        ]
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.close()
        assert child.stdout is not None
        assert json.loads(child.stdout.readline()) == seen


def test_the_published_copy_is_read_only_and_replaced_whole(tmp_path: Path) -> None:
    history = tmp_path / "history.duckdb"
    store = HistoryStore(history)
    populate(store)
    published = analysts_file(history)
    assert published != history
    assert published.stat().st_mode & 0o777 == 0o400  # nobody writes it in place
    # Someone opened it for writing anyway (root may): their log must not reach the next copy.
    published.chmod(0o600)
    with duckdb.connect(str(published)) as conn:
        conn.execute("CHECKPOINT")
        conn.execute("CREATE TABLE scratch (note VARCHAR)")
        conn.execute("INSERT INTO scratch VALUES ('mine')")
    store.publish()
    assert not published.with_name(published.name + ".wal").exists()
    assert ("scratch",) not in _rows(published, "SELECT table_name FROM information_schema.tables")
    assert _rows(published, "SELECT count(*) FROM runs") == [(3,)]
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_a_copy_left_half_made_by_a_killed_run_is_cleared_by_the_next_publication(
    tmp_path: Path,
) -> None:
    """A run killed between copying the history and renaming the copy leaves the copy, a whole
    history of personal data, under its temporary name; nothing else would ever remove it, and a
    later run given the same process id (a container's) could not write over its read-only
    mode. Publishers take turns (each holds the history for writing), so the next one clears it."""
    history = tmp_path / "history.duckdb"
    store = HistoryStore(history)
    populate(store)
    published = analysts_file(history)
    left = published.with_name(f".{published.name}.4242.tmp")
    shutil.copyfile(history, left)
    left.chmod(0o400)

    store.publish()

    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
    assert _rows(published, "SELECT count(*) FROM runs") == [(3,)]


def test_a_file_kept_by_the_previous_release_gets_its_copy_on_first_use(tmp_path: Path) -> None:
    history = tmp_path / "history.duckdb"
    HistoryStore(history).migrate(target_version=3)  # the schema of the previous release
    analysts_file(history).unlink()  # which published no copy
    with duckdb.connect(str(history)) as conn:
        conn.execute(
            "INSERT INTO runs (run_id, connection, mode, started_at, ended_at, outcome) "
            "VALUES ('kept-1', 'acme', 'apply', ?, ?, 'succeeded')",
            [NIGHT_2, NIGHT_2],
        )

    store = HistoryStore(history)
    assert store.runs(connection=ACME).get_column("run_id").to_list() == ["kept-1"]

    assert _rows(analysts_file(history), "SELECT run_id FROM runs") == [("kept-1",)]
    assert store.schema_version() == LATEST_VERSION
    assert _rows(analysts_file(history), "SELECT max(version) FROM schema_migrations") == [
        (LATEST_VERSION,)
    ]


def test_a_copy_that_cannot_be_made_never_fails_the_run(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = HistoryStore(tmp_path / "history.duckdb")
    store.migrate()
    store.published_path.unlink()
    store.published_path.mkdir()  # something in the copy's way
    store.begin_run(run_id="r1", connection=ACME, mode="apply", started_at=NIGHT_2)

    store.finish_run(run_id="r1", outcome="succeeded", ended_at=NIGHT_2)

    record = store.run(run_id="r1")
    assert record is not None
    assert record.outcome == "succeeded"
    assert "the copy for analysts was not replaced" in caplog.text
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []

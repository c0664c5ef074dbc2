"""The baseline file kept beside the history: `load_state` reads the file the last save kept
instead of exporting the table, only while it holds exactly the table's rows. A changed table
(hand edit, another writer), a deleted, truncated, edited or foreign file, and a file written by a
save that failed before committing are never used: the baseline then comes from the table. Each
connection has its own owner-only folder; a run's scan survives a later save replacing the file;
an analyst's read-only load uses the kept file and writes nothing."""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

import polars as pl
import pytest

from reconcile.state import SyncState
from resources.history import HistoryStore, read_only_store
from resources.history.files import connect
from resources.history.kept_baseline import KeptBaseline
from tests.history.scenario import ACME, GLOBEX, NIGHT_1
from tests.reference.builders import baseline_frame, links_frame, state_with


def _state(agreed: str) -> SyncState:
    return state_with(
        links=links_frame(("h1", "e1"), ("h2", "e2")),
        baseline=baseline_frame(
            [
                {"huma_id": "h1", "field": "given_name", "agreed": agreed},
                {"huma_id": "h1", "field": "phone", "agreed": None},
                {"huma_id": "h2", "field": "job_title", "has_agreed": False, "huma_seen": "Lead"},
            ]
        ),
    )


def _save(store: HistoryStore, run_id: str, state: SyncState, connection: str = ACME) -> None:
    store.begin_run(run_id=run_id, connection=connection, mode="apply", started_at=NIGHT_1)
    store.save_state(connection=connection, run_id=run_id, state=state)


def _loaded(store: HistoryStore, folder: Path, connection: str = ACME) -> pl.DataFrame:
    baseline = store.load_state(connection=connection, baseline_dir=folder).baseline
    return baseline.lazy().collect().sort("huma_id", "field")


def _kept_file(store: HistoryStore, connection: str = ACME) -> Path:
    (path,) = KeptBaseline(store.path, connection).folder.glob("*.parquet")
    return path


def _execute(store: HistoryStore, sql: str) -> None:
    conn = connect(store.path, read_only=False, timeout_seconds=5)
    try:
        conn.execute(sql)
    finally:
        conn.close()


@pytest.fixture
def saved(store: HistoryStore) -> HistoryStore:
    """A store where Acme's state (given name `Ann`) was saved, with its kept file."""
    _save(store, "night-1", _state("Ann"))
    return store


def test_a_load_reads_the_file_the_save_kept(saved: HistoryStore, tmp_path: Path) -> None:
    loaded = _loaded(saved, tmp_path / "run")

    assert loaded.equals(_state("Ann").baseline.sort("huma_id", "field"))
    run_file = tmp_path / "run" / f"baseline-{ACME}.parquet"
    assert run_file.read_bytes() == _kept_file(saved).read_bytes()


def test_a_table_changed_after_the_save_is_read_from_the_table(
    saved: HistoryStore, tmp_path: Path
) -> None:
    _execute(saved, "UPDATE baseline SET agreed = 'Anne' WHERE field = 'given_name'")

    loaded = _loaded(saved, tmp_path / "run")

    assert loaded.filter(pl.col("field") == "given_name").item(0, "agreed") == "Anne"


@pytest.mark.parametrize(
    "spoil",
    [
        pytest.param(lambda path: path.unlink(), id="deleted"),
        pytest.param(lambda path: path.write_bytes(path.read_bytes()[:-40]), id="truncated"),
        pytest.param(
            lambda path: _state("Eve").baseline.write_parquet(path), id="edited-valid-parquet"
        ),
        pytest.param(lambda path: path.with_name("kept.json").unlink(), id="note-deleted"),
        pytest.param(lambda path: path.with_name("kept.json").write_text("{"), id="note-garbled"),
    ],
)
def test_a_spoiled_kept_file_is_never_used(saved: HistoryStore, tmp_path: Path, spoil) -> None:
    spoil(_kept_file(saved))

    assert _loaded(saved, tmp_path / "run").equals(_state("Ann").baseline.sort("huma_id", "field"))


def test_another_connections_file_is_never_used(saved: HistoryStore, tmp_path: Path) -> None:
    _save(saved, "globex-1", _state("Gus"), connection=GLOBEX)
    acme, globex = (KeptBaseline(saved.path, name).folder for name in (ACME, GLOBEX))
    assert acme != globex
    shutil.rmtree(acme)
    shutil.copytree(globex, acme)

    assert _loaded(saved, tmp_path / "run").equals(_state("Ann").baseline.sort("huma_id", "field"))
    assert _loaded(saved, tmp_path / "globex", GLOBEX).item(0, "agreed") == "Gus"


def test_connections_whose_names_differ_in_unsafe_characters_keep_apart(tmp_path: Path) -> None:
    history = tmp_path / "history.duckdb"

    assert KeptBaseline(history, "a/b").folder != KeptBaseline(history, "a_b").folder


def test_a_save_that_fails_before_committing_leaves_the_kept_file(
    saved: HistoryStore, tmp_path: Path
) -> None:
    before = _kept_file(saved)
    saved.begin_run(run_id="globex-1", connection=GLOBEX, mode="apply", started_at=NIGHT_1)

    with pytest.raises(ValueError, match="belongs to connection"):
        saved.save_state(connection=ACME, run_id="globex-1", state=_state("Eve"))

    assert sorted(before.parent.iterdir()) == sorted([before, before.with_name("kept.json")])
    assert _loaded(saved, tmp_path / "run").equals(_state("Ann").baseline.sort("huma_id", "field"))


def test_a_runs_scan_survives_a_later_save(saved: HistoryStore, tmp_path: Path) -> None:
    scan = saved.load_state(connection=ACME, baseline_dir=tmp_path / "run").baseline

    _save(saved, "night-2", _state("Eve"))

    assert scan.lazy().collect().sort("huma_id", "field").item(0, "agreed") == "Ann"
    assert _loaded(saved, tmp_path / "next").item(0, "agreed") == "Eve"


def test_the_kept_files_are_owner_only(saved: HistoryStore) -> None:
    folder = _kept_file(saved).parent

    for path in (folder.parent, folder, *folder.iterdir()):
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path


def test_a_read_only_load_uses_the_kept_file_and_writes_nothing(
    saved: HistoryStore, tmp_path: Path
) -> None:
    folder = _kept_file(saved).parent
    before = {path: path.read_bytes() for path in folder.iterdir()}

    loaded = _loaded(read_only_store(saved.path), tmp_path / "run")

    assert loaded.equals(_state("Ann").baseline.sort("huma_id", "field"))
    assert {path: path.read_bytes() for path in folder.iterdir()} == before

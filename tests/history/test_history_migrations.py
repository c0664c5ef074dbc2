"""Migrations: a new file gets every migration, each recorded with its time; a file of an earlier
version is upgraded in place on first use and keeps its data; a migration that fails leaves the
file at the previous version and a later upgrade resumes; released migrations never change; a
file written by newer code is refused; readers never create or upgrade a file; the tables that hold
engine frames carry the engine's columns 1:1."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest

from reconcile.context import RunContext
from reconcile.engine import plan_run
from reconcile.next_state import next_state
from reconcile.outputs import APPLY_OUTCOMES_SCHEMA
from reconcile.state import (
    ACTIVATION_SCHEMA,
    BASELINE_SCHEMA,
    DECISIONS_SCHEMA,
    DELETED_HUMA_USERS_SCHEMA,
    LINKS_SCHEMA,
    empty_state,
)
from resources.history import (
    LATEST_VERSION,
    MIGRATIONS,
    HistoryNotReady,
    HistoryStore,
    read_only_store,
)
from resources.history.files import connect
from resources.history.tables import OUTPUT_TABLES, RUN_FRAME_TABLES, insert_frame
from tests.history.scenario import (
    ACME,
    NIGHT_1,
    NIGHT_2,
    POLICY,
    acme_snapshots,
    reject_di_create,
    run_night,
)

#: sha256 of each released migration's SQL. A released migration is never edited (files in the
#: field were built by it): change the schema with a new migration and add its digest here.
RELEASED = {
    1: "393690abccb8231614f3a3af46b88e4836363a48d12b70a9c5bd123e298a2c0e",
    2: "5845a2fc6590cd8cb7bb5466826e5dbe717e31f55df52d1185bccacdf855afab",
    3: "1df1a7a1b390bdd32b63c7e32230adc77af94c1e32a4480828f7a3abca727320",
    4: "9cfe6f52d0bbbe4156b6147b14b6980802f7c0588d86c67704c2990783d77bc5",
    5: "2d08751b4a324adaac4d7287d2ec46cd030116150bdb12329195385c180220b8",
}

#: Tables holding an engine frame: (columns before the frame's, schema, columns after).
FRAME_TABLES = {
    **{table: (["run_id", "connection"], schema, []) for table, schema in RUN_FRAME_TABLES.items()},
    "links": (["connection"], LINKS_SCHEMA, ["run_id"]),
    "baseline": (["connection"], BASELINE_SCHEMA, ["run_id"]),
    "activation": (["connection"], ACTIVATION_SCHEMA, ["run_id"]),
    "deleted_huma_users": (["connection"], DELETED_HUMA_USERS_SCHEMA, ["run_id"]),
    "decisions": (["connection"], DECISIONS_SCHEMA, ["recorded_at"]),
}


def _sql(path: Path, query: str) -> list[tuple]:
    conn = connect(path, read_only=True, timeout_seconds=5)
    try:
        return conn.sql(query).fetchall()
    finally:
        conn.close()


def test_a_new_file_gets_every_migration_once(new_store: HistoryStore) -> None:
    store = new_store
    before = datetime.now(UTC)
    assert store.migrate() == [m.version for m in MIGRATIONS]
    assert store.migrate() == []
    rows = _sql(store.path, "SELECT version, name, applied_at FROM schema_migrations ORDER BY 1")
    assert [(version, name) for version, name, _ in rows] == [
        (m.version, m.name) for m in MIGRATIONS
    ]
    assert all(applied_at >= before for _, _, applied_at in rows)
    assert store.schema_version() == LATEST_VERSION


def test_first_use_creates_and_migrates_the_file(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path / "nested" / "history.duckdb")
    assert store.runs(connection=ACME).height == 0
    assert store.schema_version() == LATEST_VERSION


@pytest.mark.parametrize("version", range(1, LATEST_VERSION), ids=lambda v: f"from-v{v}")
def test_an_earlier_version_is_upgraded_by_the_remaining_migrations(
    tmp_path: Path, version: int
) -> None:
    path = tmp_path / "history.duckdb"
    assert HistoryStore(path).migrate(target_version=version) == list(range(1, version + 1))
    assert HistoryStore(path).migrate() == list(range(version + 1, LATEST_VERSION + 1))


def _write_version_1_night(path: Path) -> tuple:
    """Night 1 of Acme kept as a version-1 file held it (plain inserts into the v1 tables)."""
    huma, entra = acme_snapshots(1)
    context = RunContext(run_at=NIGHT_1, verified_domains=frozenset({"example.com"}))
    result = plan_run(huma, entra, empty_state(), POLICY, context)
    state = next_state(empty_state(), result, pl.DataFrame(schema=APPLY_OUTCOMES_SCHEMA), context)
    run = {"run_id": "acme-1", "connection": ACME}
    conn = connect(path, read_only=False, timeout_seconds=5)
    try:
        conn.execute(
            "INSERT INTO runs (run_id, connection, mode, started_at, ended_at, outcome, "
            "huma_count, entra_count, huma_partial, entra_partial, plan_rows) "
            "VALUES ('acme-1', ?, 'apply', ?, ?, 'succeeded', 3, 3, false, false, ?)",
            [ACME, NIGHT_1, NIGHT_1, result.sync_plan.height],
        )
        insert_frame(conn, "huma_users", huma, run)
        insert_frame(conn, "entra_users", entra, run)
        for table in OUTPUT_TABLES:
            insert_frame(conn, table, getattr(result, table), run)
        insert_frame(conn, "links", state.links, run)
        insert_frame(conn, "baseline", state.baseline, run)
        insert_frame(conn, "activation", state.activation, run)
    finally:
        conn.close()
    return huma, result, state


def test_a_version_1_file_is_upgraded_in_place_and_keeps_its_data(tmp_path: Path) -> None:
    path = tmp_path / "history.duckdb"
    HistoryStore(path).migrate(target_version=1)
    huma, result, state = _write_version_1_night(path)

    store = HistoryStore(path)
    kept = store.load_state(connection=ACME)  # first use: upgrades the file

    assert store.schema_version() == LATEST_VERSION
    assert kept.links.equals(state.links)
    assert kept.baseline.sort("huma_id", "field").equals(state.baseline.sort("huma_id", "field"))
    assert kept.activation.equals(state.activation)
    assert store.snapshot(run_id="acme-1", side="huma").equals(huma.sort("huma_id"))
    assert store.run_frame(run_id="acme-1", table="sync_plan").equals(result.sync_plan)
    record = store.run(run_id="acme-1")
    assert record is not None
    assert (record.rollback_of, record.plan_rows) == (None, result.sync_plan.height)
    # Migration 2 gave every kept plan row its planned status as the first entry of its history.
    statuses = store.plan_with_statuses(run_id="acme-1")
    assert (
        statuses.get_column("status").to_list() == result.sync_plan.get_column("status").to_list()
    )
    history = store.status_history(run_id="acme-1")
    assert history.get_column("reason").unique().to_list() == ["planned"]
    assert history.height == result.sync_plan.height

    # The upgraded file goes on as if it had always been at the latest version.
    reject_di_create(store, result.sync_plan)
    run_night(store, connection=ACME, run_id="acme-2", run_at=NIGHT_2, snapshots=acme_snapshots(2))
    pending = store.pending_decisions(connection=ACME)
    assert sorted(pending.get_column("email_key").to_list()) == ["bo@example.com", "cy@example.com"]
    assert store.applied_changes(run_id="acme-2").height == 1


def test_released_migrations_never_change() -> None:
    digests = {
        m.version: hashlib.sha256("\n".join(m.statements).encode()).hexdigest() for m in MIGRATIONS
    }
    assert digests == RELEASED
    assert [m.version for m in MIGRATIONS] == list(range(1, LATEST_VERSION + 1))


def test_a_file_from_newer_code_is_refused(store: HistoryStore) -> None:
    store.migrate()
    conn = connect(store.path, read_only=False, timeout_seconds=5)
    try:
        conn.execute("INSERT INTO schema_migrations VALUES (?, 'from the future', now())", [99])
    finally:
        conn.close()
    with pytest.raises(HistoryNotReady, match="version 99, newer than this code"):
        HistoryStore(store.path).runs(connection=ACME)
    with pytest.raises(HistoryNotReady, match="version 99, newer than this code"):
        read_only_store(store.path).runs(connection=ACME)


def test_a_reader_never_creates_a_file(tmp_path: Path) -> None:
    path = tmp_path / "history.duckdb"
    with pytest.raises(HistoryNotReady, match="no history database"):
        read_only_store(path).runs(connection=ACME)
    assert not path.exists()


def test_a_reader_never_upgrades_a_file(tmp_path: Path) -> None:
    path = tmp_path / "history.duckdb"
    HistoryStore(path).migrate(target_version=1)
    with pytest.raises(HistoryNotReady, match="the next run upgrades it"):
        read_only_store(path).runs(connection=ACME)
    assert HistoryStore(path, read_only=True).schema_version() == 1


@pytest.mark.parametrize("table", sorted(FRAME_TABLES))
def test_tables_hold_engine_frames_column_for_column(store: HistoryStore, table: str) -> None:
    store.migrate()
    before, schema, after = FRAME_TABLES[table]
    conn = connect(store.path, read_only=True, timeout_seconds=5)
    try:
        stored = conn.sql(f'SELECT * FROM "{table}" LIMIT 0').pl()
    finally:
        conn.close()
    assert stored.columns == [*before, *schema.names(), *after]
    assert stored.select(schema.names()).schema == schema


def test_a_failed_migration_leaves_the_file_at_the_previous_version(tmp_path: Path) -> None:
    path = tmp_path / "history.duckdb"
    HistoryStore(path).migrate(target_version=1)
    conn = connect(path, read_only=False, timeout_seconds=5)
    try:  # someone's own table in the way of migration 2
        conn.execute("CREATE TABLE payloads (note VARCHAR)")
    finally:
        conn.close()
    with pytest.raises(duckdb.CatalogException, match="payloads"):
        HistoryStore(path).migrate()
    assert HistoryStore(path).schema_version() == 1
    columns = [
        row[0]
        for row in _sql(
            path, "SELECT column_name FROM information_schema.columns WHERE table_name = 'runs'"
        )
    ]
    assert "rollback_of" not in columns  # migration 2's first statement was rolled back too

    conn = connect(path, read_only=False, timeout_seconds=5)
    try:
        conn.execute("DROP TABLE payloads")
    finally:
        conn.close()
    assert HistoryStore(path).migrate() == list(range(2, LATEST_VERSION + 1))

"""Snapshots: each side's normalised frame reads back 1:1 (dtypes, nulls, lists, time zones);
recording a run's side again replaces it; raw payloads read back as given and are kept once per
content and connection however many runs saw them, packed (`RawPayloads`, written a chunk at a
time) as from a frame."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from resources.history import HistoryStore, runs
from resources.history.files import connect
from resources.huma_payloads import CHUNK_ROWS, RawPayloads
from tests.history.scenario import raw_payloads
from tests.reference.builders import entra_frame, entra_user, huma_frame, huma_user
from tests.resources.test_huma_payloads import raw_frame_of

T0 = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)

HUMA = huma_frame(
    huma_user("h1", "Ann.Lee@Example.com"),
    huma_user(
        "h2",
        "bo@example.com",
        phone=None,
        hire_date=date(1999, 12, 31),
        active=False,
        deactivated_at=datetime(2026, 2, 1, 12, 30, tzinfo=UTC),
        unknown_fields=["job_title", "phone"],
    ),
)
ENTRA = entra_frame(
    entra_user("e1", "ann.lee@example.com"),
    entra_user("e2", None, user_type="Guest", on_premises_sync_enabled=True, unknown_fields=[]),
)


def _count(path: Path, table: str) -> int:
    conn = connect(path, read_only=True, timeout_seconds=5)
    try:
        return conn.sql(f"SELECT count(*) FROM {table}").fetchall()[0][0]
    finally:
        conn.close()


def _begin(store: HistoryStore, run_id: str, day: int = 0, connection: str = "acme") -> None:
    store.begin_run(
        run_id=run_id, connection=connection, mode="apply", started_at=T0 + timedelta(day)
    )


@pytest.mark.parametrize(
    ("side", "users", "id_column"),
    [
        pytest.param("huma", HUMA, "huma_id", id="huma"),
        pytest.param("entra", ENTRA, "entra_id", id="entra"),
    ],
)
def test_a_snapshot_reads_back_exactly(
    store: HistoryStore, side: str, users: pl.DataFrame, id_column: str
) -> None:
    _begin(store, "r1")
    raw = raw_payloads(users, id_column)
    store.record_snapshot(run_id="r1", side=side, users=users, raw=raw)

    assert store.snapshot(run_id="r1", side=side).equals(users)
    assert store.snapshot_payloads(run_id="r1", side=side).equals(raw)
    assert store.snapshot(run_id="other", side=side).schema == users.schema


def test_recording_a_side_again_replaces_it(store: HistoryStore) -> None:
    _begin(store, "r1")
    store.record_snapshot(run_id="r1", side="huma", users=HUMA, raw=raw_payloads(HUMA, "huma_id"))
    smaller = HUMA.head(1)
    store.record_snapshot(
        run_id="r1",
        side="huma",
        users=smaller,
        raw=raw_payloads(smaller, "huma_id"),
        complete=False,
    )

    assert store.snapshot(run_id="r1", side="huma").equals(smaller)
    assert store.snapshot_payloads(run_id="r1", side="huma").height == 1
    record = store.run(run_id="r1")
    assert record is not None
    assert (record.huma_count, record.huma_partial, record.entra_count) == (1, True, None)


def test_unchanged_payloads_are_kept_once(store: HistoryStore) -> None:
    nights = 5
    for night in range(nights):
        _begin(store, f"r{night}", night)
        changed = HUMA.with_columns(
            job_title=pl.when(pl.col("huma_id") == "h1")
            .then(pl.lit(f"Engineer {night}"))
            .otherwise("job_title")
        )
        store.record_snapshot(
            run_id=f"r{night}", side="huma", users=changed, raw=raw_payloads(changed, "huma_id")
        )
        assert store.snapshot_payloads(run_id=f"r{night}", side="huma").equals(
            raw_payloads(changed, "huma_id")
        )

    # h2 never changed: one copy; h1 changed every night: one copy per night.
    assert _count(store.path, "payloads") == 1 + nights
    assert _count(store.path, "snapshot_payloads") == 2 * nights


def test_connections_keep_their_own_payloads(store: HistoryStore) -> None:
    raw = raw_payloads(HUMA, "huma_id")
    for run_id, connection in (("a1", "acme"), ("g1", "globex")):
        _begin(store, run_id, connection=connection)
        store.record_snapshot(run_id=run_id, side="huma", users=HUMA, raw=raw)
    assert _count(store.path, "payloads") == 2 * HUMA.height
    assert store.snapshot_payloads(run_id="g1", side="huma").equals(raw)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        pytest.param({"side": "sap"}, "side must be", id="unknown-side"),
        pytest.param({"users": HUMA.drop("email")}, "missing", id="users-schema"),
        pytest.param({"raw": pl.DataFrame({"huma_id": ["h1"]})}, "raw payloads", id="raw-schema"),
        pytest.param(
            {"raw": RawPayloads.of(pl.DataFrame({"entra_id": ["e1"], "payload": ["{}"]}))},
            "raw payloads",
            id="packed-raw-of-the-other-side",
        ),
    ],
)
def test_frames_that_break_their_schema_are_refused(
    store: HistoryStore, arguments: dict, message: str
) -> None:
    _begin(store, "r1")
    with pytest.raises(ValueError, match=message):
        store.record_snapshot(**{"run_id": "r1", "side": "huma", "users": HUMA} | arguments)


def test_payloads_beyond_the_write_s_memory_limit_are_kept_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runs, "PAYLOAD_WRITE_MEMORY_LIMIT", "32MB")
    store = HistoryStore(tmp_path / "history.duckdb")
    ids = [f"h{n}" for n in range(30_000)]
    raw = pl.DataFrame(
        {"huma_id": ids, "payload": [f'{{"id": "{i}", "note": "{i * 400}"}}' for i in ids]}
    )

    _begin(store, "r1")
    with store.session(doing="a large snapshot"):
        store.record_snapshot(run_id="r1", side="huma", users=HUMA, raw=raw)
        store.record_snapshot(run_id="r1", side="entra", users=ENTRA)

    assert raw["payload"].str.len_bytes().sum() > 2 * 32 * 2**20
    assert (
        store.snapshot_payloads(run_id="r1", side="huma")
        .sort("huma_id")
        .equals(raw.sort("huma_id"))
    )
    assert store.snapshot(run_id="r1", side="entra").equals(ENTRA)


def test_payloads_of_any_length_and_script_read_back_as_given(store: HistoryStore) -> None:
    # Short texts sit inside an Arrow string view, long ones in its data buffers: both kinds,
    # and text beyond ASCII, are kept byte for byte.
    payloads = [
        "null",
        "{}",
        '{"id":"h12"}',
        '{"id":"h123"}',
        '{"name":"Zoë Ångström 山田 🙂"}',
        '{"note":"' + "x" * 5_000 + '"}',
        '{"id":"h1"}',
    ]
    raw = pl.DataFrame({"huma_id": [f"h{n}" for n in range(len(payloads))], "payload": payloads})
    _begin(store, "r1")
    store.record_snapshot(run_id="r1", side="huma", users=HUMA, raw=raw)

    assert store.snapshot_payloads(run_id="r1", side="huma").equals(raw)


def test_packed_payloads_are_kept_byte_identical_once_per_content_across_chunks(
    tmp_path: Path,
) -> None:
    # Every content twice or more, in different chunks; two runs share the contents too.
    raw = raw_frame_of(2 * CHUNK_ROWS + 7)
    kept = {}
    for name, given in (("frame", raw), ("packed", RawPayloads.of(raw))):
        store = HistoryStore(tmp_path / f"{name}.duckdb")
        for run_id in ("r1", "r2"):
            _begin(store, run_id)
            store.record_snapshot(run_id=run_id, side="huma", users=HUMA, raw=given)
        kept[name] = store.snapshot_payloads(run_id="r2", side="huma")
        assert _count(store.path, "payloads") == raw["payload"].n_unique()

    assert kept["packed"].equals(raw.sort("huma_id"))
    assert kept["packed"].equals(kept["frame"])

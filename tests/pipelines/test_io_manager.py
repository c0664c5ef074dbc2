"""How outputs pass between steps (`pipelines.io_manager`): each is kept as an owner-only file in
the instance's storage (a frame as Arrow IPC, anything else pickled) where a later run, such as
the UI's re-execution from a failed step, loads it; a step of the same run and process gets the
value itself; files of the earlier pickling IO manager still load; and the IO manager adds no log
lines to the event log. The run holds a value only until every step of it that reads the value
has it, and an input may take one attribute of a value; writing a value with frames inside holds
one frame's bytes at a time.
"""

from __future__ import annotations

import io
import pickle
import stat
import tracemalloc
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from pipelines.io_manager import PART_BYTES, read_value, run_outputs_io_manager, write_value
from tests.pipelines.released_outputs import FRAME, HELD, RELEASING, Plan, applied, planned
from tests.reference.builders import huma_frame, huma_user

SEEN: dict[str, object] = {}


@dg.asset(key=["acme", "users"])
def users() -> pl.DataFrame:
    return FRAME


@dg.asset(key=["acme", "plan"], ins={"frame": dg.AssetIn(["acme", "users"])})
def plan(frame: pl.DataFrame) -> Plan:
    return Plan(frame, "two rows")


@dg.asset(
    key=["acme", "report"],
    ins={"frame": dg.AssetIn(["acme", "users"]), "the_plan": dg.AssetIn(["acme", "plan"])},
)
def report(frame: pl.DataFrame, the_plan: Plan) -> dict[str, str]:
    SEEN.update(frame=frame, plan=the_plan)
    return {"rows": str(frame.height)}


ASSETS = [users, plan, report]


@pytest.fixture
def instance(tmp_path: Path):
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        yield instance


def _storage(instance: dg.DagsterInstance) -> Path:
    return Path(instance.storage_directory())


def test_outputs_are_owner_only_files_a_frame_as_arrow(instance: dg.DagsterInstance) -> None:
    result = dg.materialize(
        ASSETS, instance=instance, resources={"io_manager": run_outputs_io_manager}
    )

    assert result.success
    storage = _storage(instance)
    files = sorted((storage / "acme").iterdir())
    assert [p.name for p in files] == ["plan", "report", "users"]
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in files)
    assert pl.read_ipc(storage / "acme" / "users").equals(FRAME)
    assert read_value(storage / "acme" / "plan").note == "two rows"
    materialization = result.asset_materializations_for_node("acme__users")[0]
    assert materialization.metadata["path"].value == str(storage / "acme" / "users")


def test_a_step_of_the_same_run_gets_the_value_itself(instance: dg.DagsterInstance) -> None:
    result = dg.materialize(
        ASSETS, instance=instance, resources={"io_manager": run_outputs_io_manager}
    )

    assert result.success
    assert SEEN["frame"] is FRAME
    assert SEEN["plan"].rows is FRAME


def test_a_later_run_loads_the_files(instance: dg.DagsterInstance) -> None:
    resources = {"io_manager": run_outputs_io_manager}
    assert dg.materialize(ASSETS, instance=instance, resources=resources).success
    SEEN.clear()

    again = dg.materialize(
        ASSETS, instance=instance, resources=resources, selection=[dg.AssetKey(["acme", "report"])]
    )

    assert again.success
    assert SEEN["frame"].equals(FRAME)
    assert SEEN["frame"] is not FRAME
    assert SEEN["plan"].note == "two rows"
    assert SEEN["plan"].rows.equals(FRAME)


def test_files_of_the_pickling_io_manager_still_load(instance: dg.DagsterInstance) -> None:
    folder = _storage(instance) / "acme"
    folder.mkdir(parents=True)
    (folder / "users").write_bytes(pickle.dumps(FRAME))
    (folder / "plan").write_bytes(pickle.dumps(Plan(FRAME.head(1), "one row")))
    SEEN.clear()

    result = dg.materialize(
        ASSETS,
        instance=instance,
        resources={"io_manager": run_outputs_io_manager},
        selection=[dg.AssetKey(["acme", "report"])],
    )

    assert result.success
    assert SEEN["frame"].equals(FRAME)
    assert SEEN["plan"].note == "one row"


def test_the_io_manager_logs_nothing(instance: dg.DagsterInstance) -> None:
    result = dg.materialize(
        ASSETS, instance=instance, resources={"io_manager": run_outputs_io_manager}
    )

    logs = [
        entry.user_message
        for entry in instance.all_logs(result.run_id)
        if entry.dagster_event is None
    ]
    assert logs == []


def test_frames_inside_a_pickled_value_read_back_exactly(tmp_path: Path) -> None:
    # The frames of a snapshot or a plan, with the dtypes the steps pass on.
    gone = datetime(2026, 2, 1, 12, 30, tzinfo=UTC)
    users = huma_frame(
        huma_user("h1", "Ann.Lee@Example.com", hire_date=date(1999, 12, 31)),
        huma_user("h2", None, active=False, deactivated_at=gone, unknown_fields=["phone"]),
    )
    value = Plan(users, "two users")
    write_value(tmp_path / "plan", value)

    loaded = read_value(tmp_path / "plan")
    assert loaded.note == "two users"
    assert loaded.rows.schema == users.schema
    assert loaded.rows.equals(users)
    with (tmp_path / "plan").open("rb") as handle:
        assert pickle.load(handle).rows.equals(users)  # noqa: S301 - the test's own file


def test_a_value_is_let_go_once_every_step_of_the_run_that_reads_it_has_it(
    instance: dg.DagsterInstance,
) -> None:
    HELD.clear()
    job = dg.build_reconstructable_job("tests.pipelines.released_outputs", "releasing_job")
    with dg.execute_job(job, instance=instance) as result:
        assert result.success
    assert HELD["alive_at_the_end"] == {"snapshot": False, "read_once": False, "unread": False}


def test_an_input_may_take_one_attribute_of_the_value(instance: dg.DagsterInstance) -> None:
    HELD.clear()
    resources = {"io_manager": run_outputs_io_manager}
    assert dg.materialize(RELEASING, instance=instance, resources=resources).success
    assert HELD["applied_got"].equals(FRAME)

    HELD.clear()  # a re-execution of the step reads the attribute from the file
    again = dg.materialize(
        RELEASING, instance=instance, resources=resources, selection=[applied.key]
    )

    assert again.success
    assert HELD["applied_got"].equals(FRAME)


def test_a_released_value_still_loads_from_its_file_in_a_later_run(
    instance: dg.DagsterInstance,
) -> None:
    resources = {"io_manager": run_outputs_io_manager}
    assert dg.materialize(RELEASING, instance=instance, resources=resources).success
    HELD.clear()

    again = dg.materialize(
        RELEASING, instance=instance, resources=resources, selection=[planned.key]
    )

    assert again.success
    note, rows = HELD["planned_got"]
    assert note == "snapshot"
    assert rows.equals(FRAME)


def test_writing_a_value_holds_one_of_its_frames_at_a_time(tmp_path: Path) -> None:
    frame = pl.DataFrame({"user_id": [f"user-{i:08d}" for i in range(200_000)]})
    one = io.BytesIO()
    frame.write_ipc(one, compression="uncompressed")
    frames = tuple(frame.clone() for _ in range(4))

    tracemalloc.start()
    try:
        write_value(tmp_path / "value", frames)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert peak < 2 * one.getbuffer().nbytes
    assert all(f.equals(frame) for f in read_value(tmp_path / "value"))


def test_a_large_frame_inside_a_value_is_written_in_parts_and_reads_back_whole(
    tmp_path: Path,
) -> None:
    rows = 3 * PART_BYTES // 16  # two 8-byte columns: about three parts' worth
    frame = pl.DataFrame({"n": range(rows), "m": range(rows)}).with_columns(
        name=pl.format("user-{}", "n")
    )
    write_value(tmp_path / "value", Plan(frame, "large"))

    loaded = read_value(tmp_path / "value")
    assert loaded.rows.n_chunks() > 1  # the parts, not one whole
    assert loaded.rows.schema == frame.schema
    assert loaded.rows.equals(frame)
    with (tmp_path / "value").open("rb") as handle:
        assert pickle.load(handle).rows.equals(frame)  # noqa: S301 - the test's own file

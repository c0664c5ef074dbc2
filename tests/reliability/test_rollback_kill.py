"""A rollback killed with SIGKILL at any point is finished by running `rollback RUN_ID` again.

The real command (`huma-entra-sync rollback RUN_ID --yes`, in its own process) undoes a run that
wrote both to Entra (first-sync names, phones, addresses) and to Huma (phones, Entra's side). The
kill lands at a point drawn from the seed, whatever the machine's speed: one emulator holds every
request after its k-th write (`faults.hold_after_writes`; a Graph `$batch` counts once), the test
waits until a request is held (`held()`) and kills the process there. Then the same command runs
again. Pins, against an uninterrupted rollback of the same run from the same state:

* every restoring write reached its target exactly once across both processes (the emulators'
  request logs): nothing lost, nothing applied twice;
* both systems end exactly as after the uninterrupted rollback;
* the undone run's plan rows end with the same statuses (`rolled_back`), and the connection's
  baseline rows (agreed values reset) are the same;
* the killed rollback is finished in the history (`interrupted`, no open journal intent).

And: while a rollback holds the connection's run lock, a console `run` refuses at once naming the
rollback, and a rollback refuses while a `run` holds it; but a rollback waiting on Huma or Entra
leaves the history file free, so the runs of the other connections are never kept out by it.

Each case records `case`, `runs`, `changes_lost` and `changes_applied_twice` (measured).
"""

from __future__ import annotations

import dataclasses
import random
import shutil
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pytest

from resources.history.files import connect
from tests.console_deployment import (
    CONNECTIONS,
    console,
    deployment_environment,
    finished_run,
    started_console,
)
from tests.resources.conftest import Outside, outside_session, world  # noqa: F401 - fixtures

#: Phones and employment ids go Entra → Huma at the first sync without asking, so the run (and
#: its rollback) writes Huma too.
ROLLBACK_CONNECTIONS = CONNECTIONS.replace(
    "        phone: huma_to_entra\n",
    "        phone: entra_to_huma\n        employment_id: entra_to_huma\n",
).replace(
    "      create_entra_users_automatically: true\n",
    "      create_entra_users_automatically: true\n      auto_apply_entra_to_huma: true\n",
)
SEEDS = range(1, 23)
FAST_SEEDS = (1, 2, 3)
HOLD_DEADLINE_SECONDS = 240
#: Runs of the real command, each its own process: minutes on a loaded machine.
pytestmark = pytest.mark.slow


@dataclasses.dataclass(frozen=True)
class Ran:
    """The state after the run to undo: both emulators' states and the history file."""

    run_id: str
    huma: dict[str, Any]
    entra: dict[str, Any]
    history: Path
    huma_patches: int


@dataclasses.dataclass(frozen=True)
class EndState:
    huma_users: list[dict[str, Any]]
    entra_users: list[dict[str, Any]]
    statuses: list[tuple]
    baseline: list[tuple]
    writes: Counter


def _environment(outside: Outside, folder: Path) -> dict[str, str]:
    folder.mkdir(parents=True, exist_ok=True)
    connections = folder / "connections.yaml"
    connections.write_text(ROLLBACK_CONNECTIONS, encoding="utf-8")
    return deployment_environment(outside.env, folder) | {
        "HUMA_ENTRA_SYNC_CONNECTIONS": str(connections)
    }


def _restore_writes(outside: Outside) -> Counter:
    """Every write the emulators applied since their logs were cleared, by target and body."""
    applied: Counter = Counter()
    for system, admin in (("huma", outside.huma), ("graph", outside.entra)):
        for entry in admin.requests(method="PATCH"):
            in_batch = entry["parent"] is not None
            if system == "graph" and not in_batch:
                continue  # the product sends Graph writes in `$batch` only
            if entry["status"] is not None and 200 <= entry["status"] < 300:
                body = orjson.dumps(entry["body"], option=orjson.OPT_SORT_KEYS).decode()
                applied[(system, entry["path"], body)] += 1
    return applied


def _load(outside: Outside, ran: Ran) -> None:
    for admin, state in ((outside.huma, ran.huma), (outside.entra, ran.entra)):
        admin.update_settings({"faults": {"hold_after_writes": None}})
        admin.load_state(state)
        admin.clear_requests()


def _history_rows(history: Path, run_id: str) -> tuple[list[tuple], list[tuple]]:
    with duckdb.connect(str(history), read_only=True) as conn:
        statuses = conn.execute(
            "SELECT change_id, status FROM sync_plan_current WHERE run_id = ? ORDER BY change_id",
            [run_id],
        ).fetchall()
        baseline = conn.execute(
            "SELECT huma_id, field, has_agreed, agreed, huma_seen, entra_seen FROM baseline "
            "ORDER BY huma_id, field"
        ).fetchall()
    return statuses, baseline


def _end_state(outside: Outside, history: Path, run_id: str) -> EndState:
    statuses, baseline = _history_rows(history, run_id)
    tenant = outside.entra.state()["tenants"][0]
    return EndState(
        huma_users=sorted(outside.huma.state()["users"], key=lambda u: u["id"]),
        entra_users=sorted(tenant["users"], key=lambda u: u["id"]),
        statuses=statuses,
        baseline=baseline,
        writes=_restore_writes(outside),
    )


def _rollback(env: dict[str, str], run_id: str) -> subprocess.CompletedProcess[str]:
    return console("rollback", run_id, "--yes", env=env)


@pytest.fixture(scope="module")
def emulators(outside_session: Outside) -> Outside:  # noqa: F811 - the fixture
    """The session's emulators (each test loads the state it starts from)."""
    return outside_session


@pytest.fixture(scope="module")
def ran(emulators: Outside, tmp_path_factory: pytest.TempPathFactory) -> Ran:
    """One run of the connection from the generated world, kept to be undone again and again."""
    outside = emulators
    _load(outside, Ran("", outside.world.huma, outside.world.entra, Path(), 0))
    folder = tmp_path_factory.mktemp("rollback-kill-run")
    env = _environment(outside, folder)
    run_id = finished_run(console("run", env=env), "acme")
    with duckdb.connect(str(folder / "history.duckdb"), read_only=True) as conn:
        [(graph, huma)] = conn.execute(
            "SELECT count(*) FILTER (WHERE system = 'graph'), "
            "count(*) FILTER (WHERE system = 'huma') FROM apply_journal "
            "WHERE run_id = ? AND operation = 'patch' AND status = 'applied'",
            [run_id],
        ).fetchall()
    assert (graph >= 5, huma >= 10) == (True, True), f"few writes: {graph} Graph, {huma} Huma"
    return Ran(
        run_id,
        outside.huma.state(),
        outside.entra.state(),
        folder / "history.duckdb",
        huma_patches=huma,
    )


@pytest.fixture(scope="module")
def uninterrupted(
    ran: Ran, emulators: Outside, tmp_path_factory: pytest.TempPathFactory
) -> EndState:
    """The end state of a rollback of the run that nothing interrupted."""
    _load(emulators, ran)
    folder = tmp_path_factory.mktemp("rollback-uninterrupted")
    shutil.copyfile(ran.history, folder / "history.duckdb")
    done = _rollback(_environment(emulators, folder), ran.run_id)
    assert done.returncode == 0, done.stdout + done.stderr
    end = _end_state(emulators, folder / "history.duckdb", ran.run_id)
    assert end.writes
    assert set(end.writes.values()) == {1}
    return end


@pytest.fixture
def seed_folder(ran: Ran, tmp_path: Path) -> Path:
    """A deployment folder holding a copy of the history as the run left it."""
    folder = tmp_path / "deployment"
    folder.mkdir()
    shutil.copyfile(ran.history, folder / "history.duckdb")
    return folder


def _kill_point(seed: int, ran: Ran) -> tuple[str, int]:
    """(emulator, writes let through before the hold) for `seed`.

    A hold after 0 writes holds the rollback's first read, before it wrote anything; the
    rollback sends Entra's restores first (one `$batch` here), then Huma's one by one, so a hold
    on Huma after k writes kills it with Entra restored and k of Huma's restores applied.
    """
    points = [("entra", 0)] + [("huma", k) for k in range(1, ran.huma_patches)]
    return random.Random(seed).choice(points)


def _wait_until_held(outside: Outside, emulator: str, process: subprocess.Popen) -> None:
    admin = outside.emulators.admin(emulator)
    deadline = time.monotonic() + HOLD_DEADLINE_SECONDS
    while admin.held() == 0:
        if process.poll() is not None:
            out, err = process.communicate()
            pytest.fail(f"the rollback ended before the hold ({process.returncode}): {out}{err}")
        assert time.monotonic() < deadline, "the rollback never reached the hold"
        time.sleep(0.05)


def _seeds() -> list[Any]:
    slow = pytest.mark.reliability_slow
    return [
        pytest.param(seed, id=f"seed-{seed}", marks=() if seed in FAST_SEEDS else slow)
        for seed in SEEDS
    ]


@pytest.mark.parametrize("seed", _seeds())
def test_a_killed_rollback_is_finished_by_running_it_again(
    seed: int,
    ran: Ran,
    uninterrupted: EndState,
    emulators: Outside,
    seed_folder: Path,
    record_property,
) -> None:
    outside = emulators
    _load(outside, ran)
    env = _environment(outside, seed_folder)
    emulator, writes_through = _kill_point(seed, ran)
    outside.emulators.admin(emulator).update_settings(
        {"faults": {"hold_after_writes": writes_through}}
    )
    killed = started_console("rollback", ran.run_id, "--yes", env=env)
    _wait_until_held(outside, emulator, killed)
    killed.send_signal(signal.SIGKILL)
    killed.communicate()
    outside.emulators.admin(emulator).update_settings({"faults": {"hold_after_writes": None}})

    again = _rollback(env, ran.run_id)

    end = _end_state(outside, seed_folder / "history.duckdb", ran.run_id)
    expected = uninterrupted.writes
    lost = sum(1 for write in expected if end.writes[write] == 0)
    twice = sum(count - 1 for count in end.writes.values() if count > 1)
    record_property("case", "SIGKILL during rollback")
    record_property("runs", 2)
    record_property("changes_lost", lost)
    record_property("changes_applied_twice", twice)
    assert again.returncode == 0, again.stdout + again.stderr
    assert (lost, twice) == (0, 0), f"kill at {emulator} after {writes_through} writes"
    assert set(end.writes) == set(expected)
    assert end.entra_users == uninterrupted.entra_users
    assert end.huma_users == uninterrupted.huma_users
    assert end.statuses == uninterrupted.statuses
    assert end.baseline == uninterrupted.baseline
    with duckdb.connect(str(seed_folder / "history.duckdb"), read_only=True) as conn:
        rollbacks = conn.execute(
            "SELECT outcome FROM runs WHERE mode = 'rollback' ORDER BY started_at"
        ).fetchall()
        [(still_open,)] = conn.execute(
            "SELECT count(*) FROM apply_journal WHERE status IS NULL OR status = 'unknown'"
        ).fetchall()
    assert still_open == 0
    assert rollbacks[-1] == ("succeeded",)
    assert all(outcome in ("interrupted",) for (outcome,) in rollbacks[:-1])


def test_a_run_and_a_rollback_of_one_connection_never_overlap(
    ran: Ran, emulators: Outside, seed_folder: Path
) -> None:
    outside = emulators
    _load(outside, ran)
    env = _environment(outside, seed_folder)
    outside.huma.update_settings({"faults": {"hold_after_writes": 0}})  # held at its first read
    rolling = started_console("rollback", ran.run_id, "--yes", env=env)
    try:
        _wait_until_held(outside, "huma", rolling)

        run = console("run", env=env)
        second = _rollback(env, ran.run_id)
    finally:
        rolling.send_signal(signal.SIGKILL)
        rolling.communicate()
        outside.huma.update_settings({"faults": {"hold_after_writes": None}})

    for refused in (run, second):
        assert refused.returncode == 1, refused.stdout + refused.stderr
        assert f"rollback of run {ran.run_id}" in refused.stderr
        assert "is already running" in refused.stderr
    assert outside.entra.requests(method="PATCH") == []


def test_a_rollback_waiting_on_the_network_keeps_no_other_connection_out_of_the_history(
    ran: Ran, emulators: Outside, seed_folder: Path
) -> None:
    outside = emulators
    _load(outside, ran)
    env = _environment(outside, seed_folder)
    # Held after its first restoring write to Huma: in the middle of sending.
    outside.huma.update_settings({"faults": {"hold_after_writes": 1}})
    rolling = started_console("rollback", ran.run_id, "--yes", env=env)
    try:
        _wait_until_held(outside, "huma", rolling)
        # Another connection's run opens the file for its short transactions: the rollback,
        # held by Huma for as long as Huma likes, must not make it wait out its timeout.
        other = connect(seed_folder / "history.duckdb", read_only=False, timeout_seconds=10)
        other.close()
    finally:
        rolling.send_signal(signal.SIGKILL)
        rolling.communicate()
        outside.huma.update_settings({"faults": {"hold_after_writes": None}})

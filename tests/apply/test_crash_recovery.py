"""A run killed in the middle of applying 1,000 changes loses nothing and repeats nothing.

The real command (`huma-entra-sync run`, in its own process) applies 1,000 changes to the Graph
emulator and is killed with SIGKILL part-way; a second run finishes the job. Pins: the emulator's
request log shows every change applied exactly once across both runs; the end state equals that
of a run that was never interrupted; the second run settled the killed run's open journal.

The kill lands at a known point, whatever the machine's speed: the emulator holds every request
after the 15th `$batch` of writes (`faults.hold_after_writes`), so the run is killed with exactly
300 changes applied and the 16th batch sent but never processed, mid-way through a journal chunk.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pytest
import yaml

from emulators.data import Drift, generate_world
from emulators.launcher import Emulators

CHANGES = 1000
#: Batches of 20 let through before the hold: 300 changes, the middle of the second chunk of 200.
BATCHES_BEFORE_KILL = 15
APPLIED_BEFORE_KILL = 300


def _world_with_changes() -> Any:
    """1,000 people in sync, then each one's family name changed in Huma."""
    world = generate_world(users=CHANGES, seed=31, drift=Drift.none())
    for user in world.huma["users"]:
        user["familyName"] = f"{user['familyName']}-Ny"
    return world


@pytest.fixture(scope="module")
def emulators(tmp_path_factory: pytest.TempPathFactory):
    world = _world_with_changes()
    root = tmp_path_factory.mktemp("crash")
    huma, entra = root / "huma.json", root / "entra.json"
    huma.write_bytes(orjson.dumps(world.huma))
    entra.write_bytes(orjson.dumps(world.entra))
    with Emulators(state_dir=root, huma_state=huma, entra_state=entra) as running:
        yield running, world


@dataclasses.dataclass
class Deployment:
    env: dict[str, str]
    history: Path

    def run(self) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "cli.main", "run"],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )


def _deployment(emulators: Emulators, world: Any, folder: Path) -> Deployment:
    """A fresh deployment (history, reports, Dagster home) against the emulators' world."""
    folder.mkdir(parents=True)
    connections = folder / "connections.yaml"
    connections.write_text(
        yaml.safe_dump(
            {
                "connections": {
                    "default": {
                        "huma": {
                            "base_url": emulators.huma_url,
                            "client_id_env": "HUMA_CLIENT_ID",
                            "client_secret_env": "HUMA_CLIENT_SECRET",
                        },
                        "entra": {
                            "tenant_id_env": "ENTRA_TENANT_ID",
                            "client_id_env": "ENTRA_CLIENT_ID",
                            "client_secret_env": "ENTRA_CLIENT_SECRET",
                            "authority_host": emulators.entra_url,
                            "graph_base_url": f"{emulators.entra_url}/v1.0",
                        },
                        "policy": {
                            "initial_direction": {"family_name": "huma_to_entra"},
                            "mass_change_max_share": 1.0,
                        },
                    }
                }
            }
        )
    )
    env = {
        **os.environ,
        **emulators.environment(),
        "HUMA_ENTRA_SYNC_CONNECTIONS": str(connections),
        "HISTORY_DB_PATH": str(folder / "history.duckdb"),
        "REPORTS_DIR": str(folder / "reports"),
        "DAGSTER_HOME": str(folder / "dagster"),
    }
    return Deployment(env, folder / "history.duckdb")


def _reset(emulators: Emulators, world: Any, *, hold_after_writes: int | None = None) -> None:
    for name, state in (("huma", world.huma), ("entra", world.entra)):
        admin = emulators.admin(name)
        admin.load_state(state)
        admin.clear_requests()
    emulators.admin("entra").update_settings({"faults": {"hold_after_writes": hold_after_writes}})


def _wait_until_held(emulators: Emulators, process: subprocess.Popen) -> None:
    """Wait until the run's next write is held by the emulator (a state, not a guess of time)."""
    deadline = time.monotonic() + 240
    while emulators.admin("entra").held() == 0:
        assert process.poll() is None, "the run ended before it could be interrupted"
        assert time.monotonic() < deadline, "the apply never reached the hold"
        time.sleep(0.05)


def _applied_patches(emulators: Emulators) -> Counter[tuple[str, str]]:
    items = emulators.admin("entra").requests(method="PATCH")
    return Counter(
        (e["path"], orjson.dumps(e["body"], option=orjson.OPT_SORT_KEYS).decode())
        for e in items
        if e["parent"] is not None and e["status"] == 204
    )


def _users(emulators: Emulators) -> list[dict[str, Any]]:
    return sorted(emulators.admin("entra").state()["tenants"][0]["users"], key=lambda u: u["id"])


def _finish(process: subprocess.Popen) -> None:
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr.decode()[-3000:]


@pytest.mark.slow
@pytest.mark.timeout(1200)  # three runs of the real command, 1,000 changes each
def test_a_killed_apply_is_finished_once_by_the_next_run(emulators, tmp_path: Path) -> None:
    running, world = emulators
    _reset(running, world)
    _finish(_deployment(running, world, tmp_path / "uninterrupted").run())
    uninterrupted = _users(running)
    assert sum(_applied_patches(running).values()) == CHANGES

    _reset(running, world, hold_after_writes=BATCHES_BEFORE_KILL)
    deployment = _deployment(running, world, tmp_path / "interrupted")
    first = deployment.run()
    _wait_until_held(running, first)
    first.send_signal(signal.SIGKILL)
    first.communicate()
    assert sum(_applied_patches(running).values()) == APPLIED_BEFORE_KILL
    with duckdb.connect(str(deployment.history), read_only=True) as conn:
        [(open_at_kill,)] = conn.execute(
            "SELECT count(*) FROM apply_journal WHERE status IS NULL"
        ).fetchall()
    assert open_at_kill > 0  # killed with changes sent and their outcomes not yet recorded
    running.admin("entra").update_settings({"faults": {"hold_after_writes": None}})

    _finish(deployment.run())

    applied = _applied_patches(running)
    assert len(applied) == CHANGES
    assert set(applied.values()) == {1}  # every change applied exactly once
    assert _users(running) == uninterrupted
    with duckdb.connect(str(deployment.history), read_only=True) as conn:
        [(settled, still_open, runs)] = conn.execute(
            "SELECT count(*) FILTER (WHERE settled_by_run_id IS NOT NULL), "
            "count(*) FILTER (WHERE status IS NULL OR status = 'unknown'), "
            "(SELECT count(*) FROM runs) FROM apply_journal"
        ).fetchall()
    assert (settled, still_open, runs) == (open_at_kill, 0, 2)

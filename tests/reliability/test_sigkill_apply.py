"""A run killed with SIGKILL at a random point of its apply, seed after seed: the next run
finishes the job, every change is applied exactly once, and the end state equals that of a run
that was never interrupted.

The world: the generated company with every Huma user's family name changed, so the apply sends
a dozen `$batch`es to Graph. Each seed draws how many of them Graph carries out before it holds
every further request (`faults.hold_after_writes`): the console's run (`huma-entra-sync run`, a
process of its own) is killed while its next write is held, unprocessed, whatever the machine's
speed. The run after it is the schedule's (the same job, in this process). Three seeds run in
`make test`; `make reliability` runs all of them.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.console_deployment import ROOT, Deployment
from tests.reliability.cases import measure_and_record
from tests.reliability.inprocess import InProcessRuns, failure_text
from tests.reliability.outcome import clean_end_state, clean_graph_writes
from tests.resources.conftest import Outside

SEEDS = 20
FAST_SEEDS = 3
SCENARIO = "every family name changed in Huma"


def _renamed(outside: Outside) -> None:
    huma = outside.huma.state()
    for user in huma["users"]:
        user["familyName"] = f"{user['familyName']}-Ny"
    outside.huma.load_state(huma)


def _kill_while_held(deployment: Deployment, outside: Outside) -> None:
    run = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "run"],
        cwd=ROOT,
        env=deployment.environment(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 300
        while outside.entra.held() == 0:
            assert run.poll() is None, "the run ended before it was killed"
            assert time.monotonic() < deadline, "the apply never reached the hold"
            time.sleep(0.05)
    finally:
        run.send_signal(signal.SIGKILL)
        run.communicate()


@pytest.mark.parametrize(
    "seed",
    [
        pytest.param(seed, marks=[] if seed < FAST_SEEDS else [pytest.mark.reliability_slow])
        for seed in range(SEEDS)
    ],
)
def test_a_run_killed_mid_apply_is_finished_once_by_the_next(
    seed: int,
    deployment: Deployment,
    in_process: InProcessRuns,
    outside: Outside,
    tmp_path: Path,
    record_property,
) -> None:
    expected = clean_end_state(outside, tmp_path / "clean", SCENARIO, _renamed)
    writes = clean_graph_writes(SCENARIO)
    assert writes > 5, "the scenario's apply should take several requests"
    let_through = random.Random(seed).randrange(writes)
    outside.entra.update_settings({"faults": {"hold_after_writes": let_through}})

    _kill_while_held(deployment, outside)
    outside.entra.update_settings({"faults": {"hold_after_writes": None}})
    finished = in_process.run()

    assert finished.success, failure_text(finished)
    lost, twice = measure_and_record(
        record_property, "SIGKILL at a random point of the apply", outside, expected
    )
    assert (lost, twice) == (0, 0)

"""Graph and Huma throttle or fail in storms: the run waits as told, retries what is safe to
retry, and ends where a clean run ends; a change whose write failed is finished by the next run,
never applied twice.

The clients never really sleep (`inprocess.NoWait`): a `Retry-After` of ten minutes costs no time,
and the test pins that the run honoured it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability.cases import measure_and_record
from tests.reliability.inprocess import InProcessRuns, failure_text
from tests.reliability.outcome import clean_end_state, the_world
from tests.resources.conftest import Outside

LONG_RETRY_AFTER = 600.0


@pytest.mark.reliability_slow
def test_a_429_storm_with_long_retry_after_ends_as_a_clean_run(
    in_process: InProcessRuns, outside: Outside, tmp_path: Path, record_property
) -> None:
    expected = clean_end_state(outside, tmp_path / "clean", "world", the_world)
    for settings, seed in ((outside.entra_settings, 7), (outside.huma_settings, 8)):
        settings(throttle_rate=0.3, throttle_retry_after=LONG_RETRY_AFTER, seed=seed)

    result = in_process.run()

    assert result.success, failure_text(result)
    lost, twice = measure_and_record(
        record_property, "429 storm, long Retry-After", outside, expected
    )
    assert (lost, twice) == (0, 0)
    throttled = [e for e in outside.entra.requests() if e["status"] == 429]
    throttled += [e for e in outside.huma.requests() if e["status"] == 429]
    assert len(throttled) > 10  # a storm, in both services
    assert max(in_process.waits.waits) >= LONG_RETRY_AFTER  # told to wait ten minutes, it did


@pytest.mark.reliability_slow
def test_5xx_bursts_end_as_a_clean_run_by_the_next_run(
    in_process: InProcessRuns, outside: Outside, tmp_path: Path, record_property
) -> None:
    expected = clean_end_state(outside, tmp_path / "clean", "world", the_world)
    for settings, seed in ((outside.entra_settings, 17), (outside.huma_settings, 18)):
        # One answer in ten: a read that fails 8 times running (the retries' bound, then the
        # run stops safely) would take one in 10^8; writes answered 500 fail and are retried
        # by the next run.
        settings(error_rate=0.1, seed=seed)

    faulted = in_process.run()
    failed = [e for e in outside.entra.requests() if (e["status"] or 0) >= 500]
    failed += [e for e in outside.huma.requests() if (e["status"] or 0) >= 500]
    for settings in (outside.entra_settings, outside.huma_settings):
        settings(error_rate=0.0)
    after = in_process.run()

    assert faulted.success, failure_text(faulted)
    assert after.success, failure_text(after)
    lost, twice = measure_and_record(record_property, "5xx bursts", outside, expected, runs=2)
    assert (lost, twice) == (0, 0)
    assert len(failed) > 10

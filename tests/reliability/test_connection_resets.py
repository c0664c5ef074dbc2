"""Connections reset mid-page (Graph's user pages, Huma's list and detail reads) and mid-`$batch`:
a read is read again, a batch whose answer was lost is settled by re-reading its targets, and the
run, with the next one, ends where a clean run ends, with no change applied twice.

The resets are the emulators' dropped connections (`faults.drop_rate`): "after" drops answer a
request the service has already carried out, the case that makes a blind resend of a write unsafe.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability.cases import measure_and_record
from tests.reliability.inprocess import InProcessRuns, failure_text
from tests.reliability.outcome import clean_end_state, the_world
from tests.resources.conftest import Outside

pytestmark = pytest.mark.reliability_slow


def _dropped(outside: Outside, side: str) -> int:
    admin = outside.entra if side == "entra" else outside.huma
    return sum(1 for e in admin.requests() if (e.get("fault") or "").startswith("drop"))


def test_connections_reset_mid_page_of_graph_and_huma(
    in_process: InProcessRuns, outside: Outside, tmp_path: Path, record_property
) -> None:
    expected = clean_end_state(outside, tmp_path / "clean", "world", the_world)
    outside.huma_settings(drop_rate=0.1, seed=21)
    outside.entra_settings(drop_rate=0.4, seed=22)
    # Graph's pages only: the connection resets stop before the first write.
    in_process.hooks.graph_write = lambda _: outside.entra_settings(drop_rate=0.0)

    result = in_process.run()

    assert result.success, failure_text(result)
    assert _dropped(outside, "huma") > 5
    assert _dropped(outside, "entra") > 0
    lost, twice = measure_and_record(
        record_property, "connection reset mid-page", outside, expected
    )
    assert (lost, twice) == (0, 0)


def test_connections_reset_mid_batch(
    in_process: InProcessRuns, outside: Outside, tmp_path: Path, record_property
) -> None:
    expected = clean_end_state(outside, tmp_path / "clean", "world", the_world)
    # Half the answers lost after Graph carried the request out, from the first write on.
    in_process.hooks.graph_write = lambda _: outside.entra_settings(
        drop_rate=0.5, drop_phase="after", seed=23
    )
    faulted = in_process.run()
    lost_batches = [
        e
        for e in outside.entra.requests(method="POST")
        if e["path"].endswith("$batch") and e["fault"] == "drop_after"
    ]
    assert lost_batches, "no `$batch` answer was lost"
    in_process.hooks.graph_write = None
    outside.entra_settings(drop_rate=0.0)

    settled = in_process.run()

    assert faulted.success, failure_text(faulted)
    assert settled.success, failure_text(settled)
    lost, twice = measure_and_record(
        record_property, "connection reset mid-$batch", outside, expected, runs=2
    )
    assert (lost, twice) == (0, 0)

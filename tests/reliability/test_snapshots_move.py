"""Snapshots that move or come back short: Huma's `total` changes while the run scans the list
(a person is deleted mid-scan), and the run scans again until a pass is consistent, ending where
a clean run from the changed company ends; Entra's snapshot comes back truncated (most of the
tenant missing), and the snapshot guard stops every write of the run: nothing is sent, no link
ends, no one is taken for deleted.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from tests.reliability.cases import measure_and_record
from tests.reliability.inprocess import InProcessRuns, failure_text
from tests.reliability.outcome import (
    changes_applied_twice,
    changes_lost,
    clean_end_state,
    end_state,
)
from tests.resources.conftest import Outside

pytestmark = pytest.mark.reliability_slow


def _leaver(outside: Outside) -> str:
    """The Huma user the case deletes: the last in the list's order, so every page moves."""
    users = outside.world.huma["users"]
    last = max(users, key=lambda u: (u["givenName"].lower(), u["familyName"].lower(), u["id"]))
    return last["id"]


def _without_leaver(outside: Outside) -> None:
    outside.huma.call("DELETE", f"/users/{_leaver(outside)}")


def test_humas_total_changing_during_the_scan(
    in_process: InProcessRuns, outside: Outside, tmp_path: Path, record_property
) -> None:
    expected = clean_end_state(outside, tmp_path / "clean", "one Huma user left", _without_leaver)
    outside.huma.load_state(outside.world.huma)  # the leaver is still there when the scan starts
    outside.huma.clear_requests()

    def delete_on_second_page(page: int) -> None:
        if page == 2:
            _without_leaver(outside)

    in_process.hooks.huma_list_page = delete_on_second_page

    result = in_process.run()

    assert result.success, failure_text(result)
    first_pages = [
        e for e in outside.huma.requests(path_prefix="/users") if "offset=0&" in e["query"] + "&"
    ]
    assert len(first_pages) >= 2  # the list was scanned again after its total moved
    lost, twice = measure_and_record(
        record_property, "Huma's total changes during the scan", outside, expected
    )
    assert (lost, twice) == (0, 0)


def _links(history: Path) -> int:
    with duckdb.connect(str(history), read_only=True) as conn:
        [(links,)] = conn.execute("SELECT count(*) FROM links").fetchall()
        return links


def test_a_truncated_entra_snapshot_stops_the_writes(
    in_process: InProcessRuns, outside: Outside, record_property
) -> None:
    activation = in_process.run()
    assert activation.success, failure_text(activation)
    links = _links(in_process.deployment.history)
    # Entra answers with 40 % of the tenant missing; Huma has changes that would be written.
    entra = outside.entra.state()
    users = entra["tenants"][0]["users"]
    entra["tenants"][0]["users"] = users[: len(users) * 6 // 10]
    outside.entra.load_state(entra)
    huma = outside.huma.state()
    for user in huma["users"][:5]:
        user["familyName"] = f"{user['familyName']}-Ny"
    outside.huma.load_state(huma)
    for admin in (outside.huma, outside.entra):
        admin.clear_requests()
    before = end_state(outside)

    guarded = in_process.run()

    assert guarded.success, failure_text(guarded)
    written = [e for e in outside.entra.requests(path_prefix="/v1.0/") if e["method"] != "GET"]
    written += [
        e
        for e in outside.huma.requests(path_prefix="/users")
        if e["method"] in ("PATCH", "POST", "PUT")
    ]
    assert written == []
    with duckdb.connect(str(in_process.deployment.history), read_only=True) as conn:
        trips = conn.execute(
            "SELECT guard, side FROM guard_trips JOIN runs USING (run_id) WHERE dagster_run_id = ?",
            [guarded.run_id],
        ).fetchall()
        deletions = conn.execute("SELECT count(*) FROM deleted_huma_users").fetchone()
    assert ("snapshot_shrink", "entra") in trips
    assert _links(in_process.deployment.history) == links  # nobody taken for gone
    assert deletions == (0,)
    lost, twice = changes_lost(before, end_state(outside)), changes_applied_twice(outside)
    record_property("case", "truncated Entra snapshot (guard stops writes)")
    record_property("runs", 2)
    record_property("changes_lost", lost)  # here: anything changed by the guarded run
    record_property("changes_applied_twice", twice)
    assert (lost, twice) == (0, 0)

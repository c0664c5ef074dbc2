"""Huma's job title is the title of the CURRENT position (SPEC §3): when a position's status is
not one Huma's spec knows (`CURRENT`, `ENDED`, `UPCOMING`), was not returned, or is not text,
whether it is the current one is unknown, so the job title is unknown (listed, never written,
never clearing Entra's, SPEC §5) rather than read as "no current position", which is empty and
would clear the title in Entra."""

from __future__ import annotations

from typing import Any

import pytest

from resources.huma_snapshot import huma_user_row

_ID = "7b0c8f0e-0000-4000-8000-000000000001"


def _details(position: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": _ID,
        "givenName": {"value": "Ingrid", "editable": True},
        "familyName": {"value": "Haugen", "editable": True},
        "email": {"value": "ingrid.haugen@example.com", "editable": True},
        "currentPositions": [
            {"id": "p1", "title": {"name": "Engineer"}, "contractStartDate": "2020-01-01"}
            | position
        ],
        "status": {"active": True},
    }


@pytest.mark.parametrize(
    "position",
    [
        pytest.param({"status": "Current"}, id="status-outside-the-spec"),
        pytest.param({}, id="status-not-returned"),
        pytest.param({"status": 1}, id="status-as-a-number"),
    ],
)
def test_a_position_of_unknown_status_leaves_the_job_title_unknown(position: dict) -> None:
    row = huma_user_row(_details(position))

    assert row["job_title"] is None
    assert "job_title" in row["unknown_fields"]
    assert row["family_name"] == "Haugen"  # the rest is read


def test_only_upcoming_positions_are_no_job_title_yet() -> None:
    row = huma_user_row(_details({"status": "UPCOMING"}))

    assert row["job_title"] is None
    assert "job_title" not in row["unknown_fields"]

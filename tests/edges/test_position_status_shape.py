"""One malformed Huma record never fails the snapshot of everybody else (SPEC §5). A position
whose `status` is a list or an object (not one of the spec's texts) made the job-title reader
raise `TypeError` (an unhashable value looked up in the set of statuses): the whole Huma snapshot
failed, and with it the run. Such a status is now unreadable like any other status the spec does
not know: the user's job title is unknown and listed, and every other user reads as before."""

from __future__ import annotations

from typing import Any

import pytest

from resources.huma_snapshot import read_huma_users

_IDS = ("7b0c8f0e-0000-4000-8000-000000000001", "7b0c8f0e-0000-4000-8000-000000000002")


def _details(huma_id: str, status: Any) -> dict[str, Any]:
    return {
        "id": huma_id,
        "givenName": {"value": "Robert", "editable": True},
        "familyName": {"value": "Berg", "editable": True},
        "email": {"value": f"{huma_id[-1]}@example.com", "editable": True},
        "status": {"active": True},
        "currentPositions": [{"id": "p1", "status": status, "title": {"name": "Engineer"}}],
    }


@pytest.mark.parametrize(
    "status",
    [
        pytest.param(["CURRENT"], id="a-list"),
        pytest.param({"value": "CURRENT"}, id="an-object"),
        pytest.param(7, id="a-number"),
        pytest.param("current", id="another-case"),
    ],
)
def test_a_position_status_of_another_shape_leaves_only_that_job_title_unknown(
    status: Any,
) -> None:
    read = read_huma_users(
        [(_IDS[0], _details(_IDS[0], status)), (_IDS[1], _details(_IDS[1], "CURRENT"))]
    )

    odd, fine = read.users.to_dicts()
    assert odd["job_title"] is None
    assert "job_title" in odd["unknown_fields"]
    # (The fields these details leave out are unknown on both users alike.)
    assert fine["job_title"] == "Engineer"
    assert "job_title" not in fine["unknown_fields"]
    [listed] = read.unreadable.to_dicts()
    assert (listed["user_id"], listed["field"]) == (_IDS[0], "job_title")

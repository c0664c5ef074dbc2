"""Rolling back an optional field: the same inverse as any other field written to Entra.

Pins: a journal `after` holding `displayName`, `department` or `officeLocation` is read back as
its field, and the restore writes the value from before the run to exactly those properties.
"""

from __future__ import annotations

import pytest

from assets.rollback.plan import GRAPH, restore_body, units_of, written_units


@pytest.mark.parametrize(
    ("field", "prop"),
    [
        pytest.param("display_name", "displayName", id="display-name"),
        pytest.param("department", "department", id="department"),
        pytest.param("office", "officeLocation", id="office"),
    ],
)
def test_an_optional_field_is_restored_like_any_other(field: str, prop: str) -> None:
    written = {prop: "New", "jobTitle": "Engineer"}

    assert units_of(GRAPH, written) == ("job_title", field)
    assert written_units(GRAPH, written)[field] == "New"
    assert restore_body(GRAPH, {field: "Old", "job_title": None}, written) == {
        prop: "Old",
        "jobTitle": None,
    }

"""Rolling back an optional field: the same inverse as any other field written to Entra.

Pins: a journal `after` holding `displayName`, `department` or `officeLocation` is read back as
its field, and the restore writes the value from before the run to exactly those properties; the
manager (a reference) is restored to the previous manager, or removed when there was none.
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


_BEFORE = "0f000000-0000-4000-8000-0000000000aa"
_AFTER = "0f000000-0000-4000-8000-0000000000bb"


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param(_BEFORE, _AFTER, id="changed-back"),
        pytest.param(None, _AFTER, id="set-is-removed"),
        pytest.param(_BEFORE, None, id="cleared-is-set-again"),
    ],
)
def test_the_manager_is_restored_as_the_previous_reference(
    before: str | None, after: str | None
) -> None:
    written = {"manager": after, "department": "Sales"}

    assert units_of(GRAPH, written) == ("department", "manager")
    assert written_units(GRAPH, written)["manager"] == after
    restored = restore_body(GRAPH, {"manager": before, "department": None}, written)
    assert restored == {"manager": before, "department": None}

"""Huma's display name is composed of the preferred name (the given name when there is none)
and the family name: when the preferred name was not returned at all (a field this API key
does not see: the wrapper is absent) or came in another shape, which name the person goes by is
unknown, so the display name is unknown too (SPEC §5): never composed from the given name and
written over the one Entra holds. An empty preferred name (the wrapper without `value`) is
no preferred name, and the given name stands in (pinned with the readers' tests)."""

from __future__ import annotations

from typing import Any

import pytest

from resources.huma_snapshot import read_huma_users

_ID = "7b0c8f0e-0000-4000-8000-000000000001"


def _details(**preferred: Any) -> dict[str, Any]:
    return {
        "id": _ID,
        "givenName": {"value": "Robert", "editable": True},
        "familyName": {"value": "Berg", "editable": True},
        "email": {"value": "bob.berg@example.com", "editable": True},
        "status": {"active": True},
        **preferred,
    }


@pytest.mark.parametrize(
    "preferred",
    [
        pytest.param({}, id="not-returned"),
        pytest.param({"preferredName": None}, id="null-wrapper"),
        pytest.param({"preferredName": {"value": {"first": "Bob"}, "editable": True}}, id="object"),
    ],
)
def test_a_display_name_whose_preferred_name_is_unknown_is_unknown(preferred: dict) -> None:
    read = read_huma_users([(_ID, _details(**preferred))], ("display_name",))

    row = read.users.row(0, named=True)
    assert row["display_name"] is None
    assert "display_name" in row["unknown_fields"]
    assert (row["given_name"], row["family_name"]) == ("Robert", "Berg")  # the rest is read

"""A Huma write whose answer was lost is settled by re-reading, never resent blindly.

Pins: a lost answer to a change Huma applied is reported applied (found by re-reading) and sent
once; a lost answer to a change Huma did not apply is sent once more; two lost answers to a
change that is still not there end as a failure that says so, after two sends; the writes go
through `HumaResource.update_user`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
import pytest

from assets.apply.huma_apply import apply_huma
from assets.apply.writes import PlannedWrite

USER = "0b6f7d2c-6d8e-4f5a-9a53-3c1c8f2e0a11"


class FakeHuma:
    """The resource's write methods and the client's reads over one user.

    `script` says, per send, whether the answer is lost `before` or `after` applying, or None
    for a plain answer.
    """

    def __init__(self, *script: str | None) -> None:
        self.script = list(script)
        self.user: dict[str, Any] = {"id": USER, "jobTitle": {"editable": True}}
        self.sends = 0

    def client(self) -> FakeHuma:
        return self

    def update_user(self, *, huma_id: str, changes: Mapping[str, Any]) -> dict[str, Any]:
        self.sends += 1
        lost = self.script.pop(0) if self.script else None
        if lost == "before":
            raise httpx.RemoteProtocolError("peer closed connection")
        self.user.update({k: {"editable": True, "value": v} for k, v in changes.items()})
        if lost == "after":
            raise httpx.RemoteProtocolError("peer closed connection")
        return self.user

    def get_user(self, user_id: str) -> dict[str, Any] | None:
        return self.user if user_id == USER else None


def _patch() -> PlannedWrite:
    return PlannedWrite("change-1", "huma", "patch", USER, {"jobTitle": "Engineer"})


@pytest.mark.parametrize(
    ("script", "sends", "note"),
    [
        pytest.param(("after",), 1, "found the change applied", id="applied-then-lost"),
        pytest.param(("before", None), 2, "sent again after a lost answer", id="lost-then-sent"),
    ],
)
def test_a_lost_answer_is_settled_by_re_reading(
    script: tuple[str | None, ...], sends: int, note: str
) -> None:
    huma = FakeHuma(*script)

    [result] = apply_huma(huma, [_patch()])  # type: ignore[arg-type]

    assert result.status == "applied"
    assert note in (result.note or "")
    assert huma.sends == sends
    assert huma.user["jobTitle"]["value"] == "Engineer"


def test_two_lost_answers_to_a_change_not_applied_are_a_failure() -> None:
    huma = FakeHuma("before", "before", None)

    [result] = apply_huma(huma, [_patch()])  # type: ignore[arg-type]

    assert result.status == "failed"
    assert "the answer was lost and the change is not in Huma" in (result.error or "")
    assert huma.sends == 2

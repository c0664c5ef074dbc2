"""The snapshot steps hand the later steps only the raw payloads the apply step reads.

Pins: the whole raw payloads are the history's; what the Huma snapshot passes on gives the apply
step the same address lines (line2/line3, which it sends back unchanged) as the whole snapshot,
the users and the rest of the snapshot are passed on untouched, and the Entra snapshot passes on
no payloads (nothing after it reads them).
"""

from __future__ import annotations

from typing import Any

import polars as pl
from polars.testing import assert_frame_equal

from assets.apply.run import address_lines
from assets.snapshots import passed_on
from resources.graph import EntraSnapshot
from resources.huma import HumaSnapshot
from resources.snapshot_reading import raw_frame


def _address(**parts: str) -> dict[str, Any]:
    return {"homeAddress": {"value": {"line1": "Storgata 12", **parts}, "editable": True}}


def test_the_huma_snapshot_passes_on_only_the_payloads_with_more_address_lines() -> None:
    payloads = {
        "a": {"id": "a", **_address(line2="c/o Haugen")},
        "b": {"id": "b", **_address()},
        "c": {"id": "c", **_address(line2="", line3="Bygg 3")},
        "d": {"id": "d", **_address(line2="")},
        "e": {"id": "e", "givenName": {"value": "line2", "editable": True}},
    }
    raw = raw_frame("huma_id", payloads.keys(), payloads.values())
    users = pl.DataFrame({"huma_id": list(payloads)})
    snapshot = HumaSnapshot(users=users, raw=raw, complete=True, requests=6, seconds=1.0)

    slim = passed_on(snapshot)

    assert (
        address_lines(slim.raw.frame())
        == address_lines(raw)
        == {
            "a": ("c/o Haugen", ""),
            "c": ("", "Bygg 3"),
        }
    )
    assert set(slim.raw.frame().get_column("huma_id")) <= {"a", "c", "d"}
    assert_frame_equal(slim.users, users)
    assert (slim.complete, slim.requests, slim.seconds) == (True, 6, 1.0)


def test_the_entra_snapshot_passes_on_no_payloads() -> None:
    raw = raw_frame("entra_id", ["x"], [{"id": "x"}])
    users = pl.DataFrame({"entra_id": ["x"]})
    snapshot = EntraSnapshot(
        users=users, raw=raw, complete=True, requests=1, seconds=0.5, verified_domains=("a.no",)
    )

    slim = passed_on(snapshot)

    assert slim.raw.height == 0
    assert slim.raw.schema == raw.schema
    assert_frame_equal(slim.users, users)
    assert slim.verified_domains == ("a.no",)

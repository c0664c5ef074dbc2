"""Properties of both snapshot readers over any payload (Hypothesis).

Pins, for a snapshot of good users plus one user whose payload is anything at all (properties
missing, null, of any JSON type, huge, with control characters, lone surrogates or look-alike
Unicode; or no object at all): reading and validating never raise; that user comes out either
valid or held out with at least one listed reason; every value it keeps is of the frame's type
and every text was text in the payload; and the good users come out exactly as they do alone.
"""

from __future__ import annotations

from typing import Any

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconcile.validation import validate_snapshots
from resources.graph_client import USER_SELECT
from resources.graph_snapshot import read_entra_users
from resources.huma_snapshot import read_huma_users
from resources.snapshot_reading import UnreadablePayload
from tests.resources.test_unreadable_values import (
    _details,
    _good_entra,
    _good_huma,
    _graph_user,
)

#: Deterministic for CI (the same examples every run), bounded, and free of timing.
READERS = settings(
    max_examples=50,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

WEIRD_HUMA_ID = "7b0c8f0e-0000-4000-8000-00000000aaaa"
#: Look-alike Unicode: Cyrillic i, fullwidth letters, Roman numeral one, dotted I, sharp s,
#: a combining accent, a right-to-left override.
_LOOKALIKES = [
    "Ingr\u0456d",
    "\uff49\uff4e\uff47\uff52\uff49\uff44@\uff46\uff4a\uff4f\uff52\uff44\uff4c\uff49\uff4e\uff45.\uff4e\uff4f",
    "\u2160ngrid",
    "\u0130NGR\u0130D",
    "\u00df",
    "e\u0301",
    "\u202eNO",
]
_TEXT = st.one_of(
    st.text(max_size=12),
    st.text(st.characters(codec=None, categories=["Cc", "Cf", "Zl", "Zp", "Zs"]), max_size=6),
    st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1, max_size=2),
    st.sampled_from(_LOOKALIKES),
    st.sampled_from(["2019-03-01", "01.03.2019", "2019-02-30", "2019-03-01T00:00:00Z", "true"]),
    st.just("x" * 70_000),
)
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=2**64, max_value=10**40),
    st.floats(),
    _TEXT,
)
JSON = st.recursive(
    _SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.sampled_from(["value", "editable", "active", "name", "x"]), children),
    ),
    max_leaves=6,
)
_MISSING = object()


def _replace(base: dict[str, Any], keys: list[str], draw: st.DrawFn) -> dict[str, Any]:
    """`base` with some properties (or their wrapped `value`) replaced by anything or dropped."""
    payload = dict(base)
    for key in draw(st.lists(st.sampled_from(keys), unique=True, max_size=4)):
        value = draw(st.one_of(st.just(_MISSING), JSON))
        if draw(st.booleans()) and isinstance(payload.get(key), dict):
            payload[key] = {**payload[key], "value": value}
        elif value is _MISSING:
            payload.pop(key, None)
        else:
            payload[key] = value
    return payload


@st.composite
def huma_payloads(draw: st.DrawFn) -> Any:
    base = _details(id=WEIRD_HUMA_ID)
    shape = draw(st.sampled_from(["edited", "edited", "edited", "anything", "undecodable"]))
    if shape == "anything":
        return draw(JSON)
    if shape == "undecodable":
        return UnreadablePayload("the details are not JSON in UTF-8")
    return _replace(base, sorted(base), draw)


@st.composite
def graph_objects(draw: st.DrawFn) -> Any:
    base = _graph_user(id="0f6e7c1a-0000-4000-8000-00000000aaaa")
    if draw(st.integers(0, 5)) == 0:
        return draw(JSON)
    return _replace(base, sorted({"id", *USER_SELECT}), draw)


def _texts(payload: Any) -> set[str]:
    """Every string anywhere in a payload, trimmed (the readers trim)."""
    if isinstance(payload, str):
        return {payload.strip()}
    if isinstance(payload, dict):
        return {t for v in payload.values() for t in _texts(v)}
    if isinstance(payload, list):
        return {t for v in payload for t in _texts(v)}
    return set()


def _assert_made_of_the_payload(row: dict[str, Any], payload: Any) -> None:
    """No text in the row that the payload did not hold as text (nothing made up with str())."""
    found = _texts(payload)
    for column, value in row.items():
        if isinstance(value, str) and column != "email_key":
            assert value in found, (column, value)


@READERS
@given(huma_payloads())
def test_any_huma_payload_is_read_valid_or_held_out_with_a_reason(payload: Any) -> None:
    goods = [_good_huma(1), _good_huma(2)]
    details = [(WEIRD_HUMA_ID, payload), *((g["id"], g) for g in goods)]

    read = read_huma_users(details)
    valid, _, failures = validate_snapshots(read.users, read_entra_users([]).users, read.unreadable)

    weird = valid.filter(pl.col("huma_id") == WEIRD_HUMA_ID)
    reasons = failures.filter(pl.col("user_id") == WEIRD_HUMA_ID)
    assert weird.height == 1 or reasons.height >= 1
    assert reasons.get_column("message").str.len_chars().min() or reasons.height == 0
    if weird.height:
        _assert_made_of_the_payload(weird.row(0, named=True), payload)
    alone = read_huma_users([(g["id"], g) for g in goods]).users
    assert valid.filter(pl.col("huma_id") != WEIRD_HUMA_ID).equals(alone)


@READERS
@given(graph_objects())
def test_any_graph_object_is_read_valid_or_held_out_with_a_reason(user: Any) -> None:
    goods = [_good_entra(1), _good_entra(2)]
    good_ids = [g["id"] for g in goods]

    read = read_entra_users([*goods, user])
    weird_row = read.users.row(2, named=True)
    _, valid, failures = validate_snapshots(read_huma_users([]).users, read.users, read.unreadable)

    # Guests are out of scope and not validated; everyone else is valid or listed.
    is_guest = (weird_row["user_type"] or "").lower() == "guest" or "#EXT#" in (
        weird_row["user_principal_name"] or ""
    ).upper()
    kept = valid.filter(~pl.col("entra_id").is_in(good_ids))
    listed = failures.filter(pl.col("user_id").eq_missing(weird_row["entra_id"]))
    assert is_guest or kept.height == 1 or listed.height >= 1
    if kept.height:
        _assert_made_of_the_payload(kept.row(0, named=True), user)
    alone = read_entra_users(goods).users
    assert valid.filter(pl.col("entra_id").is_in(good_ids)).equals(alone)

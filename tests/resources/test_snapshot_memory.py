"""A snapshot's decoded payloads are freed as they are read, and the raw texts stay whole.

Pins: `released_as_read` hands every item on in order, keeps each one's JSON text exactly as
`raw_frame` would, and leaves nothing of the items behind in the caller's list (so a reader never
holds every decoded payload beside the frame it builds); both readers' raw frames are unchanged;
the frame gathered in column chunks (a row at a time or column by column) is the one the rows
make.
"""

from __future__ import annotations

import datetime as dt
import gc
import weakref
from typing import Any

import polars as pl
from polars.testing import assert_frame_equal

from resources.graph_snapshot import read_entra_users
from resources.huma_snapshot import read_huma_users
from resources.normalise import rows_to_frame
from resources.snapshot_reading import (
    ColumnChunks,
    RawTexts,
    UnreadablePayload,
    columns_to_frame,
    raw_frame,
    raw_text_frame,
    released_as_read,
)
from tests.resources.test_snapshot_frames import _details, _graph_user


class _Payload(dict):
    """A payload that can be watched for being freed (a plain dict cannot be weakly referenced)."""


def test_each_item_is_freed_once_read_and_its_text_is_kept() -> None:
    items: list[Any] = [
        _Payload(_details(id=f"7b0c8f0e-0000-4000-8000-00000000000{n}")) for n in range(3)
    ]
    watched = [weakref.ref(item) for item in items]
    texts: list[str] = []
    alive_after_each = []
    for _item in released_as_read(items, texts):
        gc.collect()
        alive_after_each.append(sum(ref() is not None for ref in watched))
    del _item  # the loop's own name for the last one

    # The one being read is alive; those read before are gone.
    assert alive_after_each == [3, 2, 1]
    gc.collect()
    assert all(ref() is None for ref in watched)
    assert items == [None, None, None]
    expected = raw_frame(
        "huma_id",
        ["a", "b", "c"],
        [_details(id=f"7b0c8f0e-0000-4000-8000-00000000000{n}") for n in range(3)],
    )
    assert_frame_equal(raw_text_frame("huma_id", ["a", "b", "c"], texts), expected)


def test_the_readers_read_the_same_users_from_released_payloads() -> None:
    huma = [_details(), UnreadablePayload("the details are not JSON in UTF-8"), 7]
    ids = ["7b0c8f0e-0000-4000-8000-000000000001", "x-2", "x-3"]
    texts: list[str] = []
    released = read_huma_users(zip(ids, released_as_read(list(huma), texts), strict=True))
    whole = read_huma_users(zip(ids, huma, strict=True))
    assert_frame_equal(released.users, whole.users)
    assert_frame_equal(released.unreadable, whole.unreadable)
    assert_frame_equal(raw_text_frame("huma_id", ids, texts), raw_frame("huma_id", ids, huma))

    entra = [_graph_user(), "not a user"]
    texts = []
    released = read_entra_users(released_as_read(list(entra), texts))
    whole = read_entra_users(entra)
    assert_frame_equal(released.users, whole.users)
    assert_frame_equal(released.unreadable, whole.unreadable)
    entra_ids = whole.users.get_column("entra_id")
    assert_frame_equal(
        raw_text_frame("entra_id", entra_ids, texts), raw_frame("entra_id", entra_ids, entra)
    )
    assert raw_text_frame("entra_id", entra_ids, texts).schema == pl.Schema(
        {"entra_id": pl.String(), "payload": pl.String()}
    )


def test_raw_texts_keep_every_text_in_order_across_chunks() -> None:
    texts = RawTexts()
    expected = [f'{{"id":"{n}"}}' for n in range(25_001)]
    for text in expected:
        texts.append(text)

    assert texts.column().to_list() == expected
    assert RawTexts().column().to_list() == []


def test_column_chunks_build_the_frame_the_rows_make() -> None:
    schema = pl.Schema(
        {"id": pl.String(), "when": pl.Date(), "on": pl.Boolean(), "unknown": pl.List(pl.String())}
    )
    rows = [
        {
            "id": f"u{n}" if n % 7 else None,
            "when": dt.date(2020, 1, 1 + n % 28) if n % 5 else None,
            "on": n % 3 == 0,
            "unknown": [] if n % 4 else ["when", "on"][: n % 3],
        }
        for n in range(ColumnChunks._CHUNK + 3)  # across a chunk's end
    ]
    chunks = ColumnChunks(schema)
    chunks.extend({name: [row[name] for row in rows[:5]] for name in schema}, 5)
    for row in rows[5:]:
        chunks.append_row(row)

    assert_frame_equal(chunks.frame(), rows_to_frame(rows, schema))
    assert_frame_equal(ColumnChunks(schema).frame(), rows_to_frame([], schema))
    with_null = {"id": ["a"], "when": [None], "on": [None], "unknown": [None]}
    assert_frame_equal(columns_to_frame(with_null, schema), rows_to_frame([{"id": "a"}], schema))

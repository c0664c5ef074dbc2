"""A snapshot's raw texts stay whole, and its frame gathered in column chunks is the rows' frame.

Pins: `RawTexts` keeps every text in order across chunks; the frame gathered in column chunks (a
row at a time or column by column) is the one the rows make. (That decoded payloads are not held
once read is pinned with the readers: `test_graph_read_on_arrival`, `ReadOnArrival`'s tests.)
"""

from __future__ import annotations

import datetime as dt

import polars as pl
from polars.testing import assert_frame_equal

from resources.normalise import rows_to_frame
from resources.snapshot_reading import (
    ColumnChunks,
    RawTexts,
    columns_to_frame,
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

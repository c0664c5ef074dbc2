"""A Huma snapshot's raw payloads, held packed, come out exactly as they went in.

Pins: texts gathered one at a time (`TextGatherer`) or packed from a column come back in order and
equal, across chunk ends, whatever they hold (non-ASCII, escapes, empty); `gather` picks positions
in any order across chunks like a column's gather and refuses a position beyond the texts; the
raw payloads hand out chunks that make the whole frame, filter like the frame, and a
`HumaSnapshot` given a raw frame keeps it packed. (The history keeps packed payloads as it keeps
the frame: `test_history_snapshots`.)
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable

import polars as pl
import pytest
from polars.testing import assert_frame_equal, assert_series_equal

from resources.huma import HumaSnapshot
from resources.huma_payloads import CHUNK_ROWS, PackedTexts, RawPayloads, TextGatherer
from resources.snapshot_reading import raw_json

_ROWS = 2 * CHUNK_ROWS + 7  # across two chunk ends


def _texts(count: int) -> list[str]:
    shapes = ['{"id":"%d","name":{"value":"Åse Ødegård"}}', '{"id":"%d","note":"\\u0000 \\" x"}']
    return [shapes[n % 2] % (n % 5_000) for n in range(count)] + ["", "null"]


def raw_frame_of(count: int) -> pl.DataFrame:
    texts = _texts(count)
    ids = [str(uuid.UUID(int=n)) for n in range(len(texts))]
    return pl.DataFrame({"huma_id": ids, "payload": texts})


def test_gathered_texts_come_back_in_order_and_equal() -> None:
    texts = _texts(_ROWS)
    gatherer = TextGatherer()
    for text in texts:
        gatherer.append(text)

    packed = gatherer.column()

    assert len(packed) == len(texts)
    assert len(packed.chunks) == 3
    assert packed.series().to_list() == texts
    assert [t for column in packed.columns() for t in column.to_list()] == texts
    assert PackedTexts.of(texts).series().to_list() == texts
    assert TextGatherer().column().series().to_list() == []
    assert raw_json({"name": "Åse"}) in PackedTexts.of([raw_json({"name": "Åse"})]).series()


def test_gather_picks_positions_in_any_order_across_chunks() -> None:
    texts = pl.Series("payload", _texts(_ROWS))
    positions = random.Random(7).sample(range(len(texts)), 15_000)
    positions += [0, len(texts) - 1, CHUNK_ROWS, CHUNK_ROWS - 1]

    gathered = PackedTexts.of(texts).gather(positions)

    assert_series_equal(gathered.series(), texts.gather(positions))
    assert PackedTexts.of(texts).gather([]).series().to_list() == []
    with pytest.raises(IndexError):
        PackedTexts.of(texts).gather([len(texts)])


def test_raw_payloads_hand_out_chunks_that_make_the_frame_and_filter_like_it() -> None:
    frame = raw_frame_of(_ROWS)
    payloads = RawPayloads.of(frame)

    chunks = list(payloads.frames())

    assert payloads.height == frame.height
    assert payloads.schema == frame.schema
    assert max(chunk.height for chunk in chunks) == CHUNK_ROWS
    assert_frame_equal(pl.concat(chunks), frame)
    assert_frame_equal(payloads.frame(), frame)
    nordic = payloads.filter(lambda chunk: chunk.get_column("payload").str.contains("Åse"))
    assert_frame_equal(nordic.frame(), frame.filter(pl.col("payload").str.contains("Åse")))
    nothing = payloads.filter(lambda chunk: chunk.get_column("payload") == "none")
    assert nothing.height == 0
    assert nothing.frame().schema == frame.schema
    with pytest.raises(ValueError, match="ids"):
        RawPayloads(frame.get_column("huma_id").head(3), PackedTexts.of(["{}"]))


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(
            lambda: RawPayloads.of(pl.DataFrame({"huma_id": ["h1"], "payload": [1]})),
            id="payload-not-text",
        ),
        pytest.param(
            lambda: RawPayloads.of(pl.DataFrame({"huma_id": [1], "payload": ["{}"]})),
            id="id-not-text",
        ),
        pytest.param(
            lambda: RawPayloads.of(
                pl.DataFrame({"huma_id": ["h1"], "payload": ["{}"], "name": ["Ann"]})
            ),
            id="another-column",
        ),
        pytest.param(lambda: RawPayloads.of(pl.DataFrame({"huma_id": ["h1"]})), id="no-payload"),
        pytest.param(
            lambda: RawPayloads(pl.Series("huma_id", [1]), PackedTexts.of(["{}"])), id="ids"
        ),
        pytest.param(lambda: PackedTexts.of(pl.Series("payload", [1])), id="texts"),
    ],
)
def test_what_is_not_a_raw_frame_is_refused_when_packed(make: Callable[[], object]) -> None:
    # The history checks packed payloads by their schema, which packing vouches for: whatever
    # packing takes must already be texts keyed by text ids.
    with pytest.raises(ValueError, match=r"raw payloads|texts|ids"):
        make()


def test_a_huma_snapshot_given_a_raw_frame_keeps_it_packed() -> None:
    frame = raw_frame_of(10)
    snapshot = HumaSnapshot(
        users=pl.DataFrame({"huma_id": frame["huma_id"]}),
        raw=frame,
        complete=True,
        requests=11,
        seconds=0.1,
    )

    assert isinstance(snapshot.raw, RawPayloads)
    assert_frame_equal(snapshot.raw.frame(), frame)

"""A Huma snapshot's raw payloads, held compressed until the history writes them.

The raw payloads (each user's `UserDetails` as JSON text, about 1.7 KB) are most of what a full
snapshot holds: kept as text they were 1.7 GB at 1,000,000 people, beside a frame of 0.2 GB. Only
the history reads them all, and it writes them a chunk at a time; the later steps read a few. So
the texts are gathered into chunks of `CHUNK_ROWS` as they arrive, each chunk an Arrow IPC
buffer compressed with zstd (JSON of one shape compresses several times), and handed out again a
chunk at a time (`RawPayloads.frames`): the whole text is never in memory at once. What comes
out is exactly what went in. Packing takes only texts keyed by text ids, so packed payloads are
raw frames by construction: their `schema` needs no frame to be checked.
"""

from __future__ import annotations

import bisect
import dataclasses
import io
import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Final

import polars as pl

from reconcile.frames import require_schema
from resources.snapshot_reading import UNREADABLE_ID

#: Rows per compressed chunk: a chunk's texts (about 17 MB of Huma JSON) are what is held
#: uncompressed at a time, while gathering or handing them out.
CHUNK_ROWS: Final = 10_000
_PAYLOAD: Final = "payload"


def _pack(column: pl.Series) -> bytes:
    buffer = io.BytesIO()
    pl.DataFrame([column.rename(_PAYLOAD)]).write_ipc(buffer, compression="zstd")
    return buffer.getvalue()


def _unpack(chunk: bytes) -> pl.Series:
    return pl.read_ipc(io.BytesIO(chunk)).to_series()


def _texts(column: pl.Series) -> pl.Series:
    if column.dtype != pl.String:
        raise ValueError(f"only texts are packed, not {column.dtype} ({column.name!r})")
    return column


@dataclasses.dataclass(frozen=True)
class PackedTexts:
    """A column of texts kept as compressed chunks (`chunks`, each of `lengths[i]` texts)."""

    chunks: tuple[bytes, ...] = ()
    lengths: tuple[int, ...] = ()

    @classmethod
    def of(cls, texts: pl.Series | Sequence[str]) -> PackedTexts:
        """The texts, packed `CHUNK_ROWS` at a time."""
        column = texts if isinstance(texts, pl.Series) else pl.Series(texts, dtype=pl.String)
        return cls.from_columns(
            column.slice(s, CHUNK_ROWS) for s in range(0, len(column), CHUNK_ROWS)
        )

    @classmethod
    def from_columns(cls, columns: Iterable[pl.Series]) -> PackedTexts:
        """The texts of `columns` in turn, one chunk each (an empty column adds none).

        Raises:
            ValueError: A column that does not hold texts.
        """
        kept = [(_pack(_texts(column)), len(column)) for column in columns if len(column)]
        return cls(tuple(c for c, _ in kept), tuple(n for _, n in kept))

    def __len__(self) -> int:
        return sum(self.lengths)

    def columns(self) -> Iterator[pl.Series]:
        """Each chunk's texts (a `payload` column), in order, unpacked one at a time."""
        return map(_unpack, self.chunks)

    def series(self) -> pl.Series:
        """Every text, in order, as one column (unpacked whole: for few texts)."""
        columns = list(self.columns())
        if not columns:
            return pl.Series(_PAYLOAD, [], dtype=pl.String)
        return pl.concat(columns, rechunk=True)

    def gather(self, positions: Sequence[int]) -> PackedTexts:
        """The texts at `positions`, in that order, packed again: a chunk of positions at a
        time, unpacking only the chunks those positions fall in."""
        starts = list(itertools.accumulate(self.lengths, initial=0))
        gathered = []
        for window in range(0, len(positions), CHUNK_ROWS):
            wanted = positions[window : window + CHUNK_ROWS]
            if any(not 0 <= p < starts[-1] for p in wanted):
                raise IndexError(f"a position beyond the {starts[-1]} texts")
            chunk_of = [bisect.bisect_right(starts, p) - 1 for p in wanted]
            needed = sorted(set(chunk_of))
            # Where each needed chunk's texts begin once they are put end to end.
            sizes = (self.lengths[c] for c in needed)
            begins = dict(zip(needed, itertools.accumulate(sizes, initial=0), strict=False))
            texts = pl.concat([_unpack(self.chunks[c]) for c in needed], rechunk=True)
            local = [begins[c] + p - starts[c] for p, c in zip(wanted, chunk_of, strict=True)]
            gathered.append(texts.gather(local))
        return PackedTexts.from_columns(gathered)


class TextGatherer:
    """Texts appended one at a time, packed every `CHUNK_ROWS`: only one chunk's texts are held
    as Python strings (`RawTexts`' contract, compressed)."""

    def __init__(self) -> None:
        self._pending: list[str] = []
        self._chunks: list[bytes] = []
        self._lengths: list[int] = []

    def append(self, text: str) -> None:
        self._pending.append(text)
        if len(self._pending) >= CHUNK_ROWS:
            self._flush()

    def column(self) -> PackedTexts:
        """Every text so far, in order."""
        self._flush()
        return PackedTexts(tuple(self._chunks), tuple(self._lengths))

    def _flush(self) -> None:
        if self._pending:
            self._chunks.append(_pack(pl.Series(_PAYLOAD, self._pending, dtype=pl.String)))
            self._lengths.append(len(self._pending))
            self._pending = []


@dataclasses.dataclass(frozen=True)
class RawPayloads:
    """A snapshot's raw payloads for the history: one row per user, `id_column` and `payload`
    (the JSON text as kept), the texts packed (`PackedTexts`).

    Attributes:
        ids: The users' ids, in the payloads' order (`UNREADABLE_ID` where unknown).
        texts: Their payloads' JSON texts.
    """

    ids: pl.Series
    texts: PackedTexts

    def __post_init__(self) -> None:
        if self.ids.dtype != pl.String:
            raise ValueError(f"the payloads' ids must be texts, not {self.ids.dtype}")
        if len(self.ids) != len(self.texts):
            raise ValueError(f"{len(self.ids)} ids for {len(self.texts)} payloads")

    @classmethod
    def of(cls, frame: pl.DataFrame) -> RawPayloads:
        """The payloads of a raw frame (`raw_frame`: its id column, then `payload`).

        Raises:
            ValueError: `frame` is not a raw frame (two text columns, one of them `payload`).
        """
        id_column = next((name for name in frame.columns if name != _PAYLOAD), "id")
        require_schema(
            frame, pl.Schema({id_column: pl.String(), _PAYLOAD: pl.String()}), "raw payloads"
        )
        return cls(frame.get_column(id_column), PackedTexts.of(frame.get_column(_PAYLOAD)))

    @classmethod
    def from_ids(cls, id_column: str, ids: Iterable[str | None], texts: PackedTexts) -> RawPayloads:
        """`texts` with the ids of their users, in the same order."""
        named = [UNREADABLE_ID if i is None else i for i in ids]
        return cls(pl.Series(id_column, named, dtype=pl.String), texts)

    @property
    def height(self) -> int:
        return len(self.ids)

    @property
    def schema(self) -> pl.Schema:
        """The raw frame's schema: the id column and `payload`, both texts (by construction)."""
        return pl.Schema({self.ids.name: self.ids.dtype, _PAYLOAD: pl.String()})

    def frames(self) -> Iterator[pl.DataFrame]:
        """The payloads as raw frames (`id_column`, `payload`), a chunk at a time, in order."""
        start = 0
        for column in self.texts.columns():
            yield pl.DataFrame([self.ids.slice(start, len(column)), column])
            start += len(column)

    def frame(self) -> pl.DataFrame:
        """Every payload as one raw frame (unpacked whole: for few payloads)."""
        return pl.DataFrame([self.ids, self.texts.series()])

    def filter(self, keep: Callable[[pl.DataFrame], pl.Series]) -> RawPayloads:
        """The payloads whose rows `keep` (a frame chunk -> a boolean mask) keeps; each chunk's
        kept texts are packed before the next chunk is unpacked (a filtered column still holds
        its chunk's whole text)."""
        ids: list[pl.Series] = []
        texts: list[bytes] = []
        lengths: list[int] = []
        for chunk in self.frames():
            kept = chunk.filter(keep(chunk))
            if kept.height:
                ids.append(kept.get_column(self.ids.name))
                texts.append(_pack(kept.get_column(_PAYLOAD)))
                lengths.append(kept.height)
        kept_ids = pl.concat(ids, rechunk=True) if ids else self.ids.clear()
        return RawPayloads(kept_ids, PackedTexts(tuple(texts), tuple(lengths)))

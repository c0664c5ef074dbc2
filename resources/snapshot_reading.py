"""Reading one snapshot's users: each row as far as it can be read, and a listing of the rest.

A reader (`huma_snapshot`, `graph_snapshot`) reads each field of a user through `RowReading.take`:
a value that cannot be read leaves its columns unknown (null, listed in `unknown_fields`, so never
written and never clearing anything, SPEC §5) and is noted with the reason; `read_snapshot` turns
the readings into the frame and the `VALIDATION_FAILURES_SCHEMA` listing (rule `unreadable`) that
planning adds to the validation failures. The raw payloads are kept for the history whatever they
hold (`raw_frame`).
"""

from __future__ import annotations

import dataclasses
import itertools
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final

import orjson
import polars as pl
import pyarrow as pa

from reconcile.outputs import UNREADABLE, VALIDATION_FAILURES_SCHEMA
from reconcile.validation import IDENTITY_COLUMNS
from resources.normalise import UnreadableValue

#: Matches no raw value: `RowReading.take` without an `absent` marker reads whatever is there.
_NEVER: Final = object()
#: How much of an unreadable value its listing shows.
_SHOWN_CHARACTERS: Final = 120


@dataclasses.dataclass(frozen=True)
class UnreadablePayload:
    """A whole answer that could not be decoded (not JSON, not UTF-8): the client hands this on
    in place of the payload so that the reader lists the user instead of failing the snapshot."""

    reason: str


@dataclasses.dataclass(frozen=True)
class SnapshotRead:
    """What a reader makes of a snapshot's payloads.

    Attributes:
        users: One row per payload, with the frame's exact schema; unreadable values are null and
            listed in `unknown_fields`.
        unreadable: One `VALIDATION_FAILURES_SCHEMA` row per unreadable value (rule
            `unreadable`): which user, which field, a short copy of the value, and why.
    """

    users: pl.DataFrame
    unreadable: pl.DataFrame


def shown(value: Any) -> str:
    """A short JSON copy of a raw value for a listing (never the whole of a huge value)."""
    if isinstance(value, UnreadablePayload):
        return ""
    try:
        copied = json.dumps(value, ensure_ascii=False, default=repr)
    except (ValueError, RecursionError):
        copied = repr(value)
    # A lone surrogate (from a JSON escape) cannot be stored as UTF-8: shown as a replacement.
    copied = copied.encode("utf-8", "replace").decode("utf-8")
    if len(copied) > _SHOWN_CHARACTERS:
        return copied[: _SHOWN_CHARACTERS - 1] + "…"
    return copied


#: Stands for an id that could not be read, where the history needs one (raw payloads).
UNREADABLE_ID: Final = "(unreadable id)"


def raw_frame(id_column: str, ids: Iterable[str | None], payloads: Iterable[Any]) -> pl.DataFrame:
    """The raw payloads of a snapshot for the history: `id_column` and `payload` (JSON text).

    Every payload is kept, also one whose id could not be read (its id is `UNREADABLE_ID`), so
    the history shows what was received.
    """
    return raw_text_frame(id_column, ids, [raw_json(p) for p in payloads])


class RawTexts:
    """The JSON texts of a snapshot's raw payloads, gathered into column chunks as they come, so
    that the texts are never all held as Python strings beside their column."""

    _CHUNK: Final = 10_000

    def __init__(self) -> None:
        self._pending: list[str] = []
        self._chunks: list[pl.Series] = []

    def append(self, text: str) -> None:
        self._pending.append(text)
        if len(self._pending) >= self._CHUNK:
            self._flush()

    def extend(self, texts: Iterable[str]) -> None:
        self._pending.extend(texts)
        if len(self._pending) >= self._CHUNK:
            self._flush()

    def extend_column(self, texts: pl.Series) -> None:
        """Add texts already in a column (`payload`, text), after those before."""
        self._flush()
        self._chunks.append(texts)

    def column(self) -> pl.Series:
        """Every text so far, in order."""
        self._flush()
        if not self._chunks:
            return pl.Series("payload", [], dtype=pl.String)
        return pl.concat(self._chunks, rechunk=False)

    def _flush(self) -> None:
        if self._pending:
            self._chunks.append(pl.Series("payload", self._pending, dtype=pl.String))
            self._pending = []


class ColumnChunks:
    """A frame's columns gathered as the values come (a row at a time, or a run of rows given
    column by column), turned into frame chunks every `_CHUNK` rows: only one chunk's values are
    ever held as Python objects.

    Args:
        schema: The frame's exact schema; a row's missing column is null.
    """

    _CHUNK: Final = 10_000

    def __init__(self, schema: pl.Schema) -> None:
        self._schema = schema
        self._columns: dict[str, list[Any]] = {name: [] for name in schema}
        self._pending = 0
        self._chunks: list[pl.DataFrame] = []

    def append_row(self, row: Mapping[str, Any]) -> None:
        for name, values in self._columns.items():
            values.append(row.get(name))
        self._added(1)

    def extend(self, columns: Mapping[str, Sequence[Any]], rows: int) -> None:
        """Add `rows` rows given as one sequence per column (each of length `rows`)."""
        for name, values in self._columns.items():
            values.extend(columns[name])
        self._added(rows)

    def extend_frame(self, chunk: pl.DataFrame) -> None:
        """Add rows already in a frame with exactly the schema, after those before."""
        self._flush()
        self._chunks.append(chunk)

    def frame(self) -> pl.DataFrame:
        """Every row so far, in order, as one frame with exactly the schema."""
        self._flush()
        if len(self._chunks) == 1:
            return self._chunks[0]
        return pl.concat(self._chunks, rechunk=True)

    def _added(self, rows: int) -> None:
        self._pending += rows
        if self._pending >= self._CHUNK:
            self._flush()

    def _flush(self) -> None:
        if self._pending or not self._chunks:
            self._chunks.append(columns_to_frame(self._columns, self._schema))
            self._columns = {name: [] for name in self._schema}
            self._pending = 0


def columns_to_frame(columns: Mapping[str, Sequence[Any]], schema: pl.Schema) -> pl.DataFrame:
    """A frame with exactly `schema` from one sequence of Python values per column.

    A column of lists of text (`unknown_fields`) is built through Arrow from its lengths and
    values: Polars would otherwise build one series per row.
    """
    return pl.DataFrame(
        [
            _text_lists(name, columns[name])
            if dtype == pl.List(pl.String) and None not in columns[name]
            else pl.Series(name, columns[name], dtype=dtype)
            for name, dtype in schema.items()
        ]
    )


def _text_lists(name: str, lists: Sequence[Sequence[str]]) -> pl.Series:
    offsets = pa.array([0, *itertools.accumulate(map(len, lists))], pa.int64())
    values = pa.array([value for row in lists for value in row], pa.large_string())
    return pl.Series(name, pa.LargeListArray.from_arrays(offsets, values)).cast(pl.List(pl.String))


def raw_text_frame(
    id_column: str, ids: Iterable[str | None], texts: list[str] | pl.Series
) -> pl.DataFrame:
    """`raw_frame` of payloads already turned into JSON text (`raw_json`), in the same order."""
    if isinstance(ids, pl.Series):  # a frame's id column: filled without a Python pass
        ids = ids.cast(pl.String).fill_null(UNREADABLE_ID)
    else:
        ids = [UNREADABLE_ID if i is None else i for i in ids]
    return pl.DataFrame(
        {id_column: ids, "payload": texts}, schema={id_column: pl.String, "payload": pl.String}
    )


class ReadOnArrival:
    """A snapshot read user by user as its answers arrive, in any order and with users that may
    later be dropped, into the frame's columns and the raw texts, so that no decoded payload
    outlives its reading.

    `add` reads one payload (with `read`) and returns its position; `finished` builds the frame,
    the listing and the raw texts of the positions kept, in their order. Rows and texts go into
    column chunks as they come (`ColumnChunks`, `RawTexts`): per user only the columns' values
    and its JSON text are held, never its decoded payload nor its row dict.

    Args:
        read: One payload and its listed id -> its `RowReading` (never raises).
        schema: The frame's schema.
        id_column: The id column (named in the listing).
        texts: Makes what gathers the raw texts (`append(text)`, `column()`, and `gather` on
            the column): `RawTexts` by default.
    """

    def __init__(
        self,
        read: Callable[[Any, str | None], RowReading],
        schema: pl.Schema,
        id_column: str,
        texts: Callable[[], Any] = RawTexts,
    ) -> None:
        self._read = read
        self._schema = schema
        self._id_column = id_column
        self._columns = ColumnChunks(schema)
        self._new_texts = texts
        self._texts = texts()
        self._failures: dict[int, list[dict[str, Any]]] = {}
        self._count = 0

    def add(self, listed_id: str | None, payload: Any) -> int:
        """Read `payload` (what was answered for `listed_id`); its position."""
        reading = self._read(payload, listed_id)
        position = self._count
        self._count += 1
        if reading.problems:
            self._failures[position] = reading.failures(self._id_column)
        self._columns.append_row(reading.finished())
        self._texts.append(raw_json(payload))
        return position

    def finished(self, positions: Sequence[int]) -> tuple[SnapshotRead, Any]:
        """The frame, the listing and the raw texts (`payload`) of the users added at
        `positions`, in that order (each position at most once)."""
        users = self._columns.frame()
        texts = self._texts.column()
        self._columns, self._texts = ColumnChunks(self._schema), self._new_texts()
        if list(positions) != list(range(self._count)):
            # Some users dropped or reordered (a pass that was not consistent): only they are
            # copied; a consistent first pass keeps every user in the order read.
            order = pl.Series("position", positions, dtype=pl.UInt32)
            users, texts = users[order], texts.gather(order)
        failures = [f for p in positions if p in self._failures for f in self._failures[p]]
        unreadable = pl.DataFrame(failures, schema=VALIDATION_FAILURES_SCHEMA)
        return SnapshotRead(users=users, unreadable=unreadable), texts


def raw_json(payload: Any) -> str:
    """A raw payload as JSON text for the history, whatever it holds (integers beyond 64 bits,
    lone surrogates); `null` for an answer that could not be decoded at all."""
    if isinstance(payload, UnreadablePayload):
        return "null"
    try:
        return orjson.dumps(payload).decode()
    except (orjson.JSONEncodeError, TypeError):
        copied = json.dumps(payload, ensure_ascii=False, default=repr)
        return copied.encode("utf-8", "replace").decode("utf-8")


#: What follows from an unreadable value, told with it: held out, or left unknown.
_HELD_OUT: Final = "the user is held out until it is fixed"
_LEFT_UNKNOWN: Final = "left unknown (never written, clears nothing), the other fields still sync"


class RowReading:
    """One user's row being read: values that cannot be read are left unknown and noted.

    Args:
        side: `huma` or `entra`, for the listing.
        row: The row's first values (the id, as far as it is known).
    """

    def __init__(self, side: str, row: dict[str, Any]) -> None:
        self.side = side
        self.row = row
        self.unknown: list[str] = []
        self.problems: list[tuple[str, str, str, bool]] = []

    def take(
        self,
        field: str,
        columns: Sequence[str],
        raw: Any,
        read: Callable[[Any], Any],
        *,
        absent: object = _NEVER,
    ) -> None:
        """Set `columns` to `read(raw)` (a tuple for several columns).

        `raw` being `absent` (the reader's marker of a field not returned) makes them unknown;
        `read` raising `UnreadableValue` makes them unknown and notes `field` with the reason.
        """
        if raw is absent:
            self.leave_unknown(columns)
            return
        try:
            value = read(raw)
        except UnreadableValue as exc:
            self.unreadable(field, columns, raw, str(exc))
            return
        if len(columns) == 1:
            self.row[columns[0]] = value
        else:
            self.row.update(zip(columns, value, strict=True))

    def leave_unknown(self, columns: Iterable[str]) -> None:
        """Mark `columns` unknown (null and listed in `unknown_fields`)."""
        for column in columns:
            self.row[column] = None
            if column not in self.unknown:
                self.unknown.append(column)

    def unreadable(self, field: str, columns: Iterable[str], raw: Any, reason: str) -> None:
        """Mark `columns` unknown and note that `field` could not be read, and why."""
        columns = tuple(columns)
        self.leave_unknown(columns)
        identity = not set(columns).isdisjoint(IDENTITY_COLUMNS[self.side])
        self.problems.append((field, shown(raw), reason, identity))

    def finished(self) -> dict[str, Any]:
        """The row, with `unknown_fields`."""
        self.row["unknown_fields"] = self.unknown
        return self.row

    def failures(self, id_column: str) -> list[dict[str, Any]]:
        """The noted problems as `VALIDATION_FAILURES_SCHEMA` rows."""
        return [
            {
                "side": self.side,
                "user_id": self.row.get(id_column),
                "email_key": self.row.get("email_key"),
                "field": field,
                "value": value,
                "rule": UNREADABLE,
                "message": f"{field} could not be read: {reason}; "
                + (_HELD_OUT if identity else _LEFT_UNKNOWN),
            }
            for field, value, reason, identity in self.problems
        ]


def read_snapshot(
    readings: Iterable[RowReading], schema: pl.Schema, id_column: str
) -> SnapshotRead:
    """The frame and the listing of unreadable values of finished readings."""
    failures: list[dict[str, Any]] = []
    columns = ColumnChunks(schema)
    # One row at a time into the frame's columns: the row dicts are not all kept.
    for reading in readings:
        failures.extend(reading.failures(id_column))
        columns.append_row(reading.finished())
    return SnapshotRead(
        users=columns.frame(),
        unreadable=pl.DataFrame(failures, schema=VALIDATION_FAILURES_SCHEMA),
    )

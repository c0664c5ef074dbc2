"""A page of plain Graph users read by Polars straight from the page's JSON into the frame's
columns and the users' raw texts, without a Python object per value.

The page is read with an explicit schema (each selected property text, a flag, or a reference object
of text) and each user written back as compact JSON; the page is plain only when those texts,
joined, are the page's `value` array byte for byte, the page holds no escape (`\\`), and outside the
array it names `value` only once, just before it (so that the array is the `value` that Polars and
`json` read). That one comparison proves what a check per value would: every selected property is
there (a reference may be left out; written back as `null` it would not match), no other property,
no key twice, no number, object or list where text or a flag belongs (Polars would have read it as
text, or refused the page), and each text is what the standard library's `json` reads (no escape: no
lone surrogate, no NUL, no control character). It also makes the raw texts exactly what
`orjson.dumps` writes of each user (without escapes both write every character as is).

The values are then read as `graph_snapshot` reads them one by one, column by column, in one
Polars query: text trimmed (Python's and Polars' whitespace agree once control characters are
ruled out), blank as missing; hire dates as dates; object ids and the manager's id GUIDs; email
keys case-folded. A page where any value would be unreadable, or read otherwise than this
query reads it (a hire date in another form, an email address beyond ASCII, which Unicode case
folding reads otherwise than lower case), is not plain: the caller reads it another way.

Pages are parsed as they arrive, but queried several at a time (`HELD_USERS`): the query's
planning costs as much as reading a thousand users, once per page it was a third of the reading.
"""

from __future__ import annotations

import dataclasses
import io
import itertools
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Final, Literal

import polars as pl
import pyarrow as pa

#: How a property's values are read (`graph_snapshot`'s readers, column by column).
Kind = Literal["text", "date", "flag", "reference"]

_GUID: Final = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
#: The forms of a hire date read here (`read_date` reads each as its first ten characters).
_ISO_DAY: Final = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}(T00:00:00Z)?$"
_NOT_ASCII: Final = r"[^\x00-\x7f]"
#: Every key named `value` in a page without escapes is spelled so.
_VALUE_KEY: Final = b'"value"'
_VALUE_ARRAY: Final = b'"value":['
_POLARS_FAILED: Final = (pl.exceptions.PolarsError, pl.exceptions.PanicException)


#: Users held before the pages taken are read together: one query per about this many users
#: (a query's planning costs as much as reading a thousand users), and only as many held.
HELD_USERS: Final = 10_000


@dataclasses.dataclass(frozen=True)
class _Taken:
    """A page taken: its body, where its `value` array's text begins, and its users as Polars
    read them (a column `user` of `struct`)."""

    content: bytes
    start: int
    users: pl.DataFrame
    struct: pl.Struct


class PlainPages:
    """Reads pages of plain users (see the module) into frame chunks of `schema`, several pages
    at a time: a page is taken as it arrives (`take`: parsed by Polars, and held), and the pages
    held are read in one query (`read`).

    Args:
        properties: Graph property -> (column, kind): `id` and each selected property (the
            derived columns `email_key` and `unknown_fields` are not properties).
        schema: The frame's exact schema.
        mail: The properties whose first readable text is the email key (mail, then UPN).
        sync: The flag whose null reads as false (on-premises sync: null is cloud-managed).
    """

    def __init__(
        self,
        properties: Mapping[str, tuple[str, Kind]],
        schema: pl.Schema,
        mail: tuple[str, str] = ("mail", "userPrincipalName"),
        sync: str = "onPremisesSyncEnabled",
    ) -> None:
        self._properties = dict(properties)
        self._references = tuple(p for p, (_, kind) in properties.items() if kind == "reference")
        self._keys = frozenset(properties)
        self._query = _query(self._properties, schema, mail, sync, self._references)
        self._columns = schema.names()
        self._taken: list[_Taken] = []
        self.held = 0

    def take(self, content: bytes, users: Sequence[Any]) -> bool:
        """Take a page that may be plain, to be read with the others held (`read`); False, and
        nothing taken, when it cannot be.

        Args:
            content: The page's body.
            users: Its `value` as decoded (their key order is the page's).
        """
        if not users or b"\\" in content:
            return False
        start = content.find(_VALUE_ARRAY) + len(_VALUE_ARRAY)
        # The first `"value"` of the page opens the array (read below as the page's `value`).
        if start < len(_VALUE_ARRAY) or content.find(_VALUE_KEY) != start - len(_VALUE_ARRAY):
            return False
        struct = self._struct(users)
        if struct is None:
            return False
        try:
            page = pl.read_json(io.BytesIO(content), schema={"value": pl.List(struct)})
            read = page.get_column("value")
            if read.len() != 1 or read.null_count() or read[0].len() != len(users):
                return False
        except _POLARS_FAILED:
            return False
        self._taken.append(_Taken(content, start, read[0].to_frame("user"), struct))
        self.held += len(users)
        return True

    def read(self) -> Iterator[tuple[bytes, tuple[pl.DataFrame, pl.Series] | None]]:
        """Each page held, in the order taken: its body, and its frame chunk and raw texts
        (`payload`) when its users are plain, else None (the caller reads it another way).
        Nothing is held afterwards."""
        taken, self._taken, self.held = self._taken, [], 0
        for _, run in itertools.groupby(taken, key=lambda page: page.struct):
            pages = list(run)
            try:
                users = pl.concat([page.users for page in pages], rechunk=False)
                out = users.lazy().select(self._query).collect()
                texts = out.get_column("payload")
                # Every page's texts joined at once; each page's are a part of the whole.
                joined = texts.str.join(",").to_arrow()[0].as_buffer()
                sizes = texts.str.len_bytes().to_list()
            except _POLARS_FAILED:
                sizes = [None]
            if None in sizes:  # no texts to compare (a user Polars could not write back)
                yield from ((page.content, None) for page in pages)
                continue
            chunks = out.select(self._columns)
            plain = out.get_column(_PLAIN)
            row = at = 0
            for page in pages:
                rows = page.users.height
                size = sum(sizes[row : row + rows]) + rows - 1
                read = None
                if plain.slice(row, rows).all() and _written(page, joined.slice(at, size)):
                    read = chunks.slice(row, rows), texts.slice(row, rows)
                yield page.content, read
                row, at = row + rows, at + size + 1

    def _struct(self, users: Sequence[Any]) -> pl.Struct | None:
        """The page's users as a Polars struct, keys in the page's order: the first user with
        every selected property gives it (a reference left out comes last)."""
        first = next((u for u in users if type(u) is dict and len(u) == len(self._keys)), users[0])
        if type(first) is not dict or not set(first) <= self._keys:
            return None
        order = [*first, *(p for p in self._references if p not in first)]
        fields: dict[str, pl.DataType] = {}
        for prop in order:
            kind = self._properties[prop][1]
            if kind == "flag":
                fields[prop] = pl.Boolean()
            elif kind != "reference":
                fields[prop] = pl.String()
            else:
                reference = next((u[prop] for u in users if type(u) is dict and prop in u), None)
                if type(reference) is not dict or "id" not in reference:
                    return None
                fields[prop] = pl.Struct(dict.fromkeys(reference, pl.String()))
        return pl.Struct(fields)


def _written(page: _Taken, joined: pa.Buffer) -> bool:
    """Whether the page's users written back (`joined`, separated by commas) are its `value`
    array byte for byte, with no `"value"` after it."""
    end = page.start + joined.size
    return (
        page.content[end : end + 1] == b"]"
        and page.content.find(_VALUE_KEY, end) == -1
        and joined.equals(pa.py_buffer(page.content).slice(page.start, joined.size))
    )


#: The query's column telling whether every value of a user reads as `graph_snapshot` reads it.
_PLAIN: Final = "plain"


def _query(
    properties: Mapping[str, tuple[str, Kind]],
    schema: pl.Schema,
    mail: tuple[str, str],
    sync: str,
    references: Sequence[str],
) -> list[pl.Expr]:
    """The frame's columns (`schema`), the raw texts (`payload`) and `_PLAIN`, from a column
    `user` of the page's users."""
    user = pl.col("user")
    columns: dict[str, pl.Expr] = {}
    plain: list[pl.Expr] = []
    for prop, (column, kind) in properties.items():
        value = user.struct.field(prop)
        if prop == "id":
            columns[column] = value
            plain.append(value.str.contains(_GUID).fill_null(False))
        elif kind == "text":
            columns[column] = _text(value)
        elif kind == "date":
            text = _text(value)
            iso = text.str.contains(_ISO_DAY)
            columns[column] = text.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False)
            # Another form, or no such day (the 30th of February): not read here.
            plain.append(text.is_null() | (iso & columns[column].is_not_null()).fill_null(False))
        elif kind == "flag":
            columns[column] = value.fill_null(False) if prop == sync else value
        else:
            reference = value.struct.field("id")
            columns[column] = pl.when(value.is_not_null()).then(reference)
            plain.append(value.is_null() | reference.str.contains(_GUID).fill_null(False))
    address = pl.coalesce(columns[properties[mail[0]][0]], columns[properties[mail[1]][0]])
    columns["email_key"] = address.str.to_lowercase()
    plain.append(~address.str.contains(_NOT_ASCII).fill_null(False))
    columns["unknown_fields"] = pl.lit([], dtype=pl.List(pl.String))
    texts = user.struct.json_encode()
    for prop in references:  # Graph leaves out a reference to nobody
        texts = texts.str.replace_all(f',"{prop}":null', "", literal=True)
        texts = texts.str.replace_all(f'"{prop}":null,', "", literal=True)
    return [
        *(columns[name].cast(dtype).alias(name) for name, dtype in schema.items()),
        texts.alias("payload"),
        pl.all_horizontal(plain).alias(_PLAIN),
    ]


def _text(value: pl.Expr) -> pl.Expr:
    """`read_text` of a page without control characters: trimmed, blank as null."""
    trimmed = value.str.strip_chars()
    return pl.when(trimmed.str.len_bytes() > 0).then(trimmed)

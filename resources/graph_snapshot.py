"""Graph user objects -> the `entra_users` frame (`reconcile.frames.ENTRA_USERS_SCHEMA`).

With an explicit `$select`, Graph returns every selected property, `null` when empty; a property
missing from the object altogether was not returned and is *unknown* (`unknown_fields`). A user
reference read by `$expand` (the manager) is the other way round: Graph leaves it out of a user
who has none, so there absent is empty; present, it is an object whose `id` is the reference.

A property of another type than Graph's (a number or an object where text belongs, a flag that is
not a boolean, a hire date that is not ISO) is unknown the same way and listed with its reason
(SPEC §5), never turned into text. When what identifies the user or decides its scope and
writability (id, mail, user principal name, user type, on-premises sync) cannot be read, those
columns are unknown and validation holds the user out.

A snapshot is read a page at a time as Graph's pages arrive (`EntraUsersOnArrival`): a page of
plain users (the selected properties and nothing else, each text, a boolean, a date or null)
written as Graph writes it (compact JSON without escapes) is read by Polars from the page's body
straight into the frame's columns and the raw texts (`graph_plain_page`); another page of plain
users goes into the columns column by column from the decoded users; any other page is read
user by user as above. All three give the same rows, listing and raw texts.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from operator import itemgetter
from typing import Any, Final

import orjson
import polars as pl

from reconcile.frames import ENTRA_USERS_SCHEMA, entra_users_schema
from reconcile.mapping import DATE, Mapped, active
from reconcile.outputs import VALIDATION_FAILURES_SCHEMA
from reconcile.vocabulary import ENTRA
from resources.graph_plain_page import HELD_USERS, Kind, PlainPages
from resources.normalise import (
    UnreadableValue,
    email_key,
    kind_of,
    read_date,
    read_flag,
    read_text,
)
from resources.remote_ids import graph_id_problem
from resources.snapshot_reading import (
    ColumnChunks,
    RawTexts,
    RowReading,
    SnapshotRead,
    raw_json,
    read_snapshot,
)


def _properties(fields: Iterable[str] = ()) -> dict[str, tuple[str, Any]]:
    """Graph property -> (column, reader), for the mapped fields of a connection."""
    return {
        prop: (column, _reader(entry))
        for entry in active(fields)
        for prop, column in zip(entry.graph, entry.columns, strict=True)
    }


def _reader(entry: Mapped) -> Any:
    if entry.graph_reference:
        return _reference
    return read_date if entry.value == DATE else read_text


def _reference(value: Any) -> str | None:
    """The object id of an expanded user reference (`{"id": …}`); absent or null: none."""
    if value is _ABSENT or value is None:
        return None
    user_id = value.get("id") if isinstance(value, Mapping) else value
    if not isinstance(value, Mapping) or graph_id_problem(user_id) is not None:
        raise UnreadableValue(f"{kind_of(user_id)} where a user reference's object id belongs")
    return user_id


#: Graph property -> (column, reader), for the mapped fields without optional ones.
GRAPH_PROPERTIES = _properties()
#: The properties that are not mapped fields: Graph property -> column, and how each is read.
_OTHER_PROPERTIES = {
    "accountEnabled": ("account_enabled", read_flag),
    "userType": ("user_type", read_text),
    "onPremisesSyncEnabled": ("on_premises_sync_enabled", read_flag),
}
_ABSENT = object()
_NEVER = object()


def read_entra_users(users: Iterable[Any], fields: Iterable[str] = ()) -> SnapshotRead:
    """Read Graph user objects; never raises for any object.

    Args:
        users: The user objects.
        fields: The optional fields switched on (their properties are read; no other is).

    Returns:
        The frame (`entra_users_schema(fields)`) and the listing of unreadable values.
    """
    fields = tuple(fields)
    properties = _properties(fields)
    schema = entra_users_schema(fields)
    return read_snapshot((_read_user(u, properties, schema) for u in users), schema, "entra_id")


def entra_users_frame(users: Iterable[Any]) -> pl.DataFrame:
    """One row per Graph user object, normalised, with exactly `ENTRA_USERS_SCHEMA`."""
    return read_entra_users(users).users


def entra_user_row(user: Any) -> dict[str, Any]:
    """The normalised row of one Graph user object."""
    return _read_user(user, GRAPH_PROPERTIES, ENTRA_USERS_SCHEMA).finished()


def _read_user(
    user: Any, properties: Mapping[str, tuple[str, Any]], schema: pl.Schema
) -> RowReading:
    reading = RowReading(ENTRA, {"entra_id": None})
    if not isinstance(user, Mapping):
        columns = [name for name in schema.names() if name != "unknown_fields"]
        reading.unreadable("payload", columns, user, f"{kind_of(user)} where a user belongs")
        return reading
    reading.take("entra_id", ("entra_id",), user.get("id", _ABSENT), _object_id)
    reading.take("mail", ("mail",), user.get("mail"), read_text)
    reading.take(
        "user_principal_name", ("user_principal_name",), user.get("userPrincipalName"), read_text
    )
    if {"mail", "user_principal_name"} & set(reading.unknown):
        reading.leave_unknown(("email_key",))
    else:
        reading.row["email_key"] = email_key(
            reading.row["mail"] or reading.row["user_principal_name"]
        )
    for prop, (column, read) in _OTHER_PROPERTIES.items():
        reading.take(column, (column,), user.get(prop), read)
    if (
        reading.row["on_premises_sync_enabled"] is None
        and "on_premises_sync_enabled" not in reading.unknown
    ):
        reading.row["on_premises_sync_enabled"] = False  # null: managed in the cloud
    for prop, (column, read) in properties.items():
        # A reference reads its own absence (none); any other property absent is unknown.
        absent = _NEVER if read is _reference else _ABSENT
        reading.take(column, (column,), user.get(prop, _ABSENT), read, absent=absent)
    return reading


def _object_id(value: Any) -> str:
    if value is _ABSENT:
        raise UnreadableValue("the user object has no id")
    if not isinstance(value, str) or read_text(value) is None:
        raise UnreadableValue(f"{kind_of(value)} where the object id belongs")
    if (problem := graph_id_problem(value)) is not None:
        raise UnreadableValue(problem)
    return value


class EntraUsersOnArrival:
    """`read_entra_users` a page at a time as the pages arrive, with each user's raw JSON text
    (`raw_json`) for the history: the same frame, listing and texts, but no decoded user outlives
    its page.

    Args:
        fields: The optional fields switched on.
        held_users: How many users of plain pages are held before they are read together.
    """

    def __init__(self, fields: Iterable[str] = (), held_users: int = HELD_USERS) -> None:
        fields = tuple(fields)
        self._held_users = held_users
        self._properties = _properties(fields)
        self._schema = entra_users_schema(fields)
        self._columns = ColumnChunks(self._schema)
        self._texts = RawTexts()
        self._failures: list[dict[str, Any]] = []
        self._dates: dict[str, Any] = {}
        self._readers = (
            ("mail", ("mail", read_text)),
            ("userPrincipalName", ("user_principal_name", read_text)),
            *self._properties.items(),
            *_OTHER_PROPERTIES.items(),
        )
        self._selected = ("id", *(prop for prop, _ in self._readers))
        self._references = tuple(
            p for p, (_, read) in self._properties.items() if read is _reference
        )
        # A user who has no manager is answered without the property.
        self._plain_keys = (set(self._selected), set(self._selected) - set(self._references))
        self._pages = PlainPages(
            {"id": ("entra_id", "text")}
            | {prop: (column, _KINDS[read]) for prop, (column, read) in self._readers},
            self._schema,
        )

    def add(
        self,
        users: Iterable[Any],
        exact: Callable[[], Iterable[Any]] | None = None,
        content: bytes | None = None,
    ) -> None:
        """Read one page's users, in order.

        Args:
            users: The page's user objects as decoded.
            exact: The same page decoded as the standard library's `json` does, when `users`
                came from a faster decoder that reads numbers beyond 64 bits otherwise: read
                instead of `users` when the page holds anything but plain users.
            content: The page's body (`users` is its `value`): a page that may hold only plain
                users (written as compact JSON without escapes) is read from it by Polars
                (`PlainPages`), with the pages after it, once they hold `held_users` users or
                the reading is `finished`.
        """
        if content is not None and isinstance(users, list) and self._pages.take(content, users):
            if self._pages.held >= self._held_users:
                self._read_held()
            return
        self._read_held()
        self._read_decoded(users, exact)

    def finished(self) -> tuple[SnapshotRead, pl.Series]:
        """The frame, the listing of unreadable values and the raw texts (`payload`), in the
        order read."""
        self._read_held()
        read = SnapshotRead(
            users=self._columns.frame(),
            unreadable=pl.DataFrame(self._failures, schema=VALIDATION_FAILURES_SCHEMA),
        )
        texts = self._texts.column()
        self._columns, self._texts, self._failures = ColumnChunks(self._schema), RawTexts(), []
        return read, texts

    def _read_held(self) -> None:
        """Read the pages `PlainPages` holds; one that is not plain after all is decoded again
        (as `json` decodes it) and read as any other page."""
        for content, read in self._pages.read():
            if read is not None:
                self._columns.extend_frame(read[0])
                self._texts.extend_column(read[1])
            else:
                self._read_decoded(json.loads(content)["value"], None)

    def _read_decoded(
        self, users: Iterable[Any], exact: Callable[[], Iterable[Any]] | None
    ) -> None:
        """Read a page's decoded users: column by column when every one is plain, else user by
        user (`exact` decoded when given)."""
        columns = self._plain_columns(users) if isinstance(users, list) else None
        if columns is not None:
            self._columns.extend(columns, len(users))
            self._texts.extend(orjson.dumps(user).decode() for user in users)
            return
        for user in exact() if exact is not None else users:
            reading = _read_user(user, self._properties, self._schema)
            self._failures.extend(reading.failures("entra_id"))
            self._columns.append_row(reading.finished())
            self._texts.append(raw_json(user))

    def _plain_columns(self, users: list[Any]) -> dict[str, Sequence[Any]] | None:
        """The page's columns when every user is plain (what `_read_user` would read without a
        problem nor an unknown field), else None."""
        if not set(map(type, users)) <= {dict} or not all(
            map(self._plain_keys.__contains__, map(dict.keys, users))
        ):
            return None
        # Every selected property is there (a reference may be left out): one tuple per column.
        present = [prop for prop in self._selected if prop not in self._references]
        by_property: dict[str, Sequence[Any]] = (
            dict(zip(present, zip(*map(itemgetter(*present), users), strict=True), strict=True))
            if users
            else dict.fromkeys(present, ())
        )
        for prop in self._references:
            by_property[prop] = [user.get(prop) for user in users]
        ids = by_property["id"]
        if not set(map(type, ids)) <= {str} or any(map(graph_id_problem, ids)):
            return None
        columns: dict[str, Sequence[Any]] = {"entra_id": ids}
        for prop, (column, read) in self._readers:
            read_values = _PLAIN_READERS[read](by_property[prop], self._dates)
            if read_values is None:
                return None
            columns[column] = read_values
        columns["email_key"] = [
            (address.casefold() if (address := mail or upn) else None)
            for mail, upn in zip(columns["mail"], columns["user_principal_name"], strict=True)
        ]
        columns["on_premises_sync_enabled"] = [
            value is True  # null: managed in the cloud
            for value in columns["on_premises_sync_enabled"]
        ]
        columns["unknown_fields"] = [[]] * len(users)
        return columns


_TEXT_TYPES: Final = frozenset({str, type(None)})
_FLAG_TYPES: Final = frozenset({bool, type(None)})
#: The most hire dates remembered as read (they repeat: people are hired on the same days).
_DATES_KEPT: Final = 100_000


def _plain_texts(values: Sequence[Any], _dates: dict[str, Any]) -> Sequence[Any] | None:
    """`read_text` of each value, or None when one is not plain text (not valid Unicode, or
    with a NUL character)."""
    if not set(map(type, values)) <= _TEXT_TYPES:
        return None
    given = list(filter(None, values))
    joined = "".join(given)
    if "\x00" in joined:
        return None
    if not joined.isascii():
        try:
            joined.encode("utf-8")
        except UnicodeEncodeError:
            return None
    if "" not in values and list(map(str.strip, given)) == given:
        return values  # nothing to trim, nothing blank (most pages): read as they are
    return [(value.strip() or None) if value else None for value in values]


def _plain_dates(values: Sequence[Any], dates: dict[str, Any]) -> list[Any] | None:
    """`read_date` of each value (remembered in `dates`), or None when one cannot be read."""
    if not set(map(type, values)) <= _TEXT_TYPES:
        return None
    read: list[Any] = []
    for value in values:
        if value is None:
            read.append(None)
            continue
        date = dates.get(value, _ABSENT)
        if date is _ABSENT:
            try:
                date = read_date(value)
            except UnreadableValue:
                return None
            if len(dates) < _DATES_KEPT:
                dates[value] = date
        read.append(date)
    return read


def _plain_flags(values: Sequence[Any], _dates: dict[str, Any]) -> list[Any] | None:
    """`read_flag` of each value, or None when one is not a boolean or null."""
    return list(values) if set(map(type, values)) <= _FLAG_TYPES else None


def _plain_references(values: Sequence[Any], _dates: dict[str, Any]) -> list[Any] | None:
    """`_reference` of each value, or None when one is not a reference object of text values
    with an object id."""
    read: list[Any] = []
    for value in values:
        if value is None:
            read.append(None)
        elif (
            type(value) is dict
            and set(map(type, value.values())) <= {str}
            and graph_id_problem(value.get("id")) is None
        ):
            read.append(value["id"])
        else:
            return None
    return read


_KINDS: Final[dict[Any, Kind]] = {
    read_text: "text",
    read_date: "date",
    read_flag: "flag",
    _reference: "reference",
}
_PLAIN_READERS: Final[dict[Any, Callable[[Sequence[Any], dict[str, Any]], list[Any] | None]]] = {
    read_text: _plain_texts,
    read_date: _plain_dates,
    read_flag: _plain_flags,
    _reference: _plain_references,
}

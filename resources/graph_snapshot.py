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
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import polars as pl

from reconcile.frames import ENTRA_USERS_SCHEMA, entra_users_schema
from reconcile.mapping import DATE, Mapped, active
from reconcile.vocabulary import ENTRA
from resources.normalise import (
    UnreadableValue,
    email_key,
    kind_of,
    read_date,
    read_flag,
    read_text,
)
from resources.remote_ids import graph_id_problem
from resources.snapshot_reading import RowReading, SnapshotRead, read_snapshot


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

"""Huma `UserDetails` payloads -> the `huma_users` frame (`reconcile.frames.HUMA_USERS_SCHEMA`).

Huma wraps most fields as `{"value": …, "editable": …}`. A wrapper without `value` is an empty
field; a wrapper that is absent altogether was not returned (the key may not read it): the field
is *unknown* and listed in `unknown_fields`, so it is never written and never clears anything.

A value in another shape than the published one (a wrapper that is not an object, a number where
text belongs, a date that is not ISO, `status.active` that is not a boolean) is unknown the same
way and listed with its reason (SPEC §5): it is never turned into text. When the user's id,
email or active flag cannot be read, those columns are unknown and validation holds the user out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import polars as pl

from reconcile.frames import huma_users_schema
from reconcile.mapping import (
    COMPOSED_NAME,
    CURRENT_POSITION_TITLE,
    DATE,
    FIRST_GROUP_NAME,
    LINKED_USER_ID,
    WRAPPED,
    WRAPPED_OBJECT,
    Mapped,
    active,
)
from reconcile.vocabulary import HUMA
from resources.huma_payloads import TextGatherer
from resources.normalise import (
    UnreadableValue,
    email_key,
    kind_of,
    read_date,
    read_datetime,
    read_flag,
    read_text,
)
from resources.remote_ids import huma_id_problem
from resources.snapshot_reading import (
    ReadOnArrival,
    RowReading,
    SnapshotRead,
    UnreadablePayload,
    read_snapshot,
)

_ABSENT = object()
#: A position's statuses in Huma's spec (`PositionSummary.status`).
_POSITION_STATUSES = frozenset({"CURRENT", "ENDED", "UPCOMING"})
_EMAIL_COLUMNS = ("email", "email_key")


def read_huma_users(
    details: Iterable[tuple[str | None, Any]], fields: Iterable[str] = ()
) -> SnapshotRead:
    """Read `(listed id, UserDetails payload)` pairs; never raises for any payload.

    Args:
        details: Per user, the id `GET /users` listed (None when unknown) and what
            `GET /users/{id}` answered (an `UnreadablePayload` when it could not be decoded).
        fields: The optional fields switched on (read; no other optional field is).

    Returns:
        The frame (`huma_users_schema(fields)`) and the listing of unreadable values.
    """
    entries = active(fields)
    return read_snapshot(
        (_read_user(payload, listed_id, entries) for listed_id, payload in details),
        huma_users_schema(fields),
        "huma_id",
    )


def huma_users_on_arrival(fields: Iterable[str] = ()) -> ReadOnArrival:
    """`read_huma_users`, one `(listed id, UserDetails payload)` at a time as the answers arrive
    (`ReadOnArrival.add(listed_id, payload)`); `finished` gives the same frame and listing, and
    the raw texts packed (`resources.huma_payloads.PackedTexts`)."""
    entries = active(fields)
    return ReadOnArrival(
        lambda payload, listed_id: _read_user(payload, listed_id, entries),
        huma_users_schema(fields),
        "huma_id",
        texts=TextGatherer,
    )


def huma_users_frame(payloads: Iterable[Any]) -> pl.DataFrame:
    """One row per `UserDetails` payload, normalised, with exactly `HUMA_USERS_SCHEMA`."""
    return read_huma_users((None, payload) for payload in payloads).users


def huma_user_row(payload: Any, listed_id: str | None = None) -> dict[str, Any]:
    """The normalised row of one `GET /users/{id}` payload."""
    return _read_user(payload, listed_id, active()).finished()


def _read_user(payload: Any, listed_id: str | None, entries: tuple[Mapped, ...]) -> RowReading:
    reading = RowReading(HUMA, {"huma_id": listed_id})
    if not isinstance(payload, Mapping):
        reason = (
            payload.reason
            if isinstance(payload, UnreadablePayload)
            else f"{kind_of(payload)} where the user's details belong"
        )
        mapped = (column for entry in entries for column in entry.columns)
        columns = ("huma_id", *_EMAIL_COLUMNS, *mapped, "active", "deactivated_at")
        reading.unreadable("payload", columns, payload, reason)
        reading.row["huma_id"] = listed_id
        return reading
    reading.take("huma_id", ("huma_id",), payload.get("id", _ABSENT), _id(listed_id))
    if "huma_id" in reading.unknown:
        reading.row["huma_id"] = listed_id  # known from the list: the user is there, unreadable
    _read_email(reading, payload)
    for entry in entries:
        raw = _raw(entry, payload)
        reading.take(entry.name, entry.columns, raw, _reader(entry), absent=_ABSENT)
    status = payload.get("status", _ABSENT)
    reading.take("active", ("active",), status, _active)
    deactivated_at = status.get("deactivatedAt") if isinstance(status, Mapping) else None
    reading.take("deactivated_at", ("deactivated_at",), deactivated_at, read_datetime)
    return reading


def _id(listed_id: str | None):
    def read(value: Any) -> str:
        if value is _ABSENT:
            raise UnreadableValue("the details have no id")
        if not isinstance(value, str) or read_text(value) is None:
            raise UnreadableValue(f"{kind_of(value)} where the user's id belongs")
        if (problem := huma_id_problem(value)) is not None:
            raise UnreadableValue(problem)
        if listed_id is not None and value != listed_id:
            raise UnreadableValue("the details name another user than the one asked for")
        return value

    return read


def _read_email(reading: RowReading, payload: Mapping[str, Any]) -> None:
    wrapper = _wrapper(payload, "email")
    if wrapper is _ABSENT:  # required: validation holds the user out as without an email
        reading.row.update(email=None, email_key=None)
        return
    reading.take("email", _EMAIL_COLUMNS, wrapper, _email, absent=_ABSENT)


def _email(wrapper: Any) -> tuple[str | None, str | None]:
    value = read_text(_unwrap(wrapper))
    return value, email_key(value)


def _wrapper(payload: Mapping[str, Any], prop: str) -> Any:
    """The wrapper of a field as sent; `_ABSENT` when the field was not returned."""
    return payload.get(prop, _ABSENT)


def _unwrap(wrapper: Any) -> Any:
    """The `value` of a wrapper (None when it has none); a wrapper in another shape is
    unreadable."""
    if not isinstance(wrapper, Mapping):
        raise UnreadableValue(f"{kind_of(wrapper)} where a wrapped field belongs")
    return wrapper.get("value")


def _raw(entry: Mapped, payload: Mapping[str, Any]) -> Any:
    """What the entry is read from: the value under its path, or for a composed name the
    wrappers of the preferred, given and family name (`_ABSENT` unless all three came: without
    the preferred name's wrapper, which name the person goes by is unknown)."""
    if entry.huma.kind != COMPOSED_NAME:
        return payload.get(entry.huma.path, _ABSENT)
    names = tuple(payload.get(prop, _ABSENT) for prop in (entry.huma.path, "givenName"))
    family = payload.get("familyName", _ABSENT)
    return _ABSENT if _ABSENT in (*names, family) else (*names, family)


def _composed_name(wrappers: tuple[Any, Any, Any]) -> str | None:
    """The preferred name (or, without one, the given name) and the family name."""
    preferred, given, family = wrappers
    first = read_text(_unwrap(preferred)) or read_text(_unwrap(given))
    last = read_text(_unwrap(family))
    return " ".join(part for part in (first, last) if part) or None


def _first_group_name(wrapper: Any) -> str | None:
    """The name of the first group by name in a wrapped list of groups (none: None)."""
    groups = _unwrap(wrapper)
    if groups is None:
        return None
    if not isinstance(groups, list) or not all(isinstance(g, Mapping) for g in groups):
        raise UnreadableValue(f"{kind_of(groups)} where a list of groups belongs")
    names = sorted(name for g in groups if (name := read_text(g.get("name"))) is not None)
    return names[0] if names else None


def _linked_user_id(wrapper: Any) -> str | None:
    """The id of a wrapped user (`FieldSimpleUser`, e.g. the supervisor); none: None."""
    user = _unwrap(wrapper)
    if user is None:
        return None
    user_id = user.get("id") if isinstance(user, Mapping) else None
    if not isinstance(user_id, str) or huma_id_problem(user_id) is not None:
        shape = kind_of(user_id) if isinstance(user, Mapping) else kind_of(user)
        raise UnreadableValue(f"{shape} where a user's id (a UUID) belongs")
    return user_id


def _reader(entry: Mapped) -> Callable[[Any], Any]:
    """How to read the raw value under the entry's `huma.path` (by its source kind)."""
    kind = entry.huma.kind
    if kind == WRAPPED:
        read = read_date if entry.value == DATE else read_text
        return lambda wrapper: read(_unwrap(wrapper))
    if kind == WRAPPED_OBJECT:
        return lambda wrapper: _object(entry, wrapper)
    if kind == CURRENT_POSITION_TITLE:
        return current_job_title
    if kind == COMPOSED_NAME:
        return _composed_name
    if kind == FIRST_GROUP_NAME:
        return _first_group_name
    if kind == LINKED_USER_ID:
        return _linked_user_id
    raise ValueError(f"no Huma reader for {kind!r} ({entry.name})")


def _object(entry: Mapped, wrapper: Any) -> tuple[str | None, ...]:
    """An object field's parts, one per column (one unit: any unreadable part makes the whole
    unreadable)."""
    value = _unwrap(wrapper)
    if value is None:
        return (None,) * len(entry.columns)
    if not isinstance(value, Mapping):
        raise UnreadableValue(f"{kind_of(value)} where an {entry.label} belongs")
    return tuple(read_text(value.get(part)) for part in entry.huma.parts)


def _active(status: Any) -> bool:
    if status is _ABSENT:
        raise UnreadableValue("the details have no status")
    if not isinstance(status, Mapping):
        raise UnreadableValue(f"{kind_of(status)} where the status belongs")
    active = read_flag(status.get("active"))
    if active is None:
        raise UnreadableValue("the status has no active flag")
    return active


def current_job_title(positions: Any) -> str | None:
    """The title of the CURRENT position; with several, the one that started last.

    Raises:
        UnreadableValue: When the positions, or a current one, are in another shape, or a
            position's status is not one Huma's spec knows (which one is current is unknown).
    """
    if positions is None:
        return None
    if not isinstance(positions, list) or not all(isinstance(p, Mapping) for p in positions):
        raise UnreadableValue(f"{kind_of(positions)} where a list of positions belongs")
    # A status of another shape (a list, an object: not hashable) is as unknown as another text.
    if any(
        not isinstance(s := p.get("status"), str) or s not in _POSITION_STATUSES for p in positions
    ):
        raise UnreadableValue("a position whose status is not CURRENT, ENDED or UPCOMING")
    current = [p for p in positions if p.get("status") == "CURRENT"]
    if not current:
        return None
    latest = max(
        current,
        key=lambda p: (read_date(p.get("contractStartDate")) or dt.date.min, str(p.get("id"))),
    )
    title = latest.get("title")
    if title is None:
        return None
    if not isinstance(title, Mapping):
        raise UnreadableValue(f"{kind_of(title)} where a position's title belongs")
    return read_text(title.get("name"))

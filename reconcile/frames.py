"""The snapshot frames both clients produce and the engine consumes: column names and dtypes.

Both sides use the same concept names for the mapped fields (SPEC §3), so a diff is a join on the
link and a comparison column by column. Values are already normalised when a frame is built:
strings trimmed, empty strings as null, `email_key` case-folded, dates as `pl.Date`.

A null means *empty*. A field the source payload did not return at all is *unknown*, which is not
the same (SPEC §5: never written, never clears anything): its concept name is listed in the row's
`unknown_fields`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

import polars as pl

from reconcile.mapping import BY_NAME, DATE, active

#: Column names the engine's rules name directly (every mapped column is in `reconcile.mapping`).
GIVEN_NAME: Final = "given_name"
FAMILY_NAME: Final = "family_name"
PHONE: Final = "phone"
ADDRESS_LINE1: Final = "address_line1"
ADDRESS_POSTAL_CODE: Final = "address_postal_code"
ADDRESS_CITY: Final = "address_city"
ADDRESS_COUNTRY: Final = "address_country"
EMPLOYMENT_ID: Final = "employment_id"
HIRE_DATE: Final = "hire_date"
JOB_TITLE: Final = "job_title"

#: The address travels as one unit: these four columns are compared and written together.
ADDRESS_FIELDS: Final = BY_NAME["address"].columns

#: Every mapped column of a connection without optional fields, in the mapping's order (SPEC §3;
#: email is the match key, listed apart).
MAPPED_FIELDS: Final = tuple(column for entry in active() for column in entry.columns)


def _snapshot_schema(head: dict, tail: dict, fields: Iterable[str]) -> pl.Schema:
    """`head` columns, the mapped columns (with the optional `fields` switched on), `tail`."""
    mapped = {
        column: pl.Date() if entry.value == DATE else pl.String()
        for entry in active(fields)
        for column in entry.columns
    }
    return pl.Schema({**head, **mapped, **tail, "unknown_fields": pl.List(pl.String())})


def huma_users_schema(fields: Iterable[str] = ()) -> pl.Schema:
    """One row per Huma user (active or deactivated) from `GET /users` + `GET /users/{id}`,
    with the columns of the optional `fields` switched on."""
    return _snapshot_schema(
        {"huma_id": pl.String(), "email": pl.String(), "email_key": pl.String()},
        {"active": pl.Boolean(), "deactivated_at": pl.Datetime("us", "UTC")},
        fields,
    )


def entra_users_schema(fields: Iterable[str] = ()) -> pl.Schema:
    """One row per Entra user (members and guests, enabled or not) from Graph `GET /users`,
    with the columns of the optional `fields` switched on."""
    head = {"entra_id": pl.String(), "user_principal_name": pl.String(), "mail": pl.String()}
    tail = {
        "account_enabled": pl.Boolean(),
        "user_type": pl.String(),
        "on_premises_sync_enabled": pl.Boolean(),
    }
    return _snapshot_schema({**head, "email_key": pl.String()}, tail, fields)


#: The snapshots of a connection without optional fields.
HUMA_USERS_SCHEMA: Final = huma_users_schema()
ENTRA_USERS_SCHEMA: Final = entra_users_schema()


def empty_frame(schema: pl.Schema) -> pl.DataFrame:
    """An empty frame with exactly `schema` (all-null columns otherwise get the wrong dtype)."""
    return pl.DataFrame(schema=schema)


def require_schema(frame: pl.DataFrame | pl.LazyFrame, schema: pl.Schema, what: str) -> None:
    """Raise when `frame` does not have exactly `schema` (names, order aside, and dtypes).

    A frame that breaks the contract is a bug in its producer, not bad data: it is refused whole
    rather than reported row by row.

    Args:
        frame: The frame handed over (a lazy frame is checked without being collected).
        schema: The agreed schema.
        what: The frame's name, for the message.

    Raises:
        ValueError: Naming the missing, unexpected and mistyped columns.
    """
    actual = dict(frame.collect_schema() if isinstance(frame, pl.LazyFrame) else frame.schema)
    expected = dict(schema)
    missing = sorted(set(expected) - set(actual))
    extra = sorted(set(actual) - set(expected))
    mistyped = sorted(
        f"{name}: {actual[name]} (expected {dtype})"
        for name, dtype in expected.items()
        if name in actual and actual[name] != dtype
    )
    if missing or extra or mistyped:
        raise ValueError(
            f"{what} does not match its schema: missing {missing}, unexpected {extra}, "
            f"mistyped {mistyped}"
        )

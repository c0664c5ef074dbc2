"""Validation of the two snapshots (SPEC §3, §4): failing users are held out and listed.

Huma: email, given and family name required; Huma id, email, phone and employment ID unique
(phone and employment ID over their non-null values); country ISO 3166-1 alpha-2; every value that
flows to Entra within Graph's length limits; employment ID at most 16 characters (Graph's
`employeeId`: a longer Huma value could never agree with Entra).

Entra (in-scope users only, so a guest never holds a member out): object id, email key, phone and
employment ID unique; employment ID at most 16 characters. Entra's names are not required here:
an empty Entra name is a missing value that Huma fills (SPEC §5), and a create in Huma without
names is blocked with that reason instead.

A value the reader could not read (SPEC §5) is unknown, not missing: it never fails `required`.
The reader lists it (rule `unreadable`) and those rows join the failures; a user whose identity
or state is unknown (`IDENTITY_COLUMNS`) is held out whole, any other unknown field leaves the
user's other fields flowing.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import Any, Final

import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData

from reconcile.mapping import ISO_3166_ALPHA2, MAPPING, Mapped, active, carried_by
from reconcile.outputs import VALIDATION_FAILURES_SCHEMA
from reconcile.screening import UNIQUE_NON_NULL, suspect_columns, unique_verdict
from reconcile.vocabulary import ENTRA, HUMA

_ISO_CODES: Final = sorted(ISO_3166_ALPHA2)

#: Per side, the columns that say who a user is, or whether it may be written at all (a
#: deactivated Huma user is locked; a guest is out of scope; an on-premises account takes no
#: writes): a user with one of them unknown is held out whole rather than guessed.
IDENTITY_COLUMNS: Final = {
    HUMA: ("huma_id", "email", "email_key", "active"),
    ENTRA: (
        "entra_id",
        "mail",
        "user_principal_name",
        "email_key",
        "user_type",
        "on_premises_sync_enabled",
    ),
}


_UNIQUE_COLUMNS: Final = (
    "huma_id",
    "entra_id",
    "email_key",
    *(column for entry in MAPPING if entry.unique for column in entry.columns),
)


class _UniqueKeysModel(pa.DataFrameModel):
    """Columns both sides share: Huma's uniqueness rules hold on each side (SPEC §3, §4)."""

    email_key: str = pa.Field(nullable=False)

    # pandera's `unique=True` counts nulls as duplicates, and its duplicate search costs a quarter
    # of a second per million strings even when there is none: ids and keys use this check.
    @pa.check(f"^({'|'.join(_UNIQUE_COLUMNS)})$", regex=True, name=UNIQUE_NON_NULL)
    @classmethod
    def unique_non_null(cls, data: PolarsData) -> pl.LazyFrame:
        """Duplicates among the non-null values of a key column."""
        column = pl.col(data.key)
        # Distinct hashes first (`screening.unique_verdict`): the exact search only when needed.
        if data.lazyframe.select(unique_verdict(column)).collect().item():
            return data.lazyframe.select(pl.repeat(value=True, n=pl.len()).alias(data.key))
        return data.lazyframe.select(column.is_null() | ~column.is_duplicated())

    class Config:
        strict = False


def _mapped_columns(entries: Iterable[Mapped], side: str) -> dict[str, Any]:
    """The pandera fields of the mapped columns one side checks: on Huma's, required, Graph's
    length limits and the ISO country; on Entra's, the unique columns (with their limit when it
    holds on both sides). Every mapped column is a string here but for dates, never checked."""
    columns: dict[str, Any] = {}
    for entry in entries:
        on_entra = side == ENTRA
        if on_entra and not entry.unique:
            continue
        for column in entry.columns:
            checks: dict[str, Any] = {"nullable": on_entra or not entry.required}
            limit = entry.max_length.get(column)
            if limit is not None and (not on_entra or entry.length_on_both_sides):
                checks["str_length"] = {"max_value": limit}
            if column == entry.iso_country and not on_entra:
                checks["isin"] = _ISO_CODES
            if len(checks) > 1 or entry.unique or entry.required:
                columns[column] = checks
    return columns


def _model(
    name: str, doc: str, required: dict[str, type], side: str, entries: Iterable[Mapped]
) -> type[pa.DataFrameModel]:
    """A pandera model: the side's required columns and its mapped columns' checks."""
    annotations: dict[str, Any] = {}
    attributes: dict[str, Any] = {"__doc__": doc}
    for column, dtype in required.items():
        annotations[column] = dtype
        attributes[column] = pa.Field(nullable=False)
    for column, checks in _mapped_columns(entries, side).items():
        annotations[column] = str
        attributes[column] = pa.Field(**checks)
    attributes["__annotations__"] = annotations
    return type(name, (_UniqueKeysModel,), attributes)


@functools.cache
def models(entries: tuple[Mapped, ...]) -> tuple[type[pa.DataFrameModel], type[pa.DataFrameModel]]:
    """The Huma and Entra models of a connection whose snapshots carry `entries`."""
    return (
        _model(
            "HumaUsersModel",
            "A valid Huma user (values that flow to Entra respect Graph's limits).",
            {"huma_id": str, "email": str, "active": bool},
            HUMA,
            entries,
        ),
        _model(
            "EntraUsersModel",
            "A valid in-scope Entra user.",
            {"entra_id": str, "user_principal_name": str},
            ENTRA,
            entries,
        ),
    )


#: The models of a connection without optional fields.
HumaUsersModel, EntraUsersModel = models(active())


_LENGTH_CHECK: Final = re.compile(r"str_length\((?:None|\d+), (\d+)\)")


def _rule_and_message(check: str, column: str) -> tuple[str, str]:
    """Turn a pandera check name into our rule name and a sentence for the report."""
    if check == "not_nullable":
        return "required", f"{column} is required"
    if check in {"field_uniqueness", UNIQUE_NON_NULL}:
        return "unique", f"{column} is shared with another user"
    if length := _LENGTH_CHECK.fullmatch(check):
        limit = length.group(1)
        return "max_length", f"{column} is longer than {limit} characters (Graph's limit)"
    if check.startswith("isin"):
        return "iso_country", f"{column} is not an ISO 3166-1 alpha-2 country code"
    return check, f"{column} failed {check}"


def _failures(
    frame: pl.DataFrame, model: type[pa.DataFrameModel], side: str, id_column: str
) -> pl.DataFrame:
    """Validate eagerly with every check collected: one row per failing row and check.

    Returns:
        `VALIDATION_FAILURES_SCHEMA` plus `index`, the failing row's position in `frame`.
    """
    none = pl.DataFrame(schema={"index": pl.UInt32(), **VALIDATION_FAILURES_SCHEMA})
    schema = model.to_schema()
    # One pass finds the columns that may fail; pandera checks those alone (`screening`).
    suspects = suspect_columns(frame, schema)
    if not suspects:
        return none
    try:
        schema.select_columns(suspects).validate(frame, lazy=True)
    except pa.errors.SchemaErrors as errors:
        cases = errors.failure_cases
    else:
        return none
    if cases.filter(pl.col("index").is_null()).height:
        # A frame-level failure cannot be attributed to users: it is a bug in the producer.
        raise ValueError(f"{side} snapshot failed frame-level validation:\n{cases}")
    pairs = cases.select("check", "column").iter_rows()
    rules = [_rule_and_message(check, column) for check, column in pairs]
    located = frame.select(id_column, "email_key", "unknown_fields").with_row_index("index")
    unknown = pl.col("unknown_fields").list.contains(pl.col("field")).fill_null(value=False)
    return (
        cases.select(
            pl.col("index").cast(pl.UInt32),
            pl.col("column").alias("field"),
            pl.col("failure_case").cast(pl.String).alias("value"),
            pl.Series("rule", [rule for rule, _ in rules], pl.String),
            pl.Series("message", [message for _, message in rules], pl.String),
        )
        .join(located, on="index", how="left")
        .filter(~((pl.col("rule") == "required") & unknown))
        .select(
            "index",
            pl.lit(side).alias("side"),
            pl.col(id_column).alias("user_id"),
            "email_key",
            "field",
            "value",
            "rule",
            "message",
        )
    )


def _valid_rows(frame: pl.DataFrame, failures: pl.DataFrame, side: str) -> pl.DataFrame:
    """The rows of `frame` no failure names (by position: a failing id may be null) and whose
    identity is known."""
    identity = pl.col("unknown_fields").list.eval(pl.element().is_in(IDENTITY_COLUMNS[side]))
    keep = ~identity.list.any().fill_null(value=False)
    if failures.height:
        failing = failures.get_column("index").unique()
        keep = keep & ~pl.int_range(pl.len(), dtype=pl.UInt32).is_in(failing.implode())
    return frame.filter(keep)


def validate_snapshots(
    huma: pl.DataFrame, entra_in_scope: pl.DataFrame, unreadable: pl.DataFrame | None = None
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Split both snapshots into valid users and listed failures.

    Args:
        huma: The Huma snapshot (`HUMA_USERS_SCHEMA`), every user.
        entra_in_scope: The Entra users in scope (`ENTRA_USERS_SCHEMA`, guests already removed).
        unreadable: The values the readers could not read (`VALIDATION_FAILURES_SCHEMA`, rule
            `unreadable`), listed among the failures.

    Returns:
        `(valid_huma, valid_entra, validation_failures)`: the users without any failure, in
        input order, and one `VALIDATION_FAILURES_SCHEMA` row per failed check, sorted.
    """
    huma_model, entra_model = models(carried_by(huma.columns))
    huma_failures = _failures(huma, huma_model, HUMA, "huma_id")
    entra_failures = _failures(entra_in_scope, entra_model, ENTRA, "entra_id")
    read = pl.DataFrame(schema=VALIDATION_FAILURES_SCHEMA) if unreadable is None else unreadable
    failures = pl.concat([huma_failures.drop("index"), entra_failures.drop("index"), read]).sort(
        "side", "user_id", "field", "rule", "value", nulls_last=True
    )
    return (
        _valid_rows(huma, huma_failures, HUMA),
        _valid_rows(entra_in_scope, entra_failures, ENTRA),
        failures,
    )

"""Validation of the two snapshots (issue 4.1): failing users are held out and listed.

Huma: email, given and family name required; Huma id, email, phone and employment ID unique
(phone and employment ID over their non-null values); country ISO 3166-1 alpha-2; every value that
flows to Entra within Graph's length limits; employment ID at most 16 characters (Graph's
`employeeId`: a longer Huma value could never agree with Entra).

Entra (in-scope users only, so a guest never holds a member out): object id, email key, phone and
employment ID unique; employment ID at most 16 characters. Entra's names are not required here:
an empty Entra name is a missing value that Huma fills (SPEC §5), and a create in Huma without
names is blocked with that reason instead.

Both: an id the snapshot reader marked unknown (`unknown_fields`: not of the shape its system
gives, so it could steer a request) holds its user out.
"""

from __future__ import annotations

import re
from typing import Final

import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData

from reconcile.countries import ISO_3166_ALPHA2
from reconcile.outputs import VALIDATION_FAILURES_SCHEMA
from reconcile.vocabulary import ENTRA, HUMA

_ISO_CODES: Final = sorted(ISO_3166_ALPHA2)


class _UniqueKeysModel(pa.DataFrameModel):
    """Columns both sides share: Huma's uniqueness rules hold on each side (SPEC §3, §4)."""

    email_key: str = pa.Field(nullable=False)
    phone: str = pa.Field(nullable=True)
    employment_id: str = pa.Field(nullable=True, str_length={"max_value": 16})

    # pandera's `unique=True` counts nulls as duplicates, and its duplicate search costs a quarter
    # of a second per million strings even when there is none: ids and keys use this check.
    @pa.check(
        "^(huma_id|entra_id|email_key|phone|employment_id)$", regex=True, name="unique_non_null"
    )
    @classmethod
    def unique_non_null(cls, data: PolarsData) -> pl.LazyFrame:
        """Duplicates among the non-null values of a key column."""
        column = pl.col(data.key)
        counts = data.lazyframe.select(
            column.n_unique().alias("distinct"),
            column.null_count().alias("nulls"),
            column.count().alias("values"),
        ).collect()
        distinct, nulls, values = counts.row(0)
        # n_unique counts null as one value; no duplicate when every value is distinct.
        if distinct - min(nulls, 1) == values:
            return data.lazyframe.select(pl.repeat(value=True, n=pl.len()).alias(data.key))
        return data.lazyframe.select(column.is_null() | ~column.is_duplicated())

    # The snapshot readers mark an id they may not use (the wrong shape: it could steer a
    # request) as unknown; such a user is held out like any other invalid one.
    @pa.check("^(huma_id|entra_id)$", regex=True, name="usable_id")
    @classmethod
    def usable_id(cls, data: PolarsData) -> pl.LazyFrame:
        """False where `unknown_fields` names the id column."""
        unusable = pl.col("unknown_fields").list.contains(data.key).fill_null(False)
        return data.lazyframe.select((~unusable).alias(data.key))

    class Config:
        strict = False


class HumaUsersModel(_UniqueKeysModel):
    """A valid Huma user (values that flow to Entra respect Graph's limits)."""

    huma_id: str = pa.Field(nullable=False)
    email: str = pa.Field(nullable=False)
    given_name: str = pa.Field(nullable=False, str_length={"max_value": 64})
    family_name: str = pa.Field(nullable=False, str_length={"max_value": 64})
    phone: str = pa.Field(nullable=True, str_length={"max_value": 64})
    address_line1: str = pa.Field(nullable=True, str_length={"max_value": 1024})
    address_postal_code: str = pa.Field(nullable=True, str_length={"max_value": 40})
    address_city: str = pa.Field(nullable=True, str_length={"max_value": 128})
    address_country: str = pa.Field(nullable=True, isin=_ISO_CODES)
    job_title: str = pa.Field(nullable=True, str_length={"max_value": 128})
    active: bool = pa.Field(nullable=False)


class EntraUsersModel(_UniqueKeysModel):
    """A valid in-scope Entra user."""

    entra_id: str = pa.Field(nullable=False)
    user_principal_name: str = pa.Field(nullable=False)


_LENGTH_CHECK: Final = re.compile(r"str_length\((?:None|\d+), (\d+)\)")


def _rule_and_message(check: str, column: str) -> tuple[str, str]:
    """Turn a pandera check name into our rule name and a sentence for the report."""
    if check == "not_nullable":
        return "required", f"{column} is required"
    if check in {"field_uniqueness", "unique_non_null"}:
        return "unique", f"{column} is shared with another user"
    if length := _LENGTH_CHECK.fullmatch(check):
        limit = length.group(1)
        return "max_length", f"{column} is longer than {limit} characters (Graph's limit)"
    if check == "usable_id":
        return "id_shape", f"{column} is not an id of the shape its system gives (a UUID)"
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
    try:
        model.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as errors:
        cases = errors.failure_cases
    else:
        return pl.DataFrame(schema={"index": pl.UInt32(), **VALIDATION_FAILURES_SCHEMA})
    if cases.filter(pl.col("index").is_null()).height:
        # A frame-level failure cannot be attributed to users: it is a bug in the producer.
        raise ValueError(f"{side} snapshot failed frame-level validation:\n{cases}")
    pairs = cases.select("check", "column").iter_rows()
    rules = [_rule_and_message(check, column) for check, column in pairs]
    located = frame.select(id_column, "email_key").with_row_index("index")
    return (
        cases.select(
            pl.col("index").cast(pl.UInt32),
            pl.col("column").alias("field"),
            pl.col("failure_case").cast(pl.String).alias("value"),
            pl.Series("rule", [rule for rule, _ in rules], pl.String),
            pl.Series("message", [message for _, message in rules], pl.String),
        )
        .join(located, on="index", how="left")
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


def _valid_rows(frame: pl.DataFrame, failures: pl.DataFrame) -> pl.DataFrame:
    """The rows of `frame` no failure names (by position: a failing id may be null)."""
    if failures.height == 0:
        return frame
    failing = failures.get_column("index").unique()
    keep = ~pl.int_range(pl.len(), dtype=pl.UInt32).is_in(failing.implode())
    return frame.filter(keep)


def validate_snapshots(
    huma: pl.DataFrame, entra_in_scope: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Split both snapshots into valid users and listed failures.

    Args:
        huma: The Huma snapshot (`HUMA_USERS_SCHEMA`), every user.
        entra_in_scope: The Entra users in scope (`ENTRA_USERS_SCHEMA`, guests already removed).

    Returns:
        `(valid_huma, valid_entra, validation_failures)`: the users without any failure, in
        input order, and one `VALIDATION_FAILURES_SCHEMA` row per failed check, sorted.
    """
    huma_failures = _failures(huma, HumaUsersModel, HUMA, "huma_id")
    entra_failures = _failures(entra_in_scope, EntraUsersModel, ENTRA, "entra_id")
    failures = (
        pl.concat([huma_failures, entra_failures])
        .drop("index")
        .sort("side", "user_id", "field", "rule", "value", nulls_last=True)
    )
    return _valid_rows(huma, huma_failures), _valid_rows(entra_in_scope, entra_failures), failures

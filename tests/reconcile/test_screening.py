"""The one-pass screen before pandera (`reconcile.screening`).

Pins: validating only the columns the screen suspects finds exactly the failures the whole schema
finds, on either side, for any mix of missing values, over-long texts (in characters, not bytes),
unknown countries and shared keys; a snapshot that breaks nothing is not sent to pandera at all.
"""

from __future__ import annotations

from typing import Any

import pandera.polars as pa
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from reconcile.mapping import active
from reconcile.screening import suspect_columns
from reconcile.validation import models
from tests.reference.builders import entra_frame, entra_user, huma_frame, huma_user

#: Values that pass or break a rule: empty, at and over Graph's limits (multi-byte characters
#: too: counted in characters), a country that is not a code, values shared between users.
_TEXTS = st.sampled_from(
    [None, "x", "ø" * 16, "ø" * 17, "a" * 64, "æ" * 64, "a" * 65, "æ" * 65, "E1", "E2"]
)
_EMAILS = st.sampled_from([None, "u0@example.com", "u1@example.com", "U1@example.com"])
_COUNTRIES = st.sampled_from([None, "NO", "SE", "no", "Norway"])
_HUMA_FIELDS = ("given_name", "family_name", "phone", "employment_id", "job_title")
_ENTRA_FIELDS = ("phone", "employment_id", "given_name")


def _cases(frame: pl.DataFrame, schema: pa.DataFrameSchema) -> list[tuple[Any, ...]]:
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as errors:
        cases = errors.failure_cases.select("column", "check", "index", "failure_case")
        return sorted(cases.cast(pl.String).rows(), key=str)
    return []


def _users(draw: Any, make: Any, fields: tuple[str, ...], prefix: str) -> list[dict]:
    count = draw(st.integers(min_value=0, max_value=5))
    users = []
    for number in range(count):
        values = {name: draw(_TEXTS) for name in fields if draw(st.booleans())}
        if draw(st.booleans()):
            values["address_country"] = draw(_COUNTRIES)
        users.append(make(f"{prefix}{number % 4}", draw(_EMAILS), **values))
    return users


@st.composite
def _snapshots(draw: Any) -> tuple[pl.DataFrame, pl.DataFrame]:
    return (
        huma_frame(*_users(draw, huma_user, _HUMA_FIELDS, "h")),
        entra_frame(*_users(draw, entra_user, _ENTRA_FIELDS, "e")),
    )


@settings(max_examples=150, deadline=None)
@given(_snapshots())
def test_the_suspect_columns_fail_exactly_as_the_whole_schema(
    snapshots: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    for frame, model in zip(snapshots, models(active()), strict=True):
        schema = model.to_schema()
        suspects = suspect_columns(frame, schema)
        screened = _cases(frame, schema.select_columns(suspects)) if suspects else []
        assert screened == _cases(frame, schema)


def test_a_clean_snapshot_has_no_suspect_column() -> None:
    huma_model, entra_model = models(active())
    huma = huma_frame(
        huma_user("h1"), huma_user("h2", "bob@example.com", phone=None, employment_id="E2")
    )
    entra = entra_frame(
        entra_user("e1"), entra_user("e2", "bob@example.com", phone=None, employment_id="E2")
    )

    assert suspect_columns(huma, huma_model.to_schema()) == []
    assert suspect_columns(entra, entra_model.to_schema()) == []

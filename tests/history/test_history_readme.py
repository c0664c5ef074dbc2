"""The README's analyst queries ("History tables") run as written against a populated file and
return the scenario's rows; every table the file holds is documented there. The SQL is read out of
README.md, so the documentation cannot drift from the schema."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from resources.history.files import connect
from tests.history.conftest import Populated
from tests.history.scenario import ANN_NEW_PHONE, ANN_OLD_PHONE

README = Path(__file__).resolve().parents[2] / "README.md"


def _section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("\n## History tables\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def _queries() -> dict[str, str]:
    """Each `#### title` of the section with the SQL block that follows it."""
    found = re.findall(r"^#### (.+?)\n.*?```sql\n(.*?)```", _section(), re.S | re.M)
    return {title.strip(): sql for title, sql in found}


def _ann_changed(rows: pl.DataFrame) -> None:
    assert rows.select("run_id", "action", "status").rows() == [
        ("acme-2", "update_entra", "applied")
    ]
    row = rows.row(0, named=True)
    assert json.loads(row["before"]) == {"phone": ANN_OLD_PHONE}
    assert json.loads(row["after"]) == {"phone": ANN_NEW_PHONE}
    assert row["applied_at"] is not None


def _last_night(rows: pl.DataFrame) -> None:
    assert rows.select("email_key", "action", "system", "target_id").rows() == [
        ("ann@example.com", "update_entra", "graph", "e-ann")
    ]
    assert json.loads(rows.item(0, "after")) == {"phone": ANN_NEW_PHONE}


def _open_conflicts(rows: pl.DataFrame) -> None:
    assert rows.select("connection", "email_key", "field", "case", "status").rows() == [
        ("acme", "bo@example.com", "address", "both_changed", "pending")
    ]
    assert json.loads(rows.item(0, "huma_value"))["city"] == "Bergen"
    assert json.loads(rows.item(0, "entra_value"))["city"] == "Trondheim"


def _users_as_of(rows: pl.DataFrame) -> None:
    # The query asks for 1 March: night 1's snapshot, before Ann's phone changed.
    assert rows.get_column("email_key").to_list() == [
        "ann@example.com",
        "bo@example.com",
        "cy@example.com",
    ]
    assert rows.get_column("phone").to_list()[0] == ANN_OLD_PHONE


def _pending(rows: pl.DataFrame) -> None:
    assert rows.select("decision_kind", "action", "email_key", "status").rows() == [
        ("conflict", "resolve_conflict", "bo@example.com", "pending"),
        ("create", "create_entra", "cy@example.com", "pending"),
    ]


EXPECTED: dict[str, Callable[[pl.DataFrame], None]] = {
    "Every change to this person": _ann_changed,
    "What did last night change": _last_night,
    "Open conflicts": _open_conflicts,
    "Users as of a date": _users_as_of,
    "Pending decisions": _pending,
}


def test_the_readme_has_every_analyst_query() -> None:
    assert sorted(_queries()) == sorted(EXPECTED)


@pytest.mark.parametrize("title", sorted(EXPECTED))
def test_a_readme_query_returns_the_expected_rows(populated: Populated, title: str) -> None:
    conn = connect(populated.path, read_only=True, timeout_seconds=5)
    try:
        rows = conn.sql(_queries()[title]).pl()
    finally:
        conn.close()
    EXPECTED[title](rows)


def test_every_table_and_view_is_documented(populated: Populated) -> None:
    conn = connect(populated.path, read_only=True, timeout_seconds=5)
    try:
        names = [
            row[0]
            for row in conn.sql("SELECT table_name FROM information_schema.tables").fetchall()
        ]
    finally:
        conn.close()
    section = _section()
    assert names
    assert [name for name in names if f"`{name}`" not in section] == []

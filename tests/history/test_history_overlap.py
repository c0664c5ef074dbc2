"""Two connections whose runs overlap on one history file, one of them applying slowly, with an
analyst's session open on the published copy all along: every run of both finishes, each with its
own journal whole under its own name, and the published copy shows them all once they ended."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from tests.history.overlap import overlap
from tests.history.scenario import ACME, GLOBEX

pytestmark = pytest.mark.slow

SLOW_CHANGES = 12


def _rows(path: Path, query: str) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as conn:
        return conn.sql(query).fetchall()


def test_overlapping_connections_both_finish_with_their_own_journals(tmp_path: Path) -> None:
    path = tmp_path / "history.duckdb"
    result = overlap(path, runs=3, slow_changes=SLOW_CHANGES, pause=0.05)

    assert result.exit_codes == {ACME: 0, GLOBEX: 0}
    assert [row for row in result.runs if "error" in row] == []
    assert len(result.runs) == 6
    published = path.with_name("history.published.duckdb")
    for file in (path, published):
        ended = _rows(
            file, "SELECT connection, outcome, count(*) FROM runs GROUP BY ALL ORDER BY 1"
        )
        assert ended == [(ACME, "succeeded", 3), (GLOBEX, "succeeded", 3)]
        journals = _rows(
            file,
            "SELECT j.connection, r.connection, j.run_id, count(*) FILTER (status = 'applied') "
            "FROM apply_journal AS j JOIN runs AS r USING (run_id) "
            "WHERE change_id LIKE 'slow-%' GROUP BY ALL ORDER BY 3",
        )
        expected = {ACME: SLOW_CHANGES, GLOBEX: 3}
        assert journals == [
            (connection, connection, f"{connection}-{night}", expected[connection])
            for connection in (ACME, GLOBEX)
            for night in (1, 2, 3)
        ]

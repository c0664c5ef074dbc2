"""`decisions list` shows a manager as people read it, as the report does: the manager's email
with the Entra object id beside it (`bo@example.com (e2)`), for the accounts the latest full
snapshot holds; an id it does not know stays as it is, and the JSON for scripts keeps the ids.
A person asked to approve "e2" cannot tell whom they would make Ann's manager."""

from __future__ import annotations

import io
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from cli.main import main
from reconcile.engine import plan_run
from reconcile.frames import entra_users_schema, huma_users_schema
from reconcile.policy import Policy
from reconcile.state import RunContext
from resources.history import HistoryStore
from tests.cli.conftest import connections_file
from tests.reference.builders import entra_user, huma_user, links_frame, state_with

AT = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
FIELDS = frozenset({"manager"})


def _person(huma_id: str, n: int, manager: str | None = None) -> tuple[dict, dict]:
    keys = {"phone": f"+47900000{n:02d}", "employment_id": f"E{n}"}
    email = f"p{n}@example.com"
    return huma_user(huma_id, email, **keys), entra_user(f"e{n}", email, manager=manager, **keys)


@pytest.fixture
def history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A run of `acme` whose plan asks whether Ann's (p1) manager becomes p2 (Entra has p3):
    a first sync of the field with the initial direction `ask`."""
    ann, ann_in_entra = _person("h1", 1, manager="e3")
    ann["manager"] = "h2"
    people = [ann, *(_person(f"h{n}", n)[0] for n in (2, 3))]
    accounts = [ann_in_entra, *(_person(f"h{n}", n)[1] for n in (2, 3))]
    huma = pl.DataFrame(people, schema=huma_users_schema(FIELDS))
    entra = pl.DataFrame(accounts, schema=entra_users_schema(FIELDS))
    state = state_with(links=links_frame(("h1", "e1"), ("h2", "e2"), ("h3", "e3")))
    plan = plan_run(
        huma,
        entra,
        state,
        Policy(fields=FIELDS),
        RunContext(run_at=AT, verified_domains={"example.com"}),
    )
    path = tmp_path / "history.duckdb"
    store = HistoryStore(path, lock_timeout_seconds=5)
    store.migrate()
    store.begin_run(run_id="r1", connection="acme", mode="apply", started_at=AT)
    store.record_snapshot(run_id="r1", side="huma", users=huma)
    store.record_snapshot(run_id="r1", side="entra", users=entra)
    store.record_plan(run_id="r1", plan=plan)
    monkeypatch.setenv("HISTORY_DB_PATH", str(path))
    monkeypatch.setenv("HUMA_ENTRA_SYNC_CONNECTIONS", str(connections_file(tmp_path, "acme")))
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    return path


def test_list_names_the_managers_it_asks_about(
    history: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["decisions", "list", "--connection", "acme"]) == 0

    [row] = [line for line in capsys.readouterr().out.splitlines() if " manager " in line]
    assert "p2@example.com (e2)" in row, row
    assert "p3@example.com (e3)" in row, row


def test_the_json_keeps_the_object_ids(history: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["decisions", "list", "--connection", "acme", "--format", "json"]) == 0

    [item] = json.loads(capsys.readouterr().out)
    assert (item["huma_values"], item["entra_values"]) == ({"manager": "e2"}, {"manager": "e3"})

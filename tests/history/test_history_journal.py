"""The apply journal: an intent without an outcome is open (for the next run to settle) and closes
with its outcome; `unknown` stays open until settled; a change with an outcome is never journaled
again; an outcome needs its intent; batches are one transaction each; applied changes keep their
before and after values; no secret reaches the file."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import polars as pl
import pytest

from resources.history import HistoryStore, JournalError
from resources.history.journal import REDACTED

T0 = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)


@pytest.fixture
def journal(store: HistoryStore) -> HistoryStore:
    """A store with runs r1 and r2 of acme and g1 of globex begun."""
    for run_id, connection in (("r1", "acme"), ("r2", "acme"), ("g1", "globex")):
        store.begin_run(run_id=run_id, connection=connection, mode="apply", started_at=T0)
    return store


def _intend(store: HistoryStore, change_id: str, run_id: str = "r1", **extra: object) -> None:
    arguments = {
        "run_id": run_id,
        "connection": "globex" if run_id == "g1" else "acme",
        "change_id": change_id,
        "system": "graph",
        "operation": "PATCH /users/{id}",
        "target_id": f"e-{change_id}",
        "request": {"mobilePhone": "+4799"},
        "before": {"phone": "+4711"},
    }
    store.journal_intent(**(arguments | extra))


def _open(store: HistoryStore, connection: str = "acme") -> list[tuple[str, str]]:
    return store.open_journal(connection=connection).select("run_id", "change_id").rows()


def test_an_intent_is_open_until_its_outcome(journal: HistoryStore) -> None:
    _intend(journal, "c1")
    _intend(journal, "c2")
    assert _open(journal) == [("r1", "c1"), ("r1", "c2")]
    journal.journal_outcome(run_id="r1", change_id="c1", status="applied", after={"phone": "+4799"})
    assert _open(journal) == [("r1", "c2")]
    assert _open(journal, "globex") == []


def test_an_unknown_outcome_stays_open_until_a_later_run_settles_it(journal: HistoryStore) -> None:
    _intend(journal, "c1")
    journal.journal_outcome(run_id="r1", change_id="c1", status="unknown")
    assert _open(journal) == [("r1", "c1")]
    journal.journal_outcome(
        run_id="r1",
        change_id="c1",
        status="applied",
        after={"phone": "+4799"},
        settled_by_run_id="r2",
    )
    assert _open(journal) == []
    settled = journal.applied_changes(run_id="r1").row(0, named=True)
    assert (settled["status"], settled["settled_by_run_id"]) == ("applied", "r2")


def test_applied_changes_keep_before_and_after(journal: HistoryStore) -> None:
    _intend(journal, "c1")
    _intend(journal, "c2")
    _intend(journal, "c3", step=2, system="huma", operation="PATCH /users/{id}")
    journal.journal_outcome(run_id="r1", change_id="c1", status="applied", after={"phone": "+4799"})
    journal.journal_outcome(
        run_id="r1",
        change_id="c2",
        status="failed",
        remote_status=400,
        remote_code="Request_BadRequest",
        remote_message="Invalid value specified for property 'mobilePhone'",
        request_id="req-1",
    )
    journal.journal_outcome(
        run_id="r1", change_id="c3", step=2, status="applied", created_id="h-new"
    )
    applied = journal.applied_changes(run_id="r1")
    assert applied.select(
        "change_id", "step", "system", "before", "after", "created_id"
    ).rows() == [
        ("c1", 1, "graph", '{"phone": "+4711"}', '{"phone": "+4799"}', None),
        ("c3", 2, "huma", '{"phone": "+4711"}', None, "h-new"),
    ]
    failed = journal.journal(run_id="r1").filter(pl.col("status") == "failed").row(0, named=True)
    assert (failed["remote_status"], failed["remote_code"], failed["request_id"]) == (
        400,
        "Request_BadRequest",
        "req-1",
    )


def test_a_change_with_an_outcome_is_never_journaled_again(journal: HistoryStore) -> None:
    _intend(journal, "c1")
    _intend(journal, "c1", request={"mobilePhone": "+4700"})  # no outcome yet: replaced
    assert journal.open_journal(connection="acme").item(0, "request") == '{"mobilePhone": "+4700"}'
    journal.journal_outcome(run_id="r1", change_id="c1", status="failed")
    with pytest.raises(JournalError, match="already have an outcome"):
        _intend(journal, "c1")
    assert journal.journal(run_id="r1").height == 1


@pytest.mark.parametrize(
    ("outcome", "error", "message"),
    [
        pytest.param({"change_id": "nope"}, JournalError, "without an intent", id="no-intent"),
        pytest.param({"status": "maybe"}, ValueError, "status must be one of", id="bad-status"),
        pytest.param({"run_id": "r2"}, JournalError, "without an intent", id="other-run"),
    ],
)
def test_a_bad_outcome_is_refused(
    journal: HistoryStore, outcome: dict, error: type[Exception], message: str
) -> None:
    _intend(journal, "c1")
    with pytest.raises(error, match=message):
        journal.journal_outcome(
            **({"run_id": "r1", "change_id": "c1", "status": "applied"} | outcome)
        )
    assert _open(journal) == [("r1", "c1")]


@pytest.mark.parametrize(
    ("intent", "message"),
    [
        pytest.param({"system": "sap"}, "system must be one of", id="bad-system"),
        pytest.param({"connection": "globex"}, "not begun for their connection", id="other-conn"),
        pytest.param({"run_id": "nope"}, "not begun for their connection", id="no-run"),
    ],
)
def test_a_bad_intent_is_refused(journal: HistoryStore, intent: dict, message: str) -> None:
    with pytest.raises((ValueError, JournalError), match=message):
        _intend(journal, "c1", **intent)
    assert journal.journal(run_id="r1").height == 0


def _batch(change_ids: list[str], run_id: str = "r1") -> pl.DataFrame:
    return pl.DataFrame(
        {
            "run_id": run_id,
            "connection": "acme",
            "change_id": change_ids,
            "system": "graph",
            "operation": "PATCH /users/{id}",
            "target_id": [f"e-{c}" for c in change_ids],
            "request": [json.dumps({"jobTitle": c}) for c in change_ids],
            "before": [json.dumps({"job_title": None}) for _ in change_ids],
        }
    )


def test_batches_are_written_whole(journal: HistoryStore) -> None:
    ids = [f"c{i:02d}" for i in range(20)]
    assert journal.journal_intents(intents=_batch(ids)) == 20
    assert journal.journal_intents(intents=_batch(ids)) == 20  # re-sent before any outcome
    assert len(_open(journal)) == 20
    outcomes = pl.DataFrame(
        {
            "run_id": "r1",
            "change_id": ids,
            "status": ["applied"] * 19 + ["failed"],
            "remote_status": [204] * 19 + [429],
        },
        schema_overrides={"remote_status": pl.Int32},
    )
    assert journal.journal_outcomes(outcomes=outcomes) == 20
    assert _open(journal) == []
    assert journal.applied_changes(run_id="r1").height == 19

    # One bad row refuses the whole batch: nothing of it is written.
    with pytest.raises(JournalError, match="already have an outcome"):
        journal.journal_intents(intents=_batch(["fresh", "c00"]))
    with pytest.raises(JournalError, match="twice in one batch"):
        journal.journal_intents(intents=_batch(["fresh", "fresh"]))
    assert journal.journal(run_id="r1").height == 20


def test_a_batch_with_unknown_columns_is_refused(journal: HistoryStore) -> None:
    with pytest.raises(ValueError, match="unexpected columns \\['token'\\]"):
        journal.journal_intents(intents=_batch(["c1"]).with_columns(token=pl.lit("x")))
    with pytest.raises(ValueError, match="missing columns \\['status'\\]"):
        journal.journal_outcomes(outcomes=pl.DataFrame({"run_id": ["r1"], "change_id": ["c1"]}))


def test_secrets_never_reach_the_journal(journal: HistoryStore) -> None:
    create = {
        "accountEnabled": True,
        "userPrincipalName": "cy@example.com",
        "passwordProfile": {"password": "Xy7!first-sign-in", "forceChangePasswordNextSignIn": True},
    }
    _intend(journal, "c1", operation="POST /users", target_id=None, request=create, before=None)
    batch = _batch(["c2"]).with_columns(
        request=pl.lit(json.dumps({"client_secret": "s3cr3t", "headers": {"Authorization": "B x"}}))
    )
    journal.journal_intents(intents=batch)
    everything = journal.journal(run_id="r1").select(pl.concat_str(pl.all(), ignore_nulls=True))
    text = "".join(everything.to_series().to_list())
    assert "Xy7!first-sign-in" not in text
    assert "s3cr3t" not in text
    assert "B x" not in text
    stored = json.loads(journal.open_journal(connection="acme").item(0, "request"))
    assert stored["passwordProfile"] == {
        "password": REDACTED,
        "forceChangePasswordNextSignIn": True,
    }
    assert stored["userPrincipalName"] == "cy@example.com"

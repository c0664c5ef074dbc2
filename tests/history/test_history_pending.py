"""Pending decisions: the latest applying run's plan rows awaiting a person (pending or stale), with
their ids, kind, user, fields and both sides' values; filtered by kind and by user (email in any
case, or either id); rows decided since that run drop out unless asked for; dry runs do not
replace the list; other connections' rows never appear."""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import pytest

from reconcile.human_decisions import decision_row
from reconcile.vocabulary import APPROVE, HUMA
from resources.history import PENDING_DECISIONS_SCHEMA, HistoryStore
from tests.history.conftest import Populated
from tests.history.scenario import ACME, GLOBEX, NIGHT_2


def _emails(frame: pl.DataFrame) -> list[str]:
    return frame.get_column("email_key").to_list()


def test_the_latest_runs_waiting_rows_are_listed(populated: Populated) -> None:
    pending = populated.reader.pending_decisions(connection=ACME)
    assert pending.schema == PENDING_DECISIONS_SCHEMA
    assert pending.get_column("run_id").unique().to_list() == ["acme-2"]
    expected = populated.acme_2.result.sync_plan.filter(
        pl.col("status").is_in(["pending", "stale"])
    ).sort("decision_kind", "email_key", "change_id")
    assert pending.select(expected.columns).equals(expected)
    assert pending.select("decision_kind", "email_key").rows() == [
        ("conflict", "bo@example.com"),
        ("create", "cy@example.com"),
    ]
    conflict = pending.row(0, named=True)
    assert (conflict["huma_values"], conflict["entra_values"]) == (
        '{"address":{"city":"Bergen","country":"NO","line1":"Storgata 1","postal_code":"0155"}}',
        '{"address":{"city":"Trondheim","country":"NO","line1":"Storgata 1","postal_code":"0155"}}',
    )


@pytest.mark.parametrize(
    ("filters", "emails"),
    [
        pytest.param({"kind": "conflict"}, ["bo@example.com"], id="kind"),
        pytest.param({"kind": "entra_to_huma"}, [], id="kind-with-none"),
        pytest.param({"user": "BO@Example.COM"}, ["bo@example.com"], id="email-any-case"),
        pytest.param({"user": "h-cy"}, ["cy@example.com"], id="huma-id"),
        pytest.param({"user": "e-bo"}, ["bo@example.com"], id="entra-id"),
        pytest.param({"user": "ann@example.com"}, [], id="user-with-none"),
        pytest.param({"kind": "create", "user": "h-cy"}, ["cy@example.com"], id="both"),
    ],
)
def test_pending_rows_are_filtered(populated: Populated, filters: dict, emails: list) -> None:
    assert _emails(populated.reader.pending_decisions(connection=ACME, **filters)) == emails


def test_other_connections_rows_never_appear(populated: Populated) -> None:
    assert populated.reader.pending_decisions(connection=GLOBEX).height == 0
    assert populated.reader.pending_decisions(connection="initech").height == 0


def test_rows_decided_since_the_run_drop_out(populated_copy: HistoryStore) -> None:
    conflict = populated_copy.pending_decisions(connection=ACME, kind="conflict").row(0, named=True)
    decided_at = NIGHT_2 + timedelta(hours=6)
    populated_copy.record_decisions(
        connection=ACME,
        decisions=decision_row(
            conflict, verdict=APPROVE, winner=HUMA, decided_at=decided_at, decided_by="hr@x.no"
        ),
    )
    assert _emails(populated_copy.pending_decisions(connection=ACME)) == ["cy@example.com"]
    everything = populated_copy.pending_decisions(connection=ACME, undecided_only=False)
    decided = everything.filter(pl.col("latest_verdict").is_not_null()).row(0, named=True)
    assert (decided["email_key"], decided["latest_winner"], decided["latest_decided_at"]) == (
        "bo@example.com",
        HUMA,
        decided_at,
    )


def test_a_dry_run_does_not_replace_the_list(
    populated_copy: HistoryStore, populated: Populated
) -> None:
    populated_copy.begin_run(
        run_id="dry-1", connection=ACME, mode="dry_run", started_at=NIGHT_2 + timedelta(days=1)
    )
    populated_copy.record_plan(run_id="dry-1", plan=populated.acme_1.result)
    assert populated_copy.pending_decisions(connection=ACME).get_column(
        "run_id"
    ).unique().to_list() == ["acme-2"]


def test_stale_rows_wait_like_pending_ones(populated_copy: HistoryStore) -> None:
    conflict = populated_copy.pending_decisions(connection=ACME, kind="conflict").item(
        0, "change_id"
    )
    populated_copy.record_statuses(
        run_id="acme-2",
        changes=pl.DataFrame(
            {"change_id": [conflict], "status": ["stale"], "reason": ["values moved"]}
        ),
    )
    stale = populated_copy.pending_decisions(connection=ACME, kind="conflict")
    assert stale.select("change_id", "status").rows() == [(conflict, "stale")]
    populated_copy.record_statuses(
        run_id="acme-2",
        changes=pl.DataFrame({"change_id": [conflict], "status": ["rejected"]}),
    )
    assert populated_copy.pending_decisions(connection=ACME, kind="conflict").height == 0

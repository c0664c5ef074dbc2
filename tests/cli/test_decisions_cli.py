"""`huma-entra-sync decisions`: people list and decide the latest run's waiting changes.

Pins: `list` shows every waiting row (id, kind, status, user, fields, both values, reason, any
decision recorded since with its comment) as a table, or whole as JSON, filtered by kind and
user; `approve`/`reject` select by id (or a unique prefix), user, kind or all, and store verdict,
winner, comment and who (default: the OS user) for the engine to apply on the next run;
approving a conflict needs `--winner` (by id: refused; in bulk: the others are recorded and the
command fails naming the conflicts, or asks on a terminal); bulk selections leave rows decided
since alone; without a terminal nothing is ever asked, on one the person confirms (or `--yes`);
usage mistakes and empty selections exit 2 recording nothing, except `--all` finding nothing
waiting: that is said and is success (cron calls it unconditionally); a missing or older history
file gets a clear message.
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Callable

import polars as pl
import pytest

from cli.main import main
from reconcile.human_decisions import apply_decisions
from reconcile.vocabulary import APPROVED, HUMA_TO_ENTRA, REJECTED
from resources.history import HistoryStore
from tests.cli.conftest import Deployment
from tests.history.scenario import NIGHT_2

ACME = ["--connection", "acme"]


def _waiting(deployment: Deployment) -> dict[str, str]:
    """Kind → change id of the rows waiting in acme (a conflict for Bo, a create for Cy)."""
    rows = deployment.store.pending_decisions(connection="acme", undecided_only=False)
    return dict(rows.select("decision_kind", "change_id").iter_rows())


def _decided(deployment: Deployment) -> list[dict]:
    """The decisions recorded since the scenario's nights (newest last)."""
    frame = deployment.store.decisions(connection="acme")
    return frame.filter(pl.col("decided_at") > NIGHT_2).to_dicts()


def test_list_shows_every_waiting_row_as_a_table(
    deployment: Deployment, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = _waiting(deployment)

    assert main(["decisions", "list", *ACME]) == 0

    out = capsys.readouterr().out
    assert "run acme-2: 2 change(s) wait for a decision" in out
    conflict = next(line for line in out.splitlines() if line.startswith(ids["conflict"][:12]))
    assert conflict.split()[1:4] == ["conflict", "pending", "bo@example.com"]
    assert "Storgata 1, 0155 Bergen, NO" in conflict
    assert "Storgata 1, 0155 Trondheim, NO" in conflict
    assert any(line.startswith(ids["create"][:12]) for line in out.splitlines())


def test_list_as_json_holds_every_row_whole(
    deployment: Deployment, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["decisions", "list", *ACME, "--format", "json"]) == 0

    listed = json.loads(capsys.readouterr().out)
    expected = deployment.store.pending_decisions(connection="acme")
    assert [item["change_id"] for item in listed] == expected.get_column("change_id").to_list()
    conflict = listed[0]
    assert (conflict["kind"], conflict["needs_winner"], conflict["fields"]) == (
        "conflict",
        True,
        ["address"],
    )
    assert conflict["huma_values"]["address"]["city"] == "Bergen"
    assert conflict["entra_values"]["address"]["city"] == "Trondheim"
    assert conflict["decided_since"] is None


@pytest.mark.parametrize(
    ("filters", "emails"),
    [
        pytest.param(["--kind", "conflict"], ["bo@example.com"], id="kind"),
        pytest.param(["--user", "BO@Example.COM"], ["bo@example.com"], id="email"),
        pytest.param(["--user", "h-cy"], ["cy@example.com"], id="huma-id"),
        pytest.param(["--kind", "entra_to_huma"], [], id="none-of-the-kind"),
    ],
)
def test_list_filters_by_kind_and_user(
    deployment: Deployment, capsys: pytest.CaptureFixture[str], filters: list, emails: list
) -> None:
    assert main(["decisions", "list", *ACME, *filters, "--format", "json"]) == 0

    assert [item["email"] for item in json.loads(capsys.readouterr().out)] == emails


def test_approving_a_conflict_records_the_winner_the_comment_and_who(
    deployment: Deployment, capsys: pytest.CaptureFixture[str]
) -> None:
    conflict = _waiting(deployment)["conflict"]
    approve = ["decisions", "approve", *ACME, "--id", conflict[:8], "--winner", "huma"]

    assert main([*approve, "--comment", "HR checked the lease", "--by", "hr@acme"]) == 0

    out = capsys.readouterr().out
    assert "Recorded 1 decision(s) to approve by hr@acme (HR checked the lease)" in out
    assert "take effect on the next run of connection acme" in out
    [decided] = _decided(deployment)
    assert (decided["change_id"], decided["verdict"], decided["winner"]) == (
        conflict,
        "approve",
        "huma",
    )
    assert (decided["decided_by"], decided["comment"]) == ("hr@acme", "HR checked the lease")
    # The next run's engine applies it: Huma's city wins, toward Entra.
    state = deployment.store.load_state(connection="acme")
    plan = deployment.store.run_frame(run_id="acme-2", table="sync_plan")
    row = apply_decisions(plan, state.decisions).filter(pl.col("change_id") == conflict)
    assert row.select("status", "direction", "decided_by").row(0) == (
        APPROVED,
        HUMA_TO_ENTRA,
        "hr@acme",
    )


def test_a_decision_recorded_since_is_listed_with_its_comment(
    deployment: Deployment, capsys: pytest.CaptureFixture[str]
) -> None:
    create = _waiting(deployment)["create"]
    main(["decisions", "reject", *ACME, "--id", create, "--comment", "a contractor"])
    capsys.readouterr()

    assert main(["decisions", "list", *ACME, "--format", "json"]) == 0
    decided = json.loads(capsys.readouterr().out)[1]["decided_since"]
    assert (decided["verdict"], decided["comment"]) == ("reject", "a contractor")
    assert decided["decided_by"] == getpass.getuser()

    assert main(["decisions", "list", *ACME]) == 0
    assert f"reject by {getpass.getuser()}" in capsys.readouterr().out

    assert main(["decisions", "list", *ACME, "--undecided", "--format", "json"]) == 0
    assert [item["kind"] for item in json.loads(capsys.readouterr().out)] == ["conflict"]


def test_reject_by_user_and_approve_all_of_a_kind(deployment: Deployment) -> None:
    ids = _waiting(deployment)

    assert main(["decisions", "reject", *ACME, "--user", "bo@example.com"]) == 0
    assert main(["decisions", "approve", *ACME, "--all", "--kind", "create"]) == 0

    verdicts = {(d["change_id"], d["verdict"], d["winner"]) for d in _decided(deployment)}
    assert verdicts == {(ids["conflict"], "reject", None), (ids["create"], "approve", None)}
    state = deployment.store.load_state(connection="acme")
    plan = deployment.store.run_frame(run_id="acme-2", table="sync_plan")
    statuses = apply_decisions(plan, state.decisions).filter(
        pl.col("change_id").is_in(ids.values())
    )
    assert sorted(statuses.get_column("status").to_list()) == sorted([APPROVED, REJECTED])


def test_a_conflict_named_by_id_is_not_approved_without_a_winner(
    deployment: Deployment, capsys: pytest.CaptureFixture[str]
) -> None:
    conflict = _waiting(deployment)["conflict"]

    assert main(["decisions", "approve", *ACME, "--id", conflict]) == 2

    assert "--winner huma (keep Huma's value) or --winner entra" in capsys.readouterr().err
    assert _decided(deployment) == []


def test_a_bulk_approval_records_the_rest_and_fails_naming_the_conflicts(
    deployment: Deployment, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = _waiting(deployment)

    assert main(["decisions", "approve", *ACME, "--all"]) == 1

    err = capsys.readouterr().err
    assert "not approved, for want of --winner" in err
    assert ids["conflict"][:12] in err
    assert [d["change_id"] for d in _decided(deployment)] == [ids["create"]]


def test_bulk_selections_leave_rows_decided_since_alone(deployment: Deployment) -> None:
    ids = _waiting(deployment)
    assert main(["decisions", "reject", *ACME, "--id", ids["create"]]) == 0

    assert main(["decisions", "approve", *ACME, "--all", "--winner", "entra"]) == 0

    verdicts = {(d["change_id"], d["verdict"], d["winner"]) for d in _decided(deployment)}
    assert verdicts == {(ids["create"], "reject", None), (ids["conflict"], "approve", "entra")}


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["approve", "--all"], id="approve-all"),
        pytest.param(["reject", "--all"], id="reject-all"),
        pytest.param(["approve", "--all", "--kind", "create"], id="approve-all-of-a-kind"),
    ],
)
def test_all_with_nothing_waiting_says_so_and_succeeds(
    deployment: Deployment, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    assert main(["decisions", "approve", *ACME, "--all", "--winner", "huma"]) == 0
    decided = _decided(deployment)
    capsys.readouterr()

    assert main(["decisions", args[0], *ACME, *args[1:]]) == 0

    captured = capsys.readouterr()
    assert "Nothing in connection acme waits for a decision" in captured.out
    assert captured.err == ""
    assert _decided(deployment) == decided


@pytest.mark.parametrize(
    ("answer", "code", "recorded"),
    [
        pytest.param("y\n", 0, ["create"], id="yes"),
        pytest.param("n\n", 1, [], id="no"),
        pytest.param("", 1, [], id="end-of-input"),
    ],
)
def test_on_a_terminal_the_person_confirms_what_will_be_recorded(
    deployment: Deployment,
    terminal: Callable[[str], None],
    capsys: pytest.CaptureFixture[str],
    answer: str,
    code: int,
    recorded: list[str],
) -> None:
    ids = _waiting(deployment)
    terminal(answer)

    assert main(["decisions", "approve", *ACME, "--all"]) == code

    out = capsys.readouterr().out
    assert "Not approved, for want of --winner: 1 change(s) choosing between" in out
    assert "Record 1 decision(s) to approve? [y/N]" in out
    assert [d["change_id"] for d in _decided(deployment)] == [ids[kind] for kind in recorded]


def test_yes_skips_the_question_on_a_terminal(
    deployment: Deployment, terminal: Callable[[str], None], capsys: pytest.CaptureFixture[str]
) -> None:
    terminal("n\n")

    assert main(["decisions", "reject", *ACME, "--kind", "create", "--yes"]) == 0

    assert "[y/N]" not in capsys.readouterr().out
    assert [d["verdict"] for d in _decided(deployment)] == ["reject"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["approve"], "say which changes", id="no-selection"),
        pytest.param(["approve", "--id", "abcdef", "--all"], "leave out --all", id="id-and-all"),
        pytest.param(["reject", "--id", "0000000000"], "not waiting", id="unknown-id"),
        pytest.param(["reject", "--id", "ab"], "at least 6 characters", id="short-prefix"),
        pytest.param(["reject", "--user", "nobody@example.com"], "nothing", id="nothing-matched"),
        pytest.param(
            ["approve", "--kind", "conflict"], "needs the winning side", id="only-conflicts"
        ),
    ],
)
def test_usage_mistakes_exit_2_and_record_nothing(
    deployment: Deployment, capsys: pytest.CaptureFixture[str], args: list, message: str
) -> None:
    assert main(["decisions", args[0], *ACME, *args[1:]]) == 2

    assert message in capsys.readouterr().err
    assert _decided(deployment) == []


@pytest.mark.parametrize(
    ("connection", "message"),
    [
        pytest.param([], "choose a connection with --connection: acme, globex", id="several"),
        pytest.param(["--connection", "initech"], "no connection 'initech'", id="unknown"),
    ],
)
def test_the_connection_must_be_named_when_there_are_several(
    deployment: Deployment, capsys: pytest.CaptureFixture[str], connection: list, message: str
) -> None:
    assert main(["decisions", "list", *connection]) == 2

    assert message in capsys.readouterr().err


def test_a_missing_or_older_history_file_gets_a_clear_message(
    deployment: Deployment, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = deployment.path.with_name("none.duckdb")
    monkeypatch.setenv("HISTORY_DB_PATH", str(missing))
    assert main(["decisions", "list", *ACME]) == 1
    assert "no history database at" in capsys.readouterr().err
    assert not missing.exists()

    older = deployment.path.with_name("older.duckdb")
    HistoryStore(older).migrate(target_version=2)
    monkeypatch.setenv("HISTORY_DB_PATH", str(older))
    assert main(["decisions", "approve", *ACME, "--all"]) == 1
    assert "older than this code's" in capsys.readouterr().err
    assert HistoryStore(older, read_only=True).schema_version() == 2

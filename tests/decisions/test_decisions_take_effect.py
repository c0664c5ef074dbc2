"""Decisions recorded with `huma-entra-sync decisions` take effect on the next run, against the
emulators, through the console script as cron runs it.

Pins (SPEC §7): after the activation, people change a phone on one or both sides and the night's
run asks about them. Approving a conflict with a winner writes the winner's value to the other
side on the next run; rejecting an Entra → Huma update leaves Huma alone on the next run and the
row stays rejected; a decision on values that moved before the next run is not applied: its row
is asked again (`stale`) and neither side is written.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

from tests.console_deployment import Deployment

pytestmark = pytest.mark.slow

PHONE = "phone"


def _agreed_pairs(deployment: Deployment, count: int) -> list[tuple[dict, dict]]:
    """`count` linked (Huma user, Entra user) pairs whose phones agree in the baseline, by email."""
    state = deployment.store.load_state(connection="acme")
    agreed = (
        state.baseline.lazy()
        .filter((pl.col("field") == PHONE) & pl.col("has_agreed") & pl.col("agreed").is_not_null())
        .join(state.links.lazy(), on="huma_id")
        .sort("huma_id")
        .collect()
    )
    huma, entra = deployment.huma_users(), deployment.entra_users()
    pairs = [
        (huma[row["huma_id"]], entra[row["entra_id"]])
        for row in agreed.iter_rows(named=True)
        if huma[row["huma_id"]]["phone"] == entra[row["entra_id"]]["mobilePhone"] == row["agreed"]
    ]
    assert len(pairs) >= count, "the activation should have agreed on enough phones"
    return pairs[:count]


def _set_huma_phone(deployment: Deployment, user: dict[str, Any], phone: str) -> None:
    deployment.outside.huma.call("PATCH", f"/users/{user['id']}", {"phone": phone})


def _set_entra_phone(deployment: Deployment, user: dict[str, Any], phone: str) -> None:
    tenant = deployment.outside.tenant["id"]
    deployment.outside.entra.call(
        "PATCH", f"/tenants/{tenant}/users/{user['id']}", {"mobilePhone": phone}
    )


def _row(deployment: Deployment, run_id: str, email: str) -> dict[str, Any]:
    """The run's one plan row about `email`'s phone, with its latest status."""
    rows = deployment.store.plan_with_statuses(run_id=run_id).filter(
        (pl.col("email_key") == email) & pl.col("fields").list.contains(PHONE)
    )
    assert rows.height == 1, rows
    return rows.row(0, named=True)


def _decide(deployment: Deployment, *args: str) -> None:
    done = deployment.cli("decisions", *args, "--by", "alice", "--comment", "checked with HR")
    assert done.returncode == 0, done.stdout + done.stderr


def test_decisions_take_effect_on_the_next_run_unless_the_values_moved(
    deployment: Deployment,
) -> None:
    deployment.run()  # the activation: phones go to Entra and are agreed
    (h_won, e_won), (h_kept, e_kept), (h_moved, e_moved) = _agreed_pairs(deployment, 3)
    _set_huma_phone(deployment, h_won, "+47 411 00 001")  # both sides: a conflict
    _set_entra_phone(deployment, e_won, "+47 422 00 001")
    _set_entra_phone(deployment, e_kept, "+47 422 00 002")  # Entra only: waits for approval
    _set_huma_phone(deployment, h_moved, "+47 411 00 003")  # both sides: a conflict
    _set_entra_phone(deployment, e_moved, "+47 422 00 003")
    asking = deployment.run()
    won, kept, moved = (
        _row(deployment, asking, user["email"].lower()) for user in (h_won, h_kept, h_moved)
    )
    assert (won["decision_kind"], won["status"]) == ("conflict", "pending")
    assert (kept["decision_kind"], kept["status"]) == ("entra_to_huma", "pending")
    assert (moved["decision_kind"], moved["status"]) == ("conflict", "pending")

    _decide(deployment, "approve", "--id", won["change_id"], "--winner", "entra")
    _decide(deployment, "reject", "--user", h_kept["email"])
    _decide(deployment, "approve", "--id", moved["change_id"], "--winner", "huma")
    _set_entra_phone(deployment, e_moved, "+47 422 00 033")  # moved after the decision
    huma_before, entra_before = deployment.huma_users(), deployment.entra_users()

    deciding = deployment.run()

    huma, entra = deployment.huma_users(), deployment.entra_users()
    # The conflict Entra won: Huma now has Entra's phone, and the row was applied.
    assert huma[h_won["id"]]["phone"] == "+47 422 00 001"
    assert entra[e_won["id"]]["mobilePhone"] == "+47 422 00 001"
    assert _row(deployment, deciding, h_won["email"].lower())["status"] == "applied"
    # The rejected Entra → Huma update: Huma keeps its phone, the row stays rejected.
    assert huma[h_kept["id"]]["phone"] == huma_before[h_kept["id"]]["phone"]
    assert _row(deployment, deciding, h_kept["email"].lower())["status"] == "rejected"
    # The decision on values that moved since: asked again, nothing written on either side.
    again = _row(deployment, deciding, h_moved["email"].lower())
    assert (again["decision_kind"], again["status"]) == ("conflict", "stale")
    assert huma[h_moved["id"]] == huma_before[h_moved["id"]]
    assert entra[e_moved["id"]] == entra_before[e_moved["id"]]
    listed = deployment.cli("decisions", "list", "--user", h_moved["email"])
    assert "stale" in listed.stdout, listed.stdout + listed.stderr

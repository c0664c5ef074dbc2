"""The manager end to end: a connection with `policy.fields: [manager]`, driven through its console
script against the emulators, from the generated company's supervisors.

Pins: the first run sets each linked person's Entra manager to the account linked to their Huma
supervisor; after people move in Huma, the next run changes a manager (`PUT …/manager/$ref`),
clears one whose supervisor was removed (`DELETE`), and leaves alone one whose new supervisor has
no Entra account (listed with the reason) and one whose supervisor Huma no longer returns; a
re-run sends no reference write at all; rolling the second run back restores the managers it
changed or cleared.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest

from resources.huma_client import HumaClient
from tests.console_deployment import CONNECTIONS, Deployment

pytestmark = pytest.mark.slow

_WITH_MANAGER = CONNECTIONS.replace(
    "        address: huma_to_entra\n",
    "        address: huma_to_entra\n        manager: huma_to_entra\n",
) + ("      fields: [manager]\n")


class _ManagerDeployment(Deployment):
    """The console deployment's `acme` connection, with the manager on."""

    def environment(self) -> dict[str, str]:
        env = super().environment()
        Path(env["HUMA_ENTRA_SYNC_CONNECTIONS"]).write_text(_WITH_MANAGER, encoding="utf-8")
        return env


def _accounts(deployment: Deployment) -> dict[str, dict[str, Any]]:
    """Each active Huma user's Entra account (same email, a cloud member), by Huma id."""
    by_email = {
        u["mail"].casefold(): u
        for u in deployment.entra_users().values()
        if u.get("mail") and u.get("userType") == "Member" and not u.get("onPremisesSyncEnabled")
    }
    return {
        u["id"]: by_email[u["email"].casefold()]
        for u in deployment.huma_users().values()
        if u["status"]["active"] and u["email"].casefold() in by_email
    }


def _reference_writes(deployment: Deployment) -> list[dict[str, Any]]:
    return [
        r
        for r in deployment.outside.entra.requests()
        if r["method"] in ("PUT", "DELETE") and r["path"].endswith("/manager/$ref")
    ]


def _hire_without_entra_account(deployment: Deployment) -> str:
    """A new Huma user with a private address (never created in Entra: never linked)."""
    state = deployment.outside.huma.state()
    key = state["apiKeys"][0]
    with HumaClient(
        base_url=deployment.outside.emulators.huma_url,
        client_id=key["clientId"],
        client_secret=key["clientSecret"],
    ) as hr:
        created = hr.create_user(
            {
                "email": "pia.privat@gmail.com",
                "givenName": "Pia",
                "familyName": "Privat",
                "groups": [state["groups"][0]["id"]],
            }
        )
    return created["id"]


def test_managers_follow_huma_s_supervisors_and_roll_back(outside, tmp_path: Path) -> None:
    deployment = _ManagerDeployment(outside, tmp_path)
    huma = outside.huma

    first = deployment.run()

    accounts = _accounts(deployment)
    people = deployment.huma_users()
    managed = [
        h
        for h, account in accounts.items()
        if (boss := people[h].get("supervisor")) in accounts
        and account.get("manager") == accounts[boss]["id"]
    ]
    assert len(managed) >= 20, "the first run should set the managers of the linked people"
    applied = deployment.store.journal(run_id=first).filter(
        pl.col("after").str.contains('"manager"') & (pl.col("status") == "applied")
    )
    assert applied.height >= len(managed)

    mover, unsupervised, orphaned, hidden = managed[:4]
    before = {h: accounts[h]["manager"] for h in (mover, unsupervised, orphaned, hidden)}
    new_boss = next(
        b for b in managed[4:] if b != people[mover]["supervisor"] and _moved(huma, mover, b)
    )
    huma.set_huma_supervisor(unsupervised, None)
    private = _hire_without_entra_account(deployment)
    huma.set_huma_supervisor(orphaned, private)
    huma.call("PATCH", f"/users/{hidden}", {"hiddenFields": ["supervisor"]})
    outside.entra.clear_requests()

    second = deployment.run()

    now = _accounts(deployment)
    assert now[mover].get("manager") == accounts[new_boss]["id"]
    assert now[unsupervised].get("manager") is None
    assert now[orphaned].get("manager") == before[orphaned]
    assert now[hidden].get("manager") == before[hidden]
    sent = {(r["method"], r["path"].split("/")[3]) for r in _reference_writes(deployment)}
    assert {("PUT", now[mover]["id"]), ("DELETE", now[unsupervised]["id"])} <= sent
    assert not {target for _, target in sent} & {now[orphaned]["id"], now[hidden]["id"]}
    failures = deployment.store.run_frame(run_id=second, table="validation_failures")
    [unlinked] = failures.filter(
        (pl.col("rule") == "unlinked_supervisor") & (pl.col("user_id") == orphaned)
    ).iter_rows(named=True)
    assert unlinked["value"] == private
    assert "pia.privat@gmail.com is not linked to an Entra ID account" in unlinked["message"]

    outside.entra.clear_requests()
    deployment.run()

    assert _reference_writes(deployment) == []

    undone = deployment.cli("rollback", second, "--yes")

    assert undone.returncode == 0, undone.stdout + undone.stderr
    restored = _accounts(deployment)
    assert restored[mover].get("manager") == before[mover]
    assert restored[unsupervised].get("manager") == before[unsupervised]


def _moved(huma: Any, person: str, boss: str) -> bool:
    """Give `person` the supervisor `boss` in Huma; False when Huma refuses (a loop)."""
    try:
        huma.set_huma_supervisor(person, boss)
    except RuntimeError:
        return False
    return True

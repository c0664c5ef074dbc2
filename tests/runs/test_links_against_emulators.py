"""A link ends after the run that reports its account deleted (SPEC §4), against the emulators,
through the console script as cron runs it.

Pins: IT deletes a linked person's Entra account and creates a new one with the same address.
The next run reports the old account deleted; the run after it links the person to the new
account as a new pair, with no create planned for them (before, every night planned a blocked
create in Huma and the person's changes never flowed again), and a change of the person's phone
in Huma then reaches the new account.
"""

from __future__ import annotations

import uuid
from typing import Any

import polars as pl
import pytest

from reconcile.vocabulary import CREATE_HUMA, NOTICE_DELETED_IN_ENTRA, UPDATE_ENTRA
from tests.console_deployment import Deployment

pytestmark = pytest.mark.slow


def _linked_person(deployment: Deployment) -> tuple[dict[str, Any], dict[str, Any]]:
    """An active, linked (Huma user, enabled Entra member) pair with a mail address."""
    links = deployment.store.load_state(connection="acme").links.sort("huma_id")
    huma, entra = deployment.huma_users(), deployment.entra_users()
    for link in links.iter_rows(named=True):
        person, account = huma.get(link["huma_id"]), entra.get(link["entra_id"])
        if (
            person
            and account
            and person["status"]["active"]
            and account["accountEnabled"]
            and account["userType"] == "Member"
            and account["mail"]
        ):
            return person, account
    raise AssertionError("the activation should have linked active people")


def _recreate_entra_account(deployment: Deployment, account: dict[str, Any]) -> str:
    """Delete `account` and give its address to a new account (a new object id)."""
    tenant = deployment.outside.tenant["id"]
    deployment.outside.entra.call("DELETE", f"/tenants/{tenant}/users/{account['id']}")
    state = deployment.outside.entra.state()
    users = state["tenants"][0]["users"]
    fresh = {**account, "id": str(uuid.uuid4())}
    state["tenants"][0]["users"] = [u for u in users if u["id"] != account["id"]] + [fresh]
    deployment.outside.entra.load_state(state)
    return fresh["id"]


def test_a_re_created_entra_account_is_linked_as_a_new_pair(deployment: Deployment) -> None:
    deployment.run()
    person, account = _linked_person(deployment)
    new_id = _recreate_entra_account(deployment, account)
    store = deployment.store

    reported = deployment.run()

    notices = store.run_frame(run_id=reported, table="notices")
    assert notices.filter(pl.col("huma_id") == person["id"]).select("kind", "entra_id").rows() == [
        (NOTICE_DELETED_IN_ENTRA, account["id"])
    ]

    deployment.outside.huma.call("PATCH", f"/users/{person['id']}", {"phone": "+47 400 00 003"})
    relinked = deployment.run()

    links = store.load_state(connection="acme").links
    assert links.filter(pl.col("huma_id") == person["id"]).get_column("entra_id").to_list() == [
        new_id
    ]
    plan = store.plan_with_statuses(run_id=relinked).filter(pl.col("huma_id") == person["id"])
    entra_side = store.plan_with_statuses(run_id=relinked).filter(pl.col("entra_id") == new_id)
    assert CREATE_HUMA not in entra_side.get_column("action").to_list()
    assert UPDATE_ENTRA in plan.get_column("action").to_list()
    assert deployment.entra_users()[new_id]["mobilePhone"] == "+47 400 00 003"

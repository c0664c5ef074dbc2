"""What reaches the other side when a snapshot holds values that cannot be read, and when a new
hire is matched after activation, against the emulators through the console script.

Pins (SPEC §5): after the activation, Huma serves one user's contract start date in another
format, another's `status.active` as the text "false" (the user is deactivated), another's details
in Latin-1 instead of UTF-8, and Entra holds an object where a given name belongs. The night's run
finishes; each is listed among the validation failures with its field; the date is not cleared in
Entra while that user's new phone is; the deactivated user's change is not written (locked, as
it is held out); nothing is written from or to the Latin-1 user; the object never reaches Huma.
A new hire whose Huma record is matched to an existing Entra account after activation gets the
job title and hire date in Entra on the next run.
"""

from __future__ import annotations

import uuid
from typing import Any

import polars as pl
import pytest

from tests.console_deployment import Deployment

pytestmark = pytest.mark.slow


def _linked_pairs(deployment: Deployment, count: int) -> list[tuple[dict, dict]]:
    """`count` linked, active pairs whose Entra account has a hire date, in a stable order."""
    links = deployment.store.load_state(connection="acme").links.sort("huma_id")
    huma, entra = deployment.huma_users(), deployment.entra_users()
    pairs = [
        (huma[h], entra[e])
        for h, e in links.select("huma_id", "entra_id").iter_rows()
        if h in huma
        and e in entra
        and huma[h]["status"]["active"]
        and entra[e].get("employeeHireDate")
    ]
    assert len(pairs) >= count
    return pairs[:count]


def _patch_huma(deployment: Deployment, user: dict[str, Any], changes: dict[str, Any]) -> None:
    deployment.outside.huma.call("PATCH", f"/users/{user['id']}", changes)


def _patch_entra(deployment: Deployment, user: dict[str, Any], changes: dict[str, Any]) -> None:
    tenant = deployment.outside.tenant["id"]
    deployment.outside.entra.call("PATCH", f"/tenants/{tenant}/users/{user['id']}", changes)


def test_unreadable_values_are_listed_and_never_written(deployment: Deployment) -> None:
    deployment.run()  # the activation
    dated, flagged, latin, named = _linked_pairs(deployment, 4)
    _patch_huma(deployment, dated[0], {"phone": "+47 400 00 001"})
    bad_date = {"firstContractStartDate": {"value": "01.03.2019", "editable": False}}
    _patch_huma(deployment, dated[0], {"servedFields": bad_date})
    deployment.outside.huma.call("POST", f"/users/{flagged[0]['id']}/deactivate")
    _patch_huma(deployment, flagged[0], {"phone": "+47 400 00 002"})
    _patch_huma(deployment, flagged[0], {"servedFields": {"status": {"active": "false"}}})
    _patch_huma(deployment, latin[0], {"givenName": "Ståle", "servedCharset": "latin-1"})
    _patch_entra(deployment, named[1], {"givenName": {"evil": 1}})
    entra_before = deployment.entra_users()
    huma_before = deployment.huma_users()

    run_id = deployment.run()

    entra_after, huma_after = deployment.entra_users(), deployment.huma_users()
    failures = deployment.store.run_frame(run_id=run_id, table="validation_failures")
    listed = set(failures.filter(pl.col("rule") == "unreadable").select("user_id", "field").rows())
    assert {
        (dated[0]["id"], "hire_date"),
        (flagged[0]["id"], "active"),
        (latin[0]["id"], "payload"),
        (named[1]["id"], "given_name"),
    } <= listed
    dated_entra = entra_after[dated[1]["id"]]
    assert dated_entra["mobilePhone"] == "+47 400 00 001"  # the rest of the user flows
    assert dated_entra["employeeHireDate"] == dated[1]["employeeHireDate"]  # never cleared
    assert entra_after[flagged[1]["id"]] == entra_before[flagged[1]["id"]]
    assert entra_after[latin[1]["id"]] == entra_before[latin[1]["id"]]
    assert entra_after[named[1]["id"]]["givenName"] == {"evil": 1}
    assert huma_after[named[0]["id"]]["givenName"] == huma_before[named[0]["id"]]["givenName"]
    plan = deployment.store.run_frame(run_id=run_id, table="sync_plan")
    about_the_name = plan.filter(
        (pl.col("entra_id") == named[1]["id"]) & pl.col("fields").list.contains("given_name")
    )
    assert about_the_name.height == 0


def test_a_new_hire_matched_after_activation_gets_title_and_hire_date(
    deployment: Deployment,
) -> None:
    deployment.run()  # the activation
    huma_state = deployment.outside.huma.state()
    title = huma_state["jobTitles"][0]
    email = "nina.nyansatt@" + huma_state["users"][0]["email"].split("@")[1]
    huma_state["users"].append(
        {
            "id": str(uuid.uuid4()),
            "givenName": "Nina",
            "familyName": "Nyansatt",
            "email": email,
            "status": {"active": True},
            "groups": [huma_state["groups"][0]["id"]],
            "positions": [
                {
                    "id": str(uuid.uuid4()),
                    "titleId": title["id"],
                    "contractStartDate": "2026-01-05",
                    "percentage": 100,
                    "contractType": "Permanent",
                }
            ],
        }
    )
    deployment.outside.huma.load_state(huma_state)
    entra_state = deployment.outside.entra.state()
    account = {
        "id": str(uuid.uuid4()),
        "userPrincipalName": email,
        "mail": email,
        "displayName": "Nina Nyansatt",
        "givenName": "Nina",
        "surname": "Nyansatt",
        "mailNickname": "nina.nyansatt",
        "accountEnabled": True,
        "userType": "Member",
    }
    entra_state["tenants"][0]["users"].append(account)
    deployment.outside.entra.load_state(entra_state)

    deployment.run()

    hired = deployment.entra_users()[account["id"]]
    assert hired.get("jobTitle") == title["name"]
    assert hired.get("employeeHireDate") == "2026-01-05T00:00:00Z"

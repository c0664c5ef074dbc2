"""A targeted run knows the tenant's verified domains as a full run does (SPEC §6: a create is
blocked only for an address off the tenant's verified domains). An app without
`Domain.Read.All` (Huma's own setup asks only for `User.ReadWrite.All`) learns them from the
members' user principal names; a targeted run for a new hire reads no member at all, so it took
every domain for a private one and blocked the hire's account as "private address: <the
company's domain> is not a verified domain". It now also counts the domains of the members the
latest full snapshot holds."""

from __future__ import annotations

import dagster as dg
import polars as pl
import pytest

from resources.huma_client import HumaClient
from resources.webhook_events import EventUser
from tests.console_deployment import (  # noqa: F401 - fixtures
    deployment,
    graph_resource,
    outside,
    outside_session,
    world,
)
from tests.webhooks.conftest import CONNECTION, Local, local  # noqa: F401 - fixture

pytestmark = pytest.mark.slow


def _hire(at: Local, email: str) -> EventUser:
    """A new active Huma user, as HR adds one (no Entra account yet)."""
    emulators = at.deployment.outside
    state = emulators.huma.state()
    key = state["apiKeys"][0]
    with HumaClient(
        base_url=emulators.emulators.huma_url,
        client_id=key["clientId"],
        client_secret=key["clientSecret"],
    ) as hr:
        created = hr.create_user(
            {
                "email": email,
                "givenName": "Nora",
                "familyName": "Nyansatt",
                "groups": [state["groups"][0]["id"]],
            }
        )
    return EventUser(created["id"], email)


def test_a_targeted_run_creates_a_new_hire_on_the_company_domain(local: Local) -> None:  # noqa: F811
    local.full_run()
    company = next(d["id"] for d in local.deployment.outside.tenant["domains"] if d["isDefault"])
    hire = _hire(local, f"nora.nyansatt@{company}")
    local.produce("users-create", [hire])

    result = local.tick()

    assert isinstance(result, dg.ExecuteInProcessResult), result
    plan = result.asset_value(dg.AssetKey([CONNECTION, "sync_plan"])).result.sync_plan
    [create] = plan.filter(pl.col("huma_id") == hire.huma_id).to_dicts()
    assert (create["status"], create["blocked_reason"]) == ("auto_approved", None), create
    names = {u["userPrincipalName"].casefold() for u in local.deployment.entra_users().values()}
    assert hire.email.casefold() in names

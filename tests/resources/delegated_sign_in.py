"""The generated world made ready for the "with user account" type, and a person who signs in.

`prepare_user_account(outside)` loads the world with its app allowing public client flows and
holding admin consent for the delegated `User.ReadWrite.All`, and gives one member the User
Administrator role. `Person` plays whoever opens the verification page: it approves (or declines)
the code shown, through the emulator's control route.
"""

from __future__ import annotations

import copy
import dataclasses
import re
import threading
import time
from typing import Any

from tests.resources.conftest import Outside

TIME_SCALE = 5
_CODE = re.compile(r"enter the code ([A-Z0-9]{9}) to authenticate\.$")


@dataclasses.dataclass(frozen=True)
class UserAccountWorld:
    tenant_id: str
    client_id: str
    admin: dict[str, Any]  # a member with the User Administrator role
    other: dict[str, Any]  # a member without roles, the target of writes


def _cloud_members(tenant: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        u
        for u in tenant["users"]
        if u["userType"] == "Member" and u["accountEnabled"] and not u.get("onPremisesSyncEnabled")
    ]


def prepare_user_account(outside: Outside, *, public_client: bool = True) -> UserAccountWorld:
    state = copy.deepcopy(outside.world.entra)
    tenant = state["tenants"][0]
    app = tenant["applications"][0]
    app["isFallbackPublicClient"] = public_client
    app["delegatedPermissions"] = ["User.ReadWrite.All"]
    admin, other = _cloud_members(tenant)[:2]
    admin["directoryRoles"] = ["User Administrator"]
    outside.entra.load_state(state)
    outside.entra.update_settings({"time_scale": TIME_SCALE})
    return UserAccountWorld(tenant["id"], app["appId"], admin, other)


@dataclasses.dataclass
class Person:
    """Approves the code Entra shows, at once (`show`) or from another thread (`watch`)."""

    outside: Outside
    world: UserAccountWorld
    decision: str = "approve"
    messages: list[str] = dataclasses.field(default_factory=list)

    def show(self, message: str) -> None:
        """The `show` of `DelegatedTokenProvider.login`: read the message, sign in at once."""
        self.messages.append(message)
        match = _CODE.search(message)
        assert match, message
        self.decide(match.group(1))

    def decide(self, user_code: str) -> None:
        path = f"/tenants/{self.world.tenant_id}/device-codes/{user_code}"
        body = {"user": self.world.admin["userPrincipalName"], "decision": self.decision}
        self.outside.entra.call("POST", path, body)

    def watch(self) -> threading.Thread:
        """Approve the first code that shows up in the tenant, a moment after it does."""

        def run() -> None:
            path = f"/tenants/{self.world.tenant_id}/device-codes"
            for _ in range(200):
                pending = self.outside.entra.call("GET", path)["value"]
                if pending:
                    time.sleep(0.3)  # let the client poll while it is pending
                    self.decide(pending[0]["userCode"])
                    return
                time.sleep(0.05)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        return thread


def token_grants(outside: Outside) -> list[str]:
    """The `grant_type` of every token request since the log was last cleared."""
    entries = outside.entra.requests(method="POST")
    return [e["oauth"]["grant_type"] for e in entries if e["path"].endswith("/oauth2/v2.0/token")]

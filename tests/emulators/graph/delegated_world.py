"""The known directory with what the delegated flows need, and raw-protocol helpers for them.

On top of `conftest.make_state()`: a public client "Huma (user account)" with "Allow public client
flows" on and admin consent for the delegated `User.ReadWrite.All`, a public client nobody
consented to, and directory roles: Anne Berg is a User Administrator, Bjorn Dahl a Global
Administrator, Cato Eik has no role. Time runs 5x faster, so device codes ask for 1 s polls.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import httpx

from emulators.graph import jose
from tests.emulators.graph.conftest import Entra, make_state, uid

GRAPH_WRITE_SCOPE = "https://graph.microsoft.com/User.ReadWrite.All"
#: What MSAL sends for that scope: it adds the OpenID Connect scopes.
MSAL_SCOPE = f"{GRAPH_WRITE_SCOPE} offline_access openid profile"
TIME_SCALE = 5
USER_ADMIN = "anne.berg@fjordline.no"
GLOBAL_ADMIN = "bjorn.dahl@fjordline.no"
NO_ROLE = "cato.eik@fjordline.no"
DISABLED = "kari.disabled@fjordline.no"


def delegated_state() -> dict[str, Any]:
    state = make_state()
    tenant = state["tenants"][0]
    tenant["applications"] += [
        {
            "appId": uid("public-app"),
            "displayName": "Huma (user account)",
            "isFallbackPublicClient": True,
            "delegatedPermissions": ["User.ReadWrite.All"],
        },
        {"appId": uid("unconsented-app"), "displayName": "New", "isFallbackPublicClient": True},
    ]
    roles = {USER_ADMIN: ["User Administrator"], GLOBAL_ADMIN: ["Global Administrator"]}
    for user in tenant["users"]:
        if user["userPrincipalName"] in roles:
            user["directoryRoles"] = roles[user["userPrincipalName"]]
    return state


@dataclasses.dataclass
class DeviceFlow:
    """Raw calls of the device authorization grant against the emulator."""

    entra: Entra

    @classmethod
    def ready(cls, entra: Entra) -> DeviceFlow:
        """The flows on `delegated_state()`, time `TIME_SCALE` times faster, an empty log."""
        entra.admin.load_state(delegated_state())
        entra.admin.update_settings({"time_scale": TIME_SCALE})
        entra.admin.clear_requests()
        return cls(entra)

    def start(self, app: str = "public-app", scope: str = MSAL_SCOPE) -> httpx.Response:
        with self.entra.client() as http:
            return http.post(
                f"{self.entra.authority}/oauth2/v2.0/devicecode",
                data={"client_id": uid(app), "scope": scope},
            )

    def code(self, app: str = "public-app", scope: str = MSAL_SCOPE) -> dict[str, Any]:
        response = self.start(app, scope)
        assert response.status_code == 200, response.text
        return response.json()

    def poll(self, device_code: str, app: str = "public-app", **extra: str) -> httpx.Response:
        return self.token(
            grant_type="urn:ietf:params:oauth:grant-type:device_code",
            client_id=uid(app),
            device_code=device_code,
            **extra,
        )

    def token(self, **form: str) -> httpx.Response:
        with self.entra.client() as http:
            return http.post(f"{self.entra.authority}/oauth2/v2.0/token", data=form)

    def refresh(self, refresh_token: str, app: str = "public-app", **extra: str) -> httpx.Response:
        return self.token(
            grant_type="refresh_token",
            client_id=uid(app),
            refresh_token=refresh_token,
            scope=MSAL_SCOPE,
            client_info="1",
            **extra,
        )

    def decide(self, user_code: str, user: str | None, decision: str = "approve") -> Any:
        body = {"decision": decision, **({"user": user} if user else {})}
        path = f"/tenants/{self.entra.tenant_id}/device-codes/{user_code}"
        return self.entra.admin.call("POST", path, body)

    def signed_in(self, user: str = USER_ADMIN, app: str = "public-app") -> dict[str, Any]:
        """A token answer for `user` after a whole device flow (with `client_info=1`)."""
        code = self.code(app)
        self.decide(code["user_code"], user)
        response = self.poll(code["device_code"], app, client_info="1")
        assert response.status_code == 200, response.text
        return response.json()

    def graph(self, access_token: str) -> httpx.Client:
        headers = {"Authorization": f"Bearer {access_token}"}
        return self.entra.client(base_url=f"{self.entra.url}/v1.0", headers=headers)


def claims(token: str) -> dict[str, Any]:
    _, payload, _, _ = jose.parse(token)
    return payload


def aadsts_code(response: httpx.Response) -> tuple[int, str, int]:
    """Status, OAuth error and AADSTS code of an Entra error answer."""
    body = response.json()
    assert body["error_description"].startswith(f"AADSTS{body['error_codes'][0]}: ")
    return response.status_code, body["error"], body["error_codes"][0]


def wait_past(seconds: float) -> None:
    time.sleep(seconds + 0.05)

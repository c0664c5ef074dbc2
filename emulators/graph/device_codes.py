"""Device codes: what `/devicecode` hands out, and what a person does with one in a browser.

A code is pending until someone opens the verification page, signs in and approves it, or
declines; it expires after `device_code_lifetime_seconds` (Entra: 15 minutes) either way. The
emulator has no sign-in page: the browser step is the control route
`POST /_emulator/tenants/{tenant}/device-codes/{user_code}` (`decide`), which refuses what Entra's
page would refuse (an unknown or expired code, a code already used, a disabled account, consent
only an administrator may give). Codes live in memory only.
"""

from __future__ import annotations

import dataclasses
import secrets
import time
from typing import Any, Literal

from emulators.graph import aadsts
from emulators.graph.delegation import CONSENTING_ROLES, consented, parse_scopes, roles_of
from emulators.graph.directory import Tenant

Status = Literal["pending", "approved", "declined"]
#: Entra's user codes are 9 letters and digits ("FRWQDE7YL"); these leave out look-alikes.
_USER_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
_LIMIT = 10_000
#: An expired code is answered `expired_token` for its lifetime again, and at least this long
#: (real seconds), so a client that polls a little late learns that it expired.
_REMEMBER_EXPIRED = 300.0


@dataclasses.dataclass
class DeviceCode:
    """One device authorization."""

    device_code: str
    user_code: str
    tenant_id: str
    app_id: str
    scope: str  # as the client sent it
    expires_at: float  # real Unix time
    forget_at: float  # after this the code is unknown (until then: expired_token)
    status: Status = "pending"
    user_id: str | None = None

    def expired(self) -> bool:
        return time.time() >= self.expires_at

    def view(self) -> dict[str, Any]:
        """The code as the control routes show it (never the device code itself)."""
        return {
            "userCode": self.user_code,
            "clientId": self.app_id,
            "scope": self.scope,
            "status": "expired" if self.expired() and self.status == "pending" else self.status,
            "userId": self.user_id,
            "expiresAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.expires_at)),
        }


class DecisionRefused(Exception):
    """The sign-in page would not let the person approve or decline: status and message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class DeviceCodes:
    """The device codes handed out and not yet forgotten, by device code and by user code."""

    def __init__(self) -> None:
        self._by_device: dict[str, DeviceCode] = {}
        self._by_user: dict[str, DeviceCode] = {}

    def create(self, *, tenant_id: str, app_id: str, scope: str, lifetime: float) -> DeviceCode:
        """A new pending code that lives `lifetime` real seconds."""
        self._prune()
        user_code = "".join(secrets.choice(_USER_CODE_ALPHABET) for _ in range(9))
        while user_code in self._by_user:
            user_code = "".join(secrets.choice(_USER_CODE_ALPHABET) for _ in range(9))
        now = time.time()
        entry = DeviceCode(
            device_code="DAQABIQEAAAB" + secrets.token_urlsafe(96),
            user_code=user_code,
            tenant_id=tenant_id,
            app_id=app_id,
            scope=scope,
            expires_at=now + lifetime,
            forget_at=now + lifetime + max(lifetime, _REMEMBER_EXPIRED),
        )
        self._by_device[entry.device_code] = entry
        self._by_user[user_code] = entry
        return entry

    def by_device_code(self, device_code: str) -> DeviceCode | None:
        entry = self._by_device.get(device_code)
        return entry if entry is not None and time.time() < entry.forget_at else None

    def by_user_code(self, user_code: str) -> DeviceCode | None:
        """A code as a person types it (any case, spaces and dashes ignored)."""
        normal = user_code.upper().replace("-", "").replace(" ", "")
        entry = self._by_user.get(normal)
        return entry if entry is not None and time.time() < entry.forget_at else None

    def pending(self, tenant_id: str) -> list[DeviceCode]:
        """The tenant's codes waiting for a person, oldest first."""
        return [
            e
            for e in self._by_device.values()
            if e.tenant_id == tenant_id and e.status == "pending" and not e.expired()
        ]

    def forget(self, entry: DeviceCode) -> None:
        """Drop a code (it was redeemed: a second redemption finds nothing)."""
        self._by_device.pop(entry.device_code, None)
        self._by_user.pop(entry.user_code, None)

    def clear(self) -> None:
        self._by_device.clear()
        self._by_user.clear()

    def _prune(self) -> None:
        now = time.time()
        stale = [e for e in self._by_device.values() if now >= e.forget_at]
        if len(self._by_device) - len(stale) >= _LIMIT:
            stale = list(self._by_device.values())  # a runaway client: start over
        for entry in stale:
            self.forget(entry)


def decide(
    codes: DeviceCodes,
    tenant: Tenant,
    user_code: str,
    *,
    decision: str,
    user_key: str | None,
) -> DeviceCode:
    """What the sign-in page does when a person enters `user_code` and approves or declines.

    Approving needs an enabled user of the tenant; when the app lacks consent for a requested
    permission, a Global Administrator (or Privileged Role Administrator) grants it for the
    organisation, anyone else is refused (AADSTS90094) and the code stays pending.

    Raises:
        DecisionRefused: with the status and message the control route answers.
    """
    if decision not in ("approve", "decline"):
        raise DecisionRefused(400, "'decision' must be 'approve' or 'decline'")
    entry = codes.by_user_code(user_code)
    if entry is None or entry.tenant_id != tenant.id:
        raise DecisionRefused(404, "AADSTS70018: unknown code (check the code and try again)")
    if entry.expired():
        raise DecisionRefused(410, "AADSTS70019: the code has expired")
    if entry.status != "pending":
        raise DecisionRefused(409, "AADSTS90120: the request was already authorized or declined")
    user = tenant.users.find(user_key) if user_key else None
    if decision == "approve" and user is None:
        raise DecisionRefused(404, "give 'user': the id or userPrincipalName of a user")
    if user is not None and user.get("accountEnabled") is False:
        raise DecisionRefused(403, f"AADSTS50057: {aadsts.USER_DISABLED}")
    app = tenant.applications.get(entry.app_id)
    if app is None:
        raise DecisionRefused(404, "the application of this code no longer exists")
    if decision == "approve":
        scopes = parse_scopes(entry.scope, app_name="", directory=tenant.display_name)
        missing = scopes.permissions - consented(app)
        if missing and not roles_of(user) & CONSENTING_ROLES:
            raise DecisionRefused(403, f"AADSTS90094: {aadsts.ADMIN_CONSENT_REQUIRED}")
        if missing:
            app["delegatedPermissions"] = sorted(consented(app) | missing)
    entry.status = "approved" if decision == "approve" else "declined"
    entry.user_id = user["id"] if user is not None else None
    return entry

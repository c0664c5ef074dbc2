"""The directory: tenants, their domains and applications, and users indexed for Graph's lookups.

Users are kept as the state file's dicts (Graph property names, Graph value formats), indexed by
id, by userPrincipalName and by mail (both case-insensitive, as Entra compares them), and listed
in one sorted id order so that paging can resume after any id without scanning.
"""

from __future__ import annotations

import bisect
import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

STATE_FORMAT = "entra-emulator/1"


class UserStore:
    """One tenant's users with the indexes every request needs."""

    def __init__(self) -> None:
        self.by_id: dict[str, dict[str, Any]] = {}
        self.ids: list[str] = []  # sorted
        self.by_upn: dict[str, str] = {}
        self.by_mail: dict[str, str] = {}
        #: Bumped on every change; caches of filtered lists are keyed by it.
        self.version = 0

    def load(self, users: Iterable[dict[str, Any]]) -> None:
        for user in users:
            self._index(user)
        self.ids = sorted(self.by_id)

    def _index(self, user: dict[str, Any]) -> None:
        uid = user.get("id")
        upn = user.get("userPrincipalName")
        if not isinstance(uid, str) or not isinstance(upn, str):
            raise ValueError(f"a user needs string 'id' and 'userPrincipalName': {user!r:.200}")
        if uid in self.by_id:
            raise ValueError(f"duplicate user id {uid!r}")
        if upn.lower() in self.by_upn:
            raise ValueError(f"duplicate userPrincipalName {upn!r}")
        mail = user.get("mail")
        if mail and mail.lower() in self.by_mail:
            raise ValueError(f"duplicate mail {mail!r}")
        self.by_id[uid] = user
        self.by_upn[upn.lower()] = uid
        if mail:
            self.by_mail[mail.lower()] = uid

    def find(self, key: str) -> dict[str, Any] | None:
        """A user by object id or userPrincipalName (what `/users/{id | upn}` takes)."""
        user = self.by_id.get(key)
        if user is None and "@" in key:
            uid = self.by_upn.get(key.lower())
            user = self.by_id.get(uid) if uid else None
        return user

    def owner_of_upn(self, upn: str) -> str | None:
        return self.by_upn.get(upn.lower())

    def owner_of_mail(self, mail: str) -> str | None:
        return self.by_mail.get(mail.lower())

    def add(self, user: dict[str, Any]) -> None:
        self._index(user)
        bisect.insort(self.ids, user["id"])
        self.version += 1

    def update(self, user: dict[str, Any], changes: Mapping[str, Any]) -> None:
        """Apply `changes` to `user`, keeping the indexes right (uniqueness checked by callers)."""
        uid = user["id"]
        if "userPrincipalName" in changes:
            del self.by_upn[user["userPrincipalName"].lower()]
            self.by_upn[changes["userPrincipalName"].lower()] = uid
        if "mail" in changes:
            if user.get("mail"):
                self.by_mail.pop(user["mail"].lower(), None)
            if changes["mail"]:
                self.by_mail[changes["mail"].lower()] = uid
        user.update(changes)
        self.version += 1

    def remove(self, user: dict[str, Any]) -> None:
        uid = user["id"]
        del self.by_id[uid]
        del self.by_upn[user["userPrincipalName"].lower()]
        if user.get("mail"):
            self.by_mail.pop(user["mail"].lower(), None)
        index = bisect.bisect_left(self.ids, uid)
        del self.ids[index]
        self.version += 1

    def __len__(self) -> int:
        return len(self.by_id)


@dataclasses.dataclass
class Tenant:
    """One Entra tenant: its own properties as in the state file, plus its users."""

    id: str
    document: dict[str, Any]  # the state's tenant object without "users"
    users: UserStore
    applications: dict[str, dict[str, Any]]

    @property
    def display_name(self) -> str:
        return self.document.get("displayName") or self.id

    @property
    def domains(self) -> list[dict[str, Any]]:
        return self.document.get("domains") or []

    def verified_domain(self, name: str) -> bool:
        name = name.lower()
        return any(d.get("id", "").lower() == name and d.get("isVerified") for d in self.domains)


class Directory:
    """All tenants, found by id or by any of their domain names (as the authority accepts)."""

    def __init__(self) -> None:
        self.tenants: dict[str, Tenant] = {}
        self._by_name: dict[str, Tenant] = {}

    def load(self, state: Mapping[str, Any]) -> None:
        """Replace everything with `state`; raises ValueError (keeping the old one) if malformed."""
        if state.get("format") != STATE_FORMAT:
            raise ValueError(f"expected format {STATE_FORMAT!r}, got {state.get('format')!r}")
        tenants: dict[str, Tenant] = {}
        for raw in state.get("tenants") or []:
            if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
                raise ValueError("each tenant needs a string 'id'")
            document = {k: v for k, v in raw.items() if k != "users"}
            users = UserStore()
            users.load(raw.get("users") or [])
            apps = {a["appId"]: a for a in raw.get("applications") or []}
            tenants[raw["id"].lower()] = Tenant(raw["id"], document, users, apps)
        by_name = {}
        for tenant in tenants.values():
            for domain in tenant.domains:
                by_name[domain.get("id", "").lower()] = tenant
        self.tenants, self._by_name = tenants, by_name

    def export(self, *, users: bool = True) -> dict[str, Any]:
        """The state file's document; without `users`, each tenant's list of users empty."""
        tenants = []
        for tenant in self.tenants.values():
            ids = tenant.users.ids if users else []
            tenants.append({**tenant.document, "users": [tenant.users.by_id[uid] for uid in ids]})
        return {"format": STATE_FORMAT, "tenants": tenants}

    def tenant(self, key: str) -> Tenant | None:
        """A tenant by id or domain name, case-insensitively."""
        key = key.lower()
        return self.tenants.get(key) or self._by_name.get(key)

"""The Huma organisation held in memory: users indexed by id and by their unique keys, kept in
list order, with the ordered id lists of `GET /users` cached between pages.

Costs per request, so a 100,000-user snapshot stays linear: a detail is one dict lookup; a list
page slices a cached ordered id list. The base order (by name, id as tie-break) is maintained
with bisection on every write; the filtered lists are rebuilt lazily after a write (one pass over
the base order), never re-sorted.

A unique key held by one user (nearly all of them) is indexed by that user's id, not by a set of
one (a set costs about 200 bytes: 600 MB for the three keys of 1,000,000 users).
"""

from __future__ import annotations

import bisect
import dataclasses
import re
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from typing import Any

_PHONE_NOISE = re.compile(r"[^\d+]")


def sort_key(user: dict[str, Any]) -> tuple[str, str]:
    """Huma lists people by name (given name first, as it shows them), id as tie-break."""
    return (f"{user['givenName']} {user['familyName']}".casefold(), user["id"])


def email_key(email: str | None) -> str | None:
    return email.strip().casefold() if email and email.strip() else None


def phone_key(phone: str | None) -> str | None:
    """Phones are compared by digits and `+` only (`+47 912 34 567` = `+4791234567`)."""
    digits = _PHONE_NOISE.sub("", phone or "")
    return digits or None


def employment_id_key(employment_id: str | None) -> str | None:
    return employment_id.strip() if employment_id and employment_id.strip() else None


#: The unique keys of a user: name -> function of the record giving the compared value.
UNIQUE_KEYS: dict[str, Callable[[dict[str, Any]], str | None]] = {
    "email": lambda u: email_key(u["email"]),
    "phone": lambda u: phone_key(u["phone"]),
    "employmentId": lambda u: employment_id_key(u["employmentId"]),
}


@dataclasses.dataclass
class Organization:
    """Everything but the users: the organisation, its API keys, groups and job titles."""

    id: str
    name: str
    api_keys: dict[str, dict[str, Any]]
    groups: dict[str, dict[str, Any]]
    job_titles: dict[str, dict[str, Any]]


class UserStore:
    """All users of one organisation, with indexes and cached list orders.

    Records are kept in the state-file format (`records.check_user`). Every change goes through
    `put` or `delete`, which keep the indexes and the order right and drop the caches; a stored
    record is never changed in place (its old keys are needed to unindex it): put a changed copy.
    """

    def __init__(self, users: Iterable[dict[str, Any]]) -> None:
        self.users: dict[str, dict[str, Any]] = {}
        #: key name -> compared value -> the id of its one holder, or the set of its holders.
        self._index: dict[str, dict[str, str | set[str]]] = {name: {} for name in UNIQUE_KEYS}
        self._order: list[tuple[str, str]] = []
        self._lists: dict[Hashable, list[str]] = {}
        #: supervisor id -> ids of the users who name them (also for a supervisor not stored).
        self._reports: dict[str, set[str]] = {}
        order = []
        for user in users:
            if user["id"] in self.users:
                raise ValueError(f"user {user['id']} appears twice")
            self.users[user["id"]] = user
            self._index_user(user)
            order.append(sort_key(user))
        order.sort()
        self._order = order
        #: Told `(old, new)` after each change by `put` or `delete` (None for a side that is not
        #: there): the profile webhooks hang on it. The records loaded here are no change.
        self.on_change: Callable[[dict[str, Any] | None, dict[str, Any] | None], None] | None = None

    def __len__(self) -> int:
        return len(self.users)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.users.values())

    def get(self, user_id: str) -> dict[str, Any] | None:
        return self.users.get(user_id)

    def holders(self, key: str, value: str | None) -> set[str]:
        """Ids of the users whose unique key `key` ("email", "phone", "employmentId") is `value`
        (compared the way Huma compares it)."""
        normalise = {"email": email_key, "phone": phone_key, "employmentId": employment_id_key}
        compared = normalise[key](value)
        holders = self._index[key].get(compared) if compared else None
        if holders is None:
            return set()
        return {holders} if isinstance(holders, str) else set(holders)

    def subordinates(self, user_id: str) -> list[dict[str, Any]]:
        """The stored users whose supervisor is `user_id`, in list order."""
        found = [self.users[uid] for uid in self._reports.get(user_id, ()) if uid in self.users]
        return sorted(found, key=sort_key)

    def supervises(self, user_id: str) -> bool:
        """Whether any stored user names `user_id` as supervisor."""
        return any(uid in self.users for uid in self._reports.get(user_id, ()))

    def subordinate_count(self, user_id: str) -> int:
        """How many stored users name `user_id` as supervisor."""
        return sum(uid in self.users for uid in self._reports.get(user_id, ()))

    def supervisor_of(self, user: dict[str, Any]) -> dict[str, Any] | None:
        """The user's supervisor, or None when they have none or it is no longer stored."""
        supervisor = user.get("supervisor")
        return self.users.get(supervisor) if supervisor else None

    def is_above(self, user_id: str, other_id: str) -> bool:
        """Whether `user_id` is `other_id` or one of its supervisors, however far up the line
        (a state may hold a cycle: each user is visited once)."""
        seen: set[str] = set()
        current: str | None = other_id
        while current is not None and current not in seen:
            if current == user_id:
                return True
            seen.add(current)
            record = self.users.get(current)
            current = record.get("supervisor") if record is not None else None
        return False

    def put(self, user: dict[str, Any]) -> None:
        """Insert or replace a user record (already checked)."""
        old = self.users.get(user["id"])
        if old is not None:
            self._unindex_user(old)
            self._remove_from_order(old)
        self.users[user["id"]] = user
        self._index_user(user)
        bisect.insort(self._order, sort_key(user))
        self._lists.clear()
        if self.on_change is not None:
            self.on_change(old, user)

    def delete(self, user_id: str) -> dict[str, Any] | None:
        old = self.users.pop(user_id, None)
        if old is not None:
            self._unindex_user(old)
            self._remove_from_order(old)
            self._lists.clear()
            if self.on_change is not None:
                self.on_change(old, None)
        return old

    def ordered_ids(
        self,
        cache_key: Hashable,
        keep: Callable[[dict[str, Any]], bool] | None,
        *,
        descending: bool = False,
    ) -> Sequence[str]:
        """User ids in list order (or its reverse), only those `keep` accepts.

        Without a filter this is a view of the maintained order (a page costs its own length,
        even right after a write); a filtered list is cached under `cache_key` until the next
        write, so paging through a filter costs one pass in all.
        """
        if keep is None:
            return _OrderView(self._order, descending)
        ids = self._lists.get((cache_key, descending))
        if ids is None:
            users = self.users
            ids = [uid for _, uid in self._order if keep(users[uid])]
            if descending:
                ids.reverse()
            self._lists[(cache_key, descending)] = ids
        return ids

    def _index_user(self, user: dict[str, Any]) -> None:
        if user.get("supervisor"):
            self._reports.setdefault(user["supervisor"], set()).add(user["id"])
        for name, key_of in UNIQUE_KEYS.items():
            value = key_of(user)
            if value is None:
                continue
            index = self._index[name]
            holders = index.get(value)
            if holders is None:
                index[value] = user["id"]
            elif isinstance(holders, str):
                if holders != user["id"]:
                    index[value] = {holders, user["id"]}
            else:
                holders.add(user["id"])

    def _unindex_user(self, user: dict[str, Any]) -> None:
        reports = self._reports.get(user.get("supervisor") or "")
        if reports is not None:
            reports.discard(user["id"])
            if not reports:
                del self._reports[user["supervisor"]]
        for name, key_of in UNIQUE_KEYS.items():
            value = key_of(user)
            index = self._index[name]
            holders = index.get(value) if value is not None else None
            if holders is None:
                continue
            if isinstance(holders, str):
                if holders == user["id"]:
                    del index[value]
                continue
            holders.discard(user["id"])
            if len(holders) == 1:
                index[value] = next(iter(holders))

    def _remove_from_order(self, user: dict[str, Any]) -> None:
        key = sort_key(user)
        at = bisect.bisect_left(self._order, key)
        if at < len(self._order) and self._order[at] == key:
            del self._order[at]


class _OrderView(Sequence[str]):
    """The ids of a sorted `(key, id)` list, ascending or descending, without copying it."""

    def __init__(self, order: list[tuple[str, str]], descending: bool) -> None:
        self._order = order
        self._descending = descending

    def __len__(self) -> int:
        return len(self._order)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self._order)))]
        if self._descending:
            index = len(self._order) - 1 - index if index >= 0 else -1 - index
        return self._order[index][1]

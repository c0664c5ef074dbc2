"""The Huma emulator's user store, on its own: the index of each unique key finds every holder as
users come and go, and the list order is by name.

Pins: a key held by one, two, then one user again, then by none, is found with exactly its
holders (compared the way Huma compares it); the list order is by name whatever order the users
came in.
"""

from __future__ import annotations

from emulators.huma.store import UserStore
from tests.emulators.huma.conftest import _user


def test_a_shared_key_finds_each_holder_as_users_come_and_go() -> None:
    first = _user("Kari Nordmann", phone="+47 912 34 567")
    second = _user("Ola Nordmann", phone="+4791234567")
    store = UserStore([first])

    store.put(second)
    both = store.holders("phone", "+47 91 23 45 67")
    store.delete(first["id"])
    left = store.holders("phone", "+4791234567")
    store.put(second | {"phone": None})

    assert both == {first["id"], second["id"]}
    assert left == {second["id"]}
    assert store.holders("phone", "+4791234567") == set()
    assert store.holders("email", second["email"].upper()) == {second["id"]}


def test_the_list_order_is_by_name_whatever_order_the_users_came_in() -> None:
    people = [_user(n) for n in ("Ola Nordmann", "Anne Berg", "Kari Nordmann")]

    store = UserStore(iter(people))

    assert list(store.ordered_ids("all", None)) == [
        people[1]["id"],
        people[2]["id"],
        people[0]["id"],
    ]

"""What a case measures: the emulators' end state against a clean run's, and the writes the
emulators' request logs show applied more than once.

`changes_lost` counts the fields (and whole users) whose end value differs from the end value of
an uninterrupted run from the same start; `changes_applied_twice` counts successful writes of the
same change beyond the first (a `PATCH` of the same target with the same body, a `POST /users` of
the same account), inside `$batch` or not. Both come from the emulators, never from the product.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from tests.console_deployment import Deployment
from tests.resources.conftest import Outside, reset

#: Values an emulator draws for itself (ids of created users, time stamps, first passwords): not
#: part of what a run decides.
_DRAWN = frozenset({"id", "createdDateTime", "passwordProfile", "signInSessionsValidFromDateTime"})

EndState = dict[tuple[str, str], dict[str, Any]]


def end_state(outside: Outside) -> EndState:
    """Every user of both emulators now, by side and login (UPN or email, case-folded)."""
    state: EndState = {}
    for user in outside.entra.state()["tenants"][0]["users"]:
        fields = {k: v for k, v in user.items() if k not in _DRAWN}
        state["entra", user["userPrincipalName"].lower()] = fields
    for user in outside.huma.state()["users"]:
        state["huma", user["email"].lower()] = {k: v for k, v in user.items() if k != "id"}
    return state


def changes_lost(expected: EndState, actual: EndState) -> int:
    """Fields whose value differs from `expected`, plus users present on one side only."""
    lost = len(expected.keys() ^ actual.keys())
    for key in expected.keys() & actual.keys():
        want, got = expected[key], actual[key]
        lost += sum(1 for field in want.keys() | got.keys() if want.get(field) != got.get(field))
    return lost


def _write_key(entry: dict[str, Any]) -> tuple[str, str, str] | None:
    """What identifies a successful write's change, or None for anything else."""
    method, path, status, body = entry["method"], entry["path"], entry["status"], entry["body"]
    if path.endswith("$batch") or status is None or not 200 <= status < 300:
        return None
    if method == "PATCH":
        return method, path, orjson.dumps(body, option=orjson.OPT_SORT_KEYS).decode()
    if method == "POST" and path.rstrip("/").endswith("/users") and isinstance(body, dict):
        return method, path, str(body.get("userPrincipalName") or body.get("email"))
    return None


def applied_writes(outside: Outside) -> Counter[tuple[str, str, str]]:
    """Each change the emulators applied (since their logs were last cleared), with how often."""
    applied: Counter[tuple[str, str, str]] = Counter()
    for admin in (outside.entra, outside.huma):
        for entry in admin.requests():
            key = _write_key(entry)
            if key is not None:
                applied[key] += 1
    return applied


def changes_applied_twice(outside: Outside) -> int:
    """Successful writes beyond the first of each change, in both request logs."""
    return sum(count - 1 for count in applied_writes(outside).values())


#: Clean end states by scenario, made once per test process (the world and policy are fixed),
#: and the write requests (a `$batch` counts once) the clean run sent to Graph.
_CLEAN: dict[str, EndState] = {}
_CLEAN_GRAPH_WRITES: dict[str, int] = {}


def clean_end_state(
    outside: Outside, folder: Path, scenario: str, prepare: Callable[[Outside], None]
) -> EndState:
    """The end state of one uninterrupted console run from `scenario`'s start.

    The start is the generated world changed by `prepare`; the emulators are left at that start
    again, with empty request logs, for the case to run from. `folder` holds the clean run's own
    history (never the case's).
    """
    if scenario not in _CLEAN:
        reset(outside)
        prepare(outside)
        folder.mkdir(parents=True, exist_ok=True)
        Deployment(outside, folder).run()
        _CLEAN[scenario] = end_state(outside)
        _CLEAN_GRAPH_WRITES[scenario] = sum(
            1
            for e in outside.entra.requests(path_prefix="/v1.0/")
            if e["method"] != "GET" and e["parent"] is None
        )
    reset(outside)
    prepare(outside)
    return _CLEAN[scenario]


def the_world(outside: Outside) -> None:
    """The generated world as it is (a scenario's `prepare`)."""


def clean_graph_writes(scenario: str) -> int:
    """How many write requests the clean run of `scenario` sent to Graph (after
    `clean_end_state` made it)."""
    return _CLEAN_GRAPH_WRITES[scenario]

"""Ids from the other side never steer a request (SPEC §12): their shape is checked where they
enter, and every one is percent-encoded where it goes into a path.

Huma's ids are UUIDs (its Open API says `format: uuid`); Graph's object ids are GUIDs. An id of
another shape (`../auth/oauth/revoke`, `a?x#`) is never requested: the snapshot readers hold its
user out, with the reason these functions give.
"""

from __future__ import annotations

import re
import urllib.parse

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def huma_id_problem(value: object) -> str | None:
    """Why `value` cannot be a Huma user id (a UUID), or None when it can."""
    if isinstance(value, str) and _UUID.fullmatch(value):
        return None
    return f"the Huma id {value!r} is not a UUID: the user is never requested or written"


def graph_id_problem(value: object) -> str | None:
    """Why `value` cannot be a Graph object id (a GUID), or None when it can."""
    if isinstance(value, str) and _UUID.fullmatch(value):
        return None
    return f"the Entra object id {value!r} is not a GUID: the user is never requested or written"


def path_segment(value: str) -> str:
    """`value` as one path segment: every character that could end or climb out of it is
    percent-encoded (`/`, `?`, `#`, `%`, …), and a bare `.` or `..` cannot climb either."""
    if value in {".", ".."}:
        return value.replace(".", "%2E")
    return urllib.parse.quote(value, safe="")

"""Plain words for the engine's vocabulary, as the report shows them to administrators.

An unknown word (a new action the report does not know yet) is shown as it is, never dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from reconcile import vocabulary as v
from reconcile.mapping import MAPPING

ACTIONS: Final[Mapping[str, str]] = {
    v.UPDATE_ENTRA: "update in Entra ID",
    v.UPDATE_HUMA: "update in Huma",
    v.RESOLVE_CONFLICT: "conflict",
    v.CREATE_ENTRA: "create in Entra ID",
    v.CREATE_HUMA: "create in Huma",
    v.RECREATE_HUMA: "re-create in Huma",
}

STATUSES: Final[Mapping[str, str]] = {
    v.AUTO_APPROVED: "automatic",
    v.PENDING: "waiting for you",
    v.APPROVED: "approved",
    v.REJECTED: "rejected",
    v.BLOCKED: "blocked",
    v.STALE: "asked again",
    v.APPLIED: "applied",
    v.FAILED: "failed",
    v.ROLLED_BACK: "rolled back",
}

KINDS: Final[Mapping[str, str]] = {
    v.KIND_CONFLICT: "conflict: both sides changed",
    v.KIND_INCONSISTENCY: "inconsistency: the sides differ with no agreed value",
    v.KIND_MISSING_VALUE: "missing value",
    v.KIND_ENTRA_TO_HUMA: "Entra ID change into Huma",
    v.KIND_CREATE: "new user",
    v.KIND_RECREATE: "re-create a user deleted in Huma",
}

NOTICES: Final[Mapping[str, str]] = {
    v.NOTICE_LOCKED: "locked (deactivated in Huma)",
    v.NOTICE_DELETED_IN_HUMA: "deleted in Huma",
    v.NOTICE_DELETED_IN_ENTRA: "deleted in Entra ID",
    v.NOTICE_DISABLED_IN_ENTRA: "disabled in Entra ID",
    v.NOTICE_OUT_OF_SCOPE: "out of scope in Entra ID",
}

DIFFERENCES: Final[Mapping[str, str]] = {
    v.EMAIL_MISMATCH: "email mismatch",
    v.OUT_DRIFT: "drift",
}

GUARDS: Final[Mapping[str, str]] = {
    v.GUARD_MASS_CHANGE: "mass-change guard",
    v.GUARD_SNAPSHOT_SHRINK: "snapshot guard (the snapshot shrank)",
    v.GUARD_SNAPSHOT_PARTIAL: "snapshot guard (partial snapshot)",
}

DIRECTIONS: Final[Mapping[str, str]] = {
    v.HUMA_TO_ENTRA: "Huma → Entra ID",
    v.ENTRA_TO_HUMA: "Entra ID → Huma",
}

SIDES: Final[Mapping[str, str]] = {v.HUMA: "Huma", v.ENTRA: "Entra ID"}

#: The mapped fields, as the mapping names them for people (`reconcile.mapping`).
FIELDS: Final[Mapping[str, str]] = {entry.name: entry.label for entry in MAPPING}

#: Every table above by the name templates use it under (`{{ row.action | label("actions") }}`).
TABLES: Final[Mapping[str, Mapping[str, str]]] = {
    "actions": ACTIONS,
    "statuses": STATUSES,
    "kinds": KINDS,
    "notices": NOTICES,
    "differences": DIFFERENCES,
    "guards": GUARDS,
    "directions": DIRECTIONS,
    "sides": SIDES,
    "fields": FIELDS,
}


def label(word: str | None, table: str) -> str:
    """The plain words for `word` in the named table; the word itself when it has none.

    Raises:
        KeyError: When `table` is not one of `TABLES` (a typo in a template must not pass).
    """
    if word is None:
        return ""
    return TABLES[table].get(word, word)

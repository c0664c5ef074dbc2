"""The concrete writes of a plan: which system, which request, and how to tell it was applied.

A `PlannedWrite` is one request (or a create and its follow-up) built from one approved plan row
with the engine's body builders (`reconcile.bodies`). It carries what the journal records before
sending (the target's values before, the request without its password) and what verifying an
uncertain outcome needs (the target and the values it must hold once applied).
"""

from __future__ import annotations

import dataclasses
import json
import secrets
import string
from collections.abc import Mapping
from typing import Any, Literal

import polars as pl

from reconcile.bodies import (
    graph_create_body,
    graph_patch_body,
    huma_create_body,
    huma_create_followup_body,
    huma_patch_body,
)
from reconcile.vocabulary import (
    CREATE_ENTRA,
    CREATE_HUMA_ACTIONS,
    ENTRA_TO_HUMA,
    HUMA_TO_ENTRA,
    PATCH_ENTRA_ACTIONS,
    PATCH_HUMA_ACTIONS,
    WRITABLE_STATUSES,
)

System = Literal["graph", "huma"]
Operation = Literal["patch", "create"]
REDACTED = "<generated, not kept>"


@dataclasses.dataclass(frozen=True)
class PlannedWrite:
    """One change to send.

    Attributes:
        change_id: the plan row's id (the journal's key).
        system: where it goes.
        operation: `patch` an existing user or `create` one.
        target_id: the user patched (Entra object id or Huma id); None for a create.
        body: the request body (for a Graph create, with the generated password).
        followup: for a Huma create, the PATCH of what `POST /users` cannot take.
        lookup: for a create, how to find the user if it exists (UPN for Graph, email for Huma).
        before: the target's values before the change (the plan's `from_values`), for rollback.
    """

    change_id: str
    system: System
    operation: Operation
    target_id: str | None
    body: Mapping[str, Any]
    followup: Mapping[str, Any] | None = None
    lookup: str | None = None
    before: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def journal_request(self) -> dict[str, Any]:
        """The request as the journal keeps it: never the generated password."""
        body = dict(self.body)
        if "passwordProfile" in body:
            body["passwordProfile"] = {**body["passwordProfile"], "password": REDACTED}
        request: dict[str, Any] = {"body": body}
        if self.followup:
            request["followup"] = dict(self.followup)
        return request


def initial_password(length: int = 20) -> str:
    """A random password meeting Entra's complexity rules (forced to change at first sign-in)."""
    classes = (string.ascii_lowercase, string.ascii_uppercase, string.digits, "!#%*+-=?@^_~")
    while True:
        alphabet = "".join(classes)
        password = "".join(secrets.choice(alphabet) for _ in range(length))
        if all(any(c in group for c in password) for group in classes):
            return password


def planned_writes(
    plan: pl.DataFrame,
    *,
    huma_address_lines: Mapping[str, tuple[str, str]],
    huma_default_group_id: str | None,
) -> list[PlannedWrite]:
    """The writes of the plan's writable rows (`auto_approved`, `approved`), in plan order.

    Args:
        plan: the run's `sync_plan` (after guards and decisions).
        huma_address_lines: Huma id -> its current `homeAddress` line 2 and 3 (not mapped, so
            sent back unchanged when the address is written).
        huma_default_group_id: the group new Huma users join.

    Raises:
        ValueError: a writable row that cannot be written (the engine blocks those; this is a bug).
    """
    writes = []
    for row in plan.filter(pl.col("status").is_in(WRITABLE_STATUSES)).iter_rows(named=True):
        writes.append(_write(row, huma_address_lines, huma_default_group_id))
    return writes


def _write(
    row: Mapping[str, Any],
    lines: Mapping[str, tuple[str, str]],
    group_id: str | None,
) -> PlannedWrite:
    action, direction = row["action"], row["direction"]
    before = json.loads(row["from_values"] or "{}")
    change_id = row["change_id"]
    if action in PATCH_ENTRA_ACTIONS and direction == HUMA_TO_ENTRA:
        return PlannedWrite(
            change_id, "graph", "patch", row["entra_id"], graph_patch_body(row), before=before
        )
    if action in PATCH_HUMA_ACTIONS and direction == ENTRA_TO_HUMA:
        line2, line3 = lines.get(row["huma_id"], ("", ""))
        body = huma_patch_body(row, address_line2=line2, address_line3=line3)
        return PlannedWrite(change_id, "huma", "patch", row["huma_id"], body, before=before)
    if action == CREATE_ENTRA:
        body = graph_create_body(row, password=initial_password())
        return PlannedWrite(
            change_id,
            "graph",
            "create",
            None,
            body,
            lookup=body["userPrincipalName"],
            before=before,
        )
    if action in CREATE_HUMA_ACTIONS:
        if not group_id:
            raise ValueError(f"plan row {change_id}: a create in Huma needs a default group")
        body = huma_create_body(row, group_id=group_id)
        followup = huma_create_followup_body(row) or None
        return PlannedWrite(
            change_id,
            "huma",
            "create",
            None,
            body,
            followup=followup,
            lookup=body["email"],
            before=before,
        )
    raise ValueError(f"plan row {change_id}: {action} toward {direction} is not writable")

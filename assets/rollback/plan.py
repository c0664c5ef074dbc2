"""The inverse of a run's applied changes, from the journal: what to restore, and whether it may be.

Pure (frames and mappings in, dataclasses out). A journal row of an applied PATCH holds `before`
(the target's values of the fields written, canonical per unit, as the plan had them; a unit left
out was empty) and `after` (the request body as applied, in the target's API properties). Its
inverse is a PATCH of the same properties back to `before`, built with the engine's own body
builders. It may be sent only while the target still holds `after` (`judge`): a value that moved
since belongs to someone else now and is left alone. A partly applied PATCH (Graph refused the
hire date, the rest went through) is undone for what was applied. Creates are never undone:
nothing is ever deleted (SPEC §6).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from typing import Any, Final, Literal

import polars as pl

from reconcile.bodies import graph_parts, graph_patch_body, huma_parts, huma_patch_body
from reconcile.mapping import BY_NAME, DATE, MAPPING, OBJECT
from reconcile.vocabulary import ENTRA_TO_HUMA, HUMA_TO_ENTRA, UPDATE_ENTRA, UPDATE_HUMA

GRAPH: Final = "graph"
HUMA: Final = "huma"
#: The field each API property writes (the address is four Graph properties, one Huma property).
PROPERTY_UNITS: Final = {
    GRAPH: {prop: entry.name for entry in MAPPING for prop in entry.graph},
    HUMA: {entry.huma.path: entry.name for entry in MAPPING if entry.huma_write is not None},
}
NEVER_DELETED: Final = "a created user is never deleted (nothing is ever deleted)"

Verdict = Literal["restore", "already_restored", "moved", "gone"]


@dataclasses.dataclass(frozen=True)
class Restore:
    """One applied PATCH and the PATCH that undoes it.

    Attributes:
        change_id / step: the journal key of the change undone.
        system: `graph` or `huma`.
        target_id: the user patched (Entra object id or Huma id).
        units: the fields (units) the change wrote.
        before: unit → the value the target held before the run (canonical; None = empty).
        written: the properties the run wrote, as applied (its journal `after`).
        body: the properties to send back: `written`'s keys with the `before` values.
        huma_id: the Huma user of the linked pair (the baseline's key), when known.
        email: the user's email key, for people reading the plan.
    """

    change_id: str
    step: int
    system: str
    target_id: str
    units: tuple[str, ...]
    before: Mapping[str, Any]
    written: Mapping[str, Any]
    body: Mapping[str, Any]
    huma_id: str | None
    email: str | None


@dataclasses.dataclass(frozen=True)
class NotUndone:
    """A change of the run that a rollback leaves as it is, and why."""

    change_id: str
    system: str
    operation: str
    target_id: str | None
    email: str | None
    why: str


@dataclasses.dataclass(frozen=True)
class Judged:
    """A restore, judged against what its target holds now.

    Attributes:
        verdict: `restore` (the target still holds what the run wrote), `already_restored` (it
            holds the values from before the run again), `moved` (someone changed it since),
            `gone` (the user no longer exists).
        moved: for `moved`, each property that differs: (property, what the run wrote, now).
    """

    restore: Restore
    verdict: Verdict
    moved: tuple[tuple[str, Any, Any], ...] = ()


def units_of(system: str, properties: Mapping[str, Any]) -> tuple[str, ...]:
    """The units a body writes, in the engine's order."""
    written = {PROPERTY_UNITS[system].get(prop) for prop in properties}
    return tuple(entry.name for entry in MAPPING if entry.name in written)


def restore_body(
    system: str, before: Mapping[str, Any], written: Mapping[str, Any]
) -> dict[str, Any]:
    """The body that writes `before` back over exactly the properties `written` set."""
    values = {unit: before.get(unit) for unit in units_of(system, written)}
    if system == GRAPH:
        row = {"action": UPDATE_ENTRA, "direction": HUMA_TO_ENTRA, "to_values": json.dumps(values)}
        body = graph_patch_body(row)
    else:
        row = {"action": UPDATE_HUMA, "direction": ENTRA_TO_HUMA, "to_values": json.dumps(values)}
        lines = written.get("homeAddress") or {}  # line 2 and 3 are not mapped: as sent
        body = huma_patch_body(
            row, address_line2=lines.get("line2") or "", address_line3=lines.get("line3") or ""
        )
    return {prop: body[prop] for prop in written if prop in body}


def written_units(system: str, written: Mapping[str, Any]) -> dict[str, Any]:
    """What a body wrote, per unit, in canonical form (empty = None): the values a rollback
    finds before it writes, and what its own journal keeps as `before`."""
    units: dict[str, Any] = {}
    for unit in units_of(system, written):
        entry = BY_NAME[unit]
        if entry.value == OBJECT:
            if system == GRAPH:
                parts = {key: written.get(prop) for key, prop in graph_parts(entry).items()}
            else:
                held = written.get(entry.huma.path) or {}
                parts = {key: held.get(part) for key, part in huma_parts(entry).items()}
            parts = {key: value or None for key, value in sorted(parts.items())}
            units[unit] = parts if any(parts.values()) else None
            continue
        prop = entry.graph[0] if system == GRAPH else entry.huma.path
        value = written.get(prop) or None
        units[unit] = value[:10] if entry.value == DATE and value else value
    return units


def canonical_text(unit: str, value: Any) -> str | None:
    """A unit's value as the baseline keeps it (`reconcile.fields`: the address as compact
    JSON with sorted keys)."""
    if value is None:
        return None
    if BY_NAME[unit].value == OBJECT:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return str(value)


def rollback_plan(
    journal: pl.DataFrame, plan: pl.DataFrame, links: pl.DataFrame
) -> tuple[list[Restore], list[NotUndone]]:
    """What undoing a run means, change by change, in the order the run sent them.

    Args:
        journal: The run's journal rows (`resources.history.JOURNAL_SCHEMA`), every status.
        plan: The run's `sync_plan` (`change_id`, `huma_id`, `email_key`); empty for a run
            without one (a rollback run).
        links: The connection's links (`huma_id`, `entra_id`), to find a Graph target's Huma id.

    Returns:
        The restores (applied PATCHes, and the applied part of a partly failed one), and the
        changes never undone (creates).
    """
    by_change = {row["change_id"]: row for row in plan.iter_rows(named=True)}
    huma_of_entra = dict(zip(links["entra_id"], links["huma_id"], strict=True))
    restores, kept = [], []
    for row in journal.iter_rows(named=True):
        if row["after"] is None or row["status"] not in ("applied", "failed"):
            continue  # nothing reached the target (the run's open intents are refused earlier)
        planned = by_change.get(row["change_id"], {})
        email = planned.get("email_key")
        if row["operation"] != "patch":
            target = row["target_id"] or row["created_id"]
            kept.append(
                NotUndone(
                    row["change_id"], row["system"], row["operation"], target, email, NEVER_DELETED
                )
            )
            continue
        written = json.loads(row["after"])
        before = json.loads(row["before"] or "{}")
        huma_id = planned.get("huma_id") or (
            row["target_id"] if row["system"] == HUMA else huma_of_entra.get(row["target_id"])
        )
        units = units_of(row["system"], written)
        restores.append(
            Restore(
                change_id=row["change_id"],
                step=row["step"],
                system=row["system"],
                target_id=row["target_id"],
                units=units,
                before={unit: before.get(unit) for unit in units},
                written=written,
                body=restore_body(row["system"], before, written),
                huma_id=huma_id,
                email=email,
            )
        )
    return restores, kept


def _same(system: str, expected: Any, now: Any) -> bool:
    if isinstance(expected, Mapping) or isinstance(now, Mapping):  # Huma's homeAddress
        if expected is None or now is None:
            return expected is None and now is None
        return all((now.get(k) or "") == (v or "") for k, v in expected.items())
    if system == HUMA:  # Huma's strings come back without a value when empty; sent as ""
        return (expected or "") == (now or "")
    return expected == now


def judge(restore: Restore, current: Mapping[str, Any] | None) -> Judged:
    """Whether `restore` may be sent, given the target's current properties (None: gone).

    Args:
        restore: The planned restore.
        current: Property → value now, for at least the properties the run wrote.

    Returns:
        `restore` while every written property is as the run left it; `already_restored` when
        they all hold the values from before the run; otherwise `moved`, naming what differs.
    """
    if current is None:
        return Judged(restore, "gone")
    if all(_same(restore.system, restore.body[p], current.get(p)) for p in restore.body):
        return Judged(restore, "already_restored")
    moved = tuple(
        (prop, value, current.get(prop))
        for prop, value in restore.written.items()
        if not _same(restore.system, value, current.get(prop))
    )
    return Judged(restore, "moved", moved) if moved else Judged(restore, "restore")


def baseline_resets(
    kept: pl.DataFrame, restored: Sequence[Restore], schema: pl.Schema
) -> pl.DataFrame:
    """The baseline rows of the restored fields, reset to "no agreed value yet".

    After a rollback the two systems no longer agree on these fields, and the value the run
    made them agree on was just undone: keeping it as B would make the next run push the undone
    value again (or pull the old one back, as "changed on the other side"). Without B the next
    run treats each field as a first-sync inconsistency, settled by the connection's initial
    direction (by default, a person). The restored side's last-seen value is what the rollback
    left there.

    Args:
        kept: The current baseline rows of the users concerned (`BASELINE_SCHEMA`).
        restored: The restores that were applied.
        schema: `reconcile.state.BASELINE_SCHEMA`.

    Returns:
        The rows to write (`schema`), one per restored user and field that has a baseline row.
    """
    seen = {}
    for restore in restored:
        column = "entra_seen" if restore.system == GRAPH else "huma_seen"
        for unit in restore.units:
            seen[(restore.huma_id, unit)] = (column, canonical_text(unit, restore.before[unit]))
    rows = []
    for row in kept.iter_rows(named=True):
        found = seen.get((row["huma_id"], row["field"]))
        if found is None:
            continue
        column, value = found
        rows.append({**row, "has_agreed": False, "agreed": None, column: value})
    return pl.DataFrame(rows, schema=schema)

"""How the `rollback` command shows its plan and its result to a person. Pure: text out.

Emails, ids, values and remote errors come from Huma and Entra: they are shown `printable`, so
no escape sequence reaches the terminal and no line is forged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from assets.printable import printable
from cli.decision_views import shown_value

if TYPE_CHECKING:
    import polars as pl

    from assets.rollback.execute import RollbackRun
    from assets.rollback.plan import Judged, NotUndone, Restore
    from resources.history import RunRecord

_SYSTEM = {"graph": "Entra", "huma": "Huma"}


def earlier_rollbacks(runs: pl.DataFrame, record: RunRecord) -> list[dict[str, Any]]:
    """The rollback runs of `record` already in the history (`HistoryStore.runs` rows)."""
    return [row for row in runs.iter_rows(named=True) if row["rollback_of"] == record.run_id]


def _who(item: Restore | NotUndone) -> str:
    return item.email or item.target_id or "?"


def _change(restore: Restore) -> str:
    from assets.rollback.plan import written_units

    now = written_units(restore.system, restore.written)
    return "; ".join(
        f"{unit}: {shown_value(unit, now.get(unit))} → {shown_value(unit, restore.before[unit])}"
        for unit in restore.units
    )


def _moved(judged: Judged) -> str:
    if judged.verdict == "gone":
        return "the user no longer exists"
    return "value moved since: " + "; ".join(
        f"{prop} was written as {wrote!r}, now {now!r}" for prop, wrote, now in judged.moved
    )


def _line(system: str, who: str, text: str, change_id: str) -> str:
    who, text = printable(who), printable(text)
    return f"  {_SYSTEM.get(system, system):<6} {who:<34} {text}  (change {change_id[:12]})"


def plan_text(
    record: RunRecord,
    judged: Sequence[Judged],
    not_undone: Sequence[NotUndone],
    earlier: Sequence[dict[str, Any]],
) -> str:
    """The rollback plan: restored, already as before, refused (and why), never undone."""
    started = record.started_at.strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"Rollback of run {record.run_id} ({record.mode} run of {started}, connection "
        f"{record.connection})"
    ]
    for run in earlier:
        when = run["started_at"].strftime("%Y-%m-%d %H:%M UTC")
        if run["ended_at"] is None:
            lines.append(
                f"  Interrupted rollback run {run['run_id']} of {when}: finished first (its "
                "writes re-read, its rows marked, its fields' agreed values reset)."
            )
            continue
        lines.append(f"  Already rolled back by run {run['run_id']} of {when} ({run['outcome']}).")
    groups = (
        ("Will restore (the systems still hold what the run wrote):", ("restore",)),
        ("Already as before the run (nothing to do):", ("already_restored",)),
        ("Refused, left as they are:", ("moved", "gone")),
    )
    for title, verdicts in groups:
        chosen = [j for j in judged if j.verdict in verdicts]
        if not chosen:
            continue
        lines.append(title)
        for j in chosen:
            r = j.restore
            if j.verdict == "restore":
                text = _change(r)
            elif j.verdict == "already_restored":
                text = "; ".join(f"{u}: {shown_value(u, r.before[u])}" for u in r.units)
            else:
                text = _moved(j)
            lines.append(_line(r.system, _who(r), text, r.change_id))
    if not_undone:
        lines.append("Not undone:")
        for item in not_undone:
            text = f"{item.operation}d {item.target_id or ''}: {item.why}"
            lines.append(_line(item.system, _who(item), text, item.change_id))
    if not judged and not not_undone:
        lines.append("The run applied no change.")
    return "\n".join(lines)


def result_text(done: RollbackRun) -> str:
    """What the rollback run did, and what the next run will make of it."""
    restored = len(done.results) - len(done.failed)
    lines = [
        f"Rollback run {done.run_id} (in the history, mode rollback): restored {restored} "
        f"change(s)."
    ]
    for failure in done.failed:
        lines.append(f"  FAILED {failure.change_id[:12]}: {printable(failure.error or '')}")
    for j in done.judged:
        if j.verdict in ("moved", "gone"):
            lines.append(_line(j.restore.system, _who(j.restore), _moved(j), j.restore.change_id))
    if done.baseline_reset:
        lines.append(
            f"The {done.baseline_reset} restored field(s) no longer have an agreed value: the next "
            "run treats them as first-sync inconsistencies, settled by the connection's initial "
            "direction (by default, a person decides)."
        )
    return "\n".join(lines)

"""How the `decisions` command shows plan rows awaiting a person: a table for people, JSON for
scripts. Pure: rows in (`resources.history.PENDING_DECISIONS_SCHEMA` plus `latest_comment`),
text out. Names and values come from Huma and Entra: the table shows them `printable` (no escape
sequence reaches the terminal), the JSON keeps them whole with every control character escaped.
In the table a user reference (the manager, an Entra object id) reads as the person's email with
the id beside it, as in the report (`assets.report.values.person_text`); the JSON keeps the ids.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from assets.printable import CONTROL_CHARACTERS, printable
from assets.report.values import REFERENCE_FIELDS, person_text
from reconcile.vocabulary import RESOLVE_CONFLICT

#: Shown ids are cut to this many characters; any unique prefix of at least `MIN_ID_PREFIX`
#: characters selects a row.
SHORT_ID: Final = 12
MIN_ID_PREFIX: Final = 6
_CELL_WIDTH: Final = {"HUMA": 30, "ENTRA": 30, "FIELDS": 24, "USER": 32, "REASON": 60}
_HEADERS: Final = ("ID", "KIND", "STATUS", "USER", "FIELDS", "HUMA", "ENTRA", "DECIDED", "REASON")
_CONTROL: Final = re.compile(f"[{CONTROL_CHARACTERS}]")


def shown_value(field: str, value: Any) -> str:
    """One field's value as a person reads it (the address as one line)."""
    if value is None:
        return "(empty)"
    if isinstance(value, Mapping):
        parts = [value.get("line1"), f"{value.get('postal_code') or ''} {value.get('city') or ''}"]
        parts.append(value.get("country"))
        return ", ".join(p.strip() for p in parts if p and p.strip())
    return str(value)


def shown_values(
    fields: Sequence[str], values_json: str | None, people: Mapping[str, str] | None = None
) -> str:
    """A row's values of its fields: the bare value for one field, `field: value; …` for more;
    a user reference as `email (object id)` when `people` (object id → email) knows it."""
    values = json.loads(values_json) if values_json else {}
    if not isinstance(values, Mapping):
        return "(none)"

    def named(field: str, value: Any) -> Any:
        return person_text(value, people) if people and field in REFERENCE_FIELDS else value

    shown = [(f, shown_value(f, named(f, values.get(f)))) for f in fields]
    if len(shown) == 1:
        return shown[0][1]
    return "; ".join(f"{field}: {value}" for field, value in shown)


def shown_decision(row: Mapping[str, Any]) -> str:
    """The decision recorded since the run, if any (it takes effect on the next run)."""
    verdict = row.get("latest_verdict")
    if verdict is None:
        return ""
    winner = f" ({row['latest_winner']} wins)" if row.get("latest_winner") else ""
    when = row["latest_decided_at"].strftime("%Y-%m-%d %H:%M")
    return f"{verdict}{winner} by {row['latest_decided_by']}, {when} UTC"


def _cut(text: str, width: int | None) -> str:
    text = " ".join(printable(text).split())
    if width is None or len(text) <= width:
        return text
    return text[: width - 1] + "…"


def table(rows: Iterable[Mapping[str, Any]], people: Mapping[str, str] | None = None) -> str:
    """The rows as an aligned text table (long cells cut with `…`; JSON shows them whole);
    `people` maps Entra object ids to emails, for the user references among the values."""
    cells = []
    for row in rows:
        fields = list(row["fields"] or [])
        cells.append(
            {
                "ID": row["change_id"][:SHORT_ID],
                "KIND": row["decision_kind"] or "",
                "STATUS": row["status"],
                "USER": row["email_key"] or row["huma_id"] or row["entra_id"] or "",
                "FIELDS": ", ".join(fields),
                "HUMA": shown_values(fields, row["huma_values"], people),
                "ENTRA": shown_values(fields, row["entra_values"], people),
                "DECIDED": shown_decision(row),
                "REASON": row["reason"] or "",
            }
        )
    cut = [{h: _cut(c[h], _CELL_WIDTH.get(h)) for h in _HEADERS} for c in cells]
    widths = {h: max([len(h), *(len(c[h]) for c in cut)]) for h in _HEADERS}
    lines = ["  ".join(h.ljust(widths[h]) for h in _HEADERS).rstrip()]
    lines += ["  ".join(c[h].ljust(widths[h]) for h in _HEADERS).rstrip() for c in cut]
    return "\n".join(lines)


def as_json(rows: Iterable[Mapping[str, Any]]) -> str:
    """The rows as a JSON array for scripts: every value whole, values as JSON objects."""

    def parsed(text: str | None) -> Any:
        return json.loads(text) if text else None

    items = [
        {
            "change_id": row["change_id"],
            "run_id": row["run_id"],
            "kind": row["decision_kind"],
            "action": row["action"],
            "status": row["status"],
            "email": row["email_key"],
            "huma_id": row["huma_id"],
            "entra_id": row["entra_id"],
            "fields": list(row["fields"] or []),
            "huma_values": parsed(row["huma_values"]),
            "entra_values": parsed(row["entra_values"]),
            "direction": row["direction"],
            "reason": row["reason"],
            "blocked_reason": row["blocked_reason"],
            "needs_winner": row["action"] == RESOLVE_CONFLICT,
            "decided_since": None
            if row["latest_verdict"] is None
            else {
                "verdict": row["latest_verdict"],
                "winner": row["latest_winner"],
                "decided_at": row["latest_decided_at"].isoformat(),
                "decided_by": row["latest_decided_by"],
                "comment": row.get("latest_comment"),
            },
        }
        for row in rows
    ]
    text = json.dumps(items, indent=2, ensure_ascii=False)
    # `json` escapes the C0 controls inside strings (a line feed left is the layout's); DEL, C1
    # and the bidi controls are escaped here the same way: they occur only inside strings, so
    # every value decodes exactly as it was.
    return _CONTROL.sub(_json_escape, text)


def _json_escape(match: re.Match[str]) -> str:
    character = match.group()
    return character if character == "\n" else f"\\u{ord(character):04x}"

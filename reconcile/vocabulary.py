"""The words the engine writes into its frames: directions, actions, statuses, cases, kinds.

They are plain strings (not enums) so the frames persist to DuckDB and read back without casts;
the constants keep every producer and consumer spelling them the same way.
"""

from __future__ import annotations

from typing import Final

# Directions of a write. `ASK` is only a policy value: "a person chooses".
HUMA_TO_ENTRA: Final = "huma_to_entra"
ENTRA_TO_HUMA: Final = "entra_to_huma"
ASK: Final = "ask"

# The sides, as named in validation failures, decisions (`winner`) and the Huma/Entra value columns.
HUMA: Final = "huma"
ENTRA: Final = "entra"

# Plan actions. None of them deletes or deactivates anything (SPEC §6).
UPDATE_ENTRA: Final = "update_entra"  # PATCH the linked Entra user with Huma's values
UPDATE_HUMA: Final = "update_huma"  # PATCH the linked Huma user with Entra's values
RESOLVE_CONFLICT: Final = "resolve_conflict"  # two-way field: a person names the winning side
CREATE_ENTRA: Final = "create_entra"  # POST a Huma-only user to Graph
CREATE_HUMA: Final = "create_huma"  # POST an Entra-only user to Huma (then PATCH the rest)
RECREATE_HUMA: Final = "recreate_huma"  # like create_huma, for a linked user deleted in Huma
ACTIONS: Final = (
    UPDATE_ENTRA,
    UPDATE_HUMA,
    RESOLVE_CONFLICT,
    CREATE_ENTRA,
    CREATE_HUMA,
    RECREATE_HUMA,
)
PAIR_ACTIONS: Final = (UPDATE_ENTRA, UPDATE_HUMA, RESOLVE_CONFLICT)  # rows of a linked pair
CREATE_ACTIONS: Final = (CREATE_ENTRA, CREATE_HUMA, RECREATE_HUMA)  # rows creating a user
# Rows that PATCH a linked user, by the side written (a conflict writes the side that lost).
PATCH_ENTRA_ACTIONS: Final = (UPDATE_ENTRA, RESOLVE_CONFLICT)
PATCH_HUMA_ACTIONS: Final = (UPDATE_HUMA, RESOLVE_CONFLICT)
CREATE_HUMA_ACTIONS: Final = (CREATE_HUMA, RECREATE_HUMA)  # rows creating a user in Huma

# Plan statuses. The engine emits the first six; the apply step records the last two; a
# rollback records ROLLED_BACK on the rows whose writes it restored.
AUTO_APPROVED: Final = "auto_approved"
PENDING: Final = "pending"
APPROVED: Final = "approved"
REJECTED: Final = "rejected"
BLOCKED: Final = "blocked"
STALE: Final = "stale"
APPLIED: Final = "applied"
FAILED: Final = "failed"
ROLLED_BACK: Final = "rolled_back"
STATUSES: Final = (
    AUTO_APPROVED,
    PENDING,
    APPROVED,
    REJECTED,
    BLOCKED,
    STALE,
    APPLIED,
    FAILED,
    ROLLED_BACK,
)
#: Rows the apply step writes.
WRITABLE_STATUSES: Final = (AUTO_APPROVED, APPROVED)
#: Rows a person is asked to decide (a stale row is asked again, exactly like a pending one).
AWAITING_DECISION: Final = (PENDING, STALE)

# Why a row needs a person (`decision_kind`), set whether or not the row is blocked.
KIND_CONFLICT: Final = "conflict"
KIND_INCONSISTENCY: Final = "inconsistency"
KIND_MISSING_VALUE: Final = "missing_value"
KIND_ENTRA_TO_HUMA: Final = "entra_to_huma"
KIND_CREATE: Final = "create"
KIND_RECREATE: Final = "recreate"

# The cases of the SPEC §5 table, plus the email mismatch of a linked pair (SPEC §4).
IN_SYNC: Final = "in_sync"
HUMA_CHANGED: Final = "huma_changed"
ENTRA_CHANGED: Final = "entra_changed"
BOTH_CHANGED: Final = "both_changed"
FIRST_SYNC: Final = "first_sync"
MISSING_VALUE: Final = "missing_value"
EMAIL_MISMATCH: Final = "email_mismatch"

# What the engine does about a differing field once the direction rules of §3 are applied.
OUT_WRITE_ENTRA: Final = "write_entra"
OUT_WRITE_HUMA: Final = "write_huma"
OUT_ASK: Final = "ask"  # a two-way field a person must settle (conflict or inconsistency)
OUT_DRIFT: Final = "drift"  # a one-way field differs the wrong way round: reported, never written
OUT_POSITION_RECORDED: Final = "position_recorded"  # first sight of a position field: recorded
OUT_POSITION_NOT_PUSHED: Final = "position_not_pushed"  # unchanged since activation: not pushed
OUT_REPORT_ONLY: Final = "report_only"  # email mismatch: email is never written

# Notices: users the plan leaves alone on purpose, for the report (SPEC §6, §8).
NOTICE_LOCKED: Final = "locked_in_huma"
NOTICE_DELETED_IN_HUMA: Final = "deleted_in_huma"
NOTICE_DELETED_IN_ENTRA: Final = "deleted_in_entra"
NOTICE_DISABLED_IN_ENTRA: Final = "disabled_in_entra"
NOTICE_OUT_OF_SCOPE: Final = "out_of_scope_in_entra"

# Guards (SPEC §7); the same names are what `RunContext.guard_overrides` accepts.
GUARD_MASS_CHANGE: Final = "mass_change"
GUARD_SNAPSHOT_SHRINK: Final = "snapshot_shrink"
GUARD_SNAPSHOT_PARTIAL: Final = "snapshot_partial"
GUARDS: Final = (GUARD_MASS_CHANGE, GUARD_SNAPSHOT_SHRINK, GUARD_SNAPSHOT_PARTIAL)

# A person's verdict on a plan row (the decisions frame).
APPROVE: Final = "approve"
REJECT: Final = "reject"

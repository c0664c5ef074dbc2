"""What became of each write, and the frame the report, the history and the next state read."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any, Final, Literal

import polars as pl

from reconcile.outputs import APPLY_OUTCOMES_SCHEMA

#: One row per plan row the apply step attempted: the engine's `APPLY_OUTCOMES_SCHEMA` (what
#: `next_state` reads) plus the remote error's status, code and request id for the report.
APPLY_RESULTS_SCHEMA: Final = pl.Schema(
    {
        **APPLY_OUTCOMES_SCHEMA,
        "remote_status": pl.Int64(),
        "remote_code": pl.String(),
        "request_id": pl.String(),
        "note": pl.String(),
    }
)


@dataclasses.dataclass(frozen=True)
class WriteResult:
    """The outcome of one write.

    Attributes:
        status: `applied` (the change is in the target now) or `failed`.
        created_id: the new (or found existing) user's id, for a create.
        after: the values the target holds for the fields written, once applied.
        error / remote_status / remote_code / request_id: the remote error of a failure.
        note: how the outcome was established when it was not a plain answer ("already existed:
            linked", "verified by re-reading after a lost answer", ...).
    """

    change_id: str
    status: Literal["applied", "failed"]
    created_id: str | None = None
    after: Mapping[str, Any] | None = None
    error: str | None = None
    remote_status: int | None = None
    remote_code: str | None = None
    request_id: str | None = None
    note: str | None = None


def results_frame(results: Iterable[WriteResult]) -> pl.DataFrame:
    """The results as `APPLY_RESULTS_SCHEMA`."""
    rows = [
        {name: getattr(result, name) for name in APPLY_RESULTS_SCHEMA.names()} for result in results
    ]
    return pl.DataFrame(rows, schema=APPLY_RESULTS_SCHEMA)

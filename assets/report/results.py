"""`APPLY_RESULTS_SCHEMA`: what the apply step reports per change, as the report reads it."""

from __future__ import annotations

from typing import Final

import polars as pl

from reconcile.outputs import APPLY_OUTCOMES_SCHEMA

#: One row per plan row the apply step attempted. The engine's `APPLY_OUTCOMES_SCHEMA`
#: (`change_id`; `status` `applied`/`failed`; `created_id` of a create; `error`, the remote
#: error's text) plus, for the report and the history: `remote_status` (the HTTP status, null when
#: no answer came), `remote_code` (the service's own error code), `request_id` (to quote to the
#: vendor's support) and `note` (how an outcome was established when it was not a plain answer,
#: e.g. "already existed: linked"). The apply step's `assets.apply.results` builds exactly this
#: frame; the report also accepts a frame with only the engine's columns.
APPLY_RESULTS_SCHEMA: Final = pl.Schema(
    {
        **APPLY_OUTCOMES_SCHEMA,
        "remote_status": pl.Int64(),
        "remote_code": pl.String(),
        "request_id": pl.String(),
        "note": pl.String(),
    }
)

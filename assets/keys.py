"""Names that tie assets, resources, jobs and schedules together, spelled in one place.

Every connection gets its own copy of the asset graph under its name (`fjordline/sync_plan`), its
own group in the UI, its own job and schedule, and its own Huma and Graph resources; the history
database, the mail relay and the report settings are shared by the deployment.
"""

from __future__ import annotations

#: Asset names, in the order data flows (STYLE: source first, grain in the docstring).
HUMA_USERS_RAW = "huma_users_raw"
ENTRA_USERS_RAW = "entra_users_raw"
HUMA_USERS = "huma_users"
ENTRA_USERS = "entra_users"
VALIDATION_FAILURES = "validation_failures"
USER_LINKS = "user_links"
FIELD_DIFFS = "field_diffs"
CONFLICTS = "conflicts"
SYNC_PLAN = "sync_plan"
APPLIED_CHANGES = "applied_changes"
SYNC_REPORT = "sync_report"

#: An input's metadata key naming the one attribute of the upstream value its step takes
#: (`dg.AssetIn(metadata={INPUT_PART: "raw"})`, honoured by the run's IO manager).
INPUT_PART = "part"

#: Shared resources.
HISTORY = "history"
SMTP = "smtp"
REPORTS = "reports"


def huma_resource_key(connection: str) -> str:
    """The key of a connection's `HumaResource`."""
    return f"huma_{connection}"


def graph_resource_key(connection: str) -> str:
    """The key of a connection's `GraphResource`."""
    return f"graph_{connection}"


def recipients_resource_key(connection: str) -> str:
    """The key of a connection's report recipients (`assets.sync_report.RecipientsResource`)."""
    return f"recipients_{connection}"


def job_name(connection: str) -> str:
    """The name of a connection's nightly job (what its schedule and `run` execute)."""
    return f"sync_{connection}"


def targeted_job_name(connection: str) -> str:
    """The name of a connection's targeted job: the same assets, reading only the users Huma's
    webhooks named (what its webhook sensor launches)."""
    return f"targeted_{connection}"

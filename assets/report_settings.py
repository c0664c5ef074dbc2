"""Where reports go: the folder that keeps them, the Dagster UI link, and each connection's
recipients (Dagster resources; the addresses may come from the environment)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg


class ReportsResource(dg.ConfigurableResource):
    """Shared by every connection: where report files are kept and how to link to a run."""

    folder: str = "var/reports"
    #: The Dagster UI's base URL (e.g. `https://dagster.example.com`), for a link to the run.
    dagster_url: str | None = None

    def run_folder(self, connection: str, run_id: str) -> Path:
        """The folder that keeps a run's report files."""
        return Path(self.folder) / connection / run_id

    def run_url(self, run_id: str) -> str | None:
        """The run's page in the Dagster UI, when the UI's URL is configured."""
        return f"{self.dagster_url.rstrip('/')}/runs/{run_id}" if self.dagster_url else None


class RecipientsResource(dg.ConfigurableResource):
    """One connection's report addresses."""

    #: Comma-separated addresses; empty means the report is only kept as a file.
    recipients: str = ""
    sender: str = "huma-entra-sync@localhost"

    def addresses(self) -> list[str]:
        return [a.strip() for a in self.recipients.split(",") if a.strip()]

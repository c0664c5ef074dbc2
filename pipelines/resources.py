"""The production resources of a deployment, wired from its connections and the environment.

Secrets reach resources only as `dg.EnvVar`s, resolved when a run starts, never at import.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import dagster as dg

from assets.keys import (
    HISTORY,
    REPORTS,
    SMTP,
    graph_resource_key,
    huma_resource_key,
    recipients_resource_key,
)
from assets.sync_report import RecipientsResource, ReportsResource
from pipelines.connections import Connection, Setting
from resources.graph import GraphResource
from resources.graph_auth import SECRET_SETTING
from resources.history import HistoryResource
from resources.huma import HumaResource
from resources.smtp import SmtpResource

DEFAULT_HISTORY_DB_PATH = "var/history.duckdb"


def _value(setting: Setting) -> Any:
    """A connection setting as resource config: an `EnvVar` for a variable, else the literal."""
    return dg.EnvVar(setting.env) if setting.env is not None else setting.value


def _optional_env(name: str, default: Any) -> Any:
    """`EnvVar(name)` when the variable is set when the definitions load, else `default`.

    Only its presence is looked at here; its value is read when a run starts.
    """
    return dg.EnvVar(name) if name in os.environ else default


def connection_resources(connection: Connection) -> dict[str, Any]:
    """The resources one connection's assets use."""
    huma, entra = connection.huma, connection.entra
    return {
        huma_resource_key(connection.name): HumaResource(
            base_url=_value(huma.base_url),
            client_id=_value(huma.client_id),
            client_secret=_value(huma.client_secret),
            default_group_id=_value(huma.default_group_id),
            max_concurrency=connection.policy.huma_max_concurrency,
            optional_fields=sorted(connection.policy.fields),
        ),
        graph_resource_key(connection.name): GraphResource(
            tenant_id=_value(entra.tenant_id),
            client_id=_value(entra.client_id),
            client_secret=_value(entra.client_secret),
            client_secret_setting=entra.client_secret.env or SECRET_SETTING,
            certificate_path=_value(entra.certificate_path) or None,
            certificate_thumbprint=_value(entra.certificate_thumbprint) or None,
            authority_host=_value(entra.authority_host),
            graph_base_url=_value(entra.graph_base_url),
            optional_fields=sorted(connection.policy.fields),
        ),
        recipients_resource_key(connection.name): RecipientsResource(
            recipients=_value(connection.report.recipients) or "",
            sender=_value(connection.report.sender),
        ),
    }


def production_resources(connections: Sequence[Connection]) -> dict[str, Any]:
    """Every resource of the deployment: per connection, and shared."""
    resources: dict[str, Any] = {
        HISTORY: HistoryResource(path=_optional_env("HISTORY_DB_PATH", DEFAULT_HISTORY_DB_PATH)),
        SMTP: SmtpResource(
            host=_optional_env("SMTP_HOST", ""),
            port=dg.EnvVar.int("SMTP_PORT") if "SMTP_PORT" in os.environ else 587,
            username=_optional_env("SMTP_USERNAME", None),
            password=_optional_env("SMTP_PASSWORD", None),
        ),
        REPORTS: ReportsResource(
            folder=_optional_env("REPORTS_DIR", "var/reports"),
            dagster_url=_optional_env("DAGSTER_UI_URL", None),
        ),
    }
    for connection in connections:
        resources |= connection_resources(connection)
    return resources

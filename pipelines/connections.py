"""Connections: the integration instances a deployment runs (SPEC §10), from a file or the env.

A connections file (YAML) declares several connections, each with its own Huma organisation,
Entra tenant and app, policy, report recipients and schedule. It never holds a secret: it names
the environment variables that do (`*_env` keys), which are read only when a run needs them.
Without a file, one connection named `default` comes from the SPEC §11 environment variables.

    connections:
      fjordline:
        huma:
          base_url: https://openapi.humahr.com
          client_id_env: FJORDLINE_HUMA_CLIENT_ID
          client_secret_env: FJORDLINE_HUMA_CLIENT_SECRET
          webhook_secret_env: FJORDLINE_HUMA_WEBHOOK_SECRET   # Huma's profile webhook
        entra:
          tenant_id: 5b3c…               # or tenant_id_env
          client_id: 7a1d…               # or client_id_env
          client_secret_env: FJORDLINE_ENTRA_CLIENT_SECRET
        report:
          recipients: [it-admin@fjordline.no]
          sender: huma-entra-sync@fjordline.no
        schedule: {cron: "0 2 * * *", timezone: Europe/Oslo}   # 02:00 every night, Oslo time
        webhooks: {min_interval_seconds: 5}   # how often the webhook sensor looks, at most
        policy:
          huma_default_group_id: 0c2f…
          create_entra_users_automatically: true

Every key is documented in README.md ("The connections file"); unknown keys are refused. Every
URL that credentials go to (Huma's base URL, the Entra authority, Graph's base URL) must be
`https`: one that is not is refused when the connections load, with its variable or key named.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from reconcile.policy import Policy
from resources.http import InsecureUrl, require_https

#: The variable naming the deployment's connections file.
CONNECTIONS_FILE_VARIABLE = "HUMA_ENTRA_SYNC_CONNECTIONS"
DEFAULT_CONNECTION = "default"
DEFAULT_CRON = "0 2 * * *"  # 02:00 every night
DEFAULT_TIMEZONE = "UTC"
DEFAULT_SENDER = "huma-entra-sync@localhost"
#: How often the webhook sensor looks for stored events, at most: the floor of a change's
#: latency from Huma to Entra. Low, because a tick that finds nothing costs one SQLite read.
DEFAULT_WEBHOOK_MIN_INTERVAL_SECONDS = 5
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class ConnectionsError(ValueError):
    """The connections file (or the environment) is not usable; the message says where."""


@dataclasses.dataclass(frozen=True)
class Setting:
    """A value given either literally or as the name of the environment variable holding it."""

    value: str | None = None
    env: str | None = None

    def resolve(self, what: str) -> str | None:
        """The value, reading the environment now (never at import time).

        Raises:
            ConnectionsError: the named variable is not set.
        """
        if self.env is None:
            return self.value
        if self.env not in os.environ:
            raise ConnectionsError(f"{what}: the environment variable {self.env} is not set")
        return os.environ[self.env]


@dataclasses.dataclass(frozen=True)
class HumaSettings:
    base_url: Setting
    client_id: Setting
    client_secret: Setting
    #: The group new Huma users join (overrides the policy's `huma_default_group_id` when set).
    default_group_id: Setting = Setting()
    #: The client secret of Huma's profile webhook: its deliveries are signed with it (`*_env`).
    webhook_secret: Setting = Setting()
    #: The webhook's optional access token, sent as a bearer token with each delivery (`*_env`).
    webhook_token: Setting = Setting()


@dataclasses.dataclass(frozen=True)
class EntraSettings:
    tenant_id: Setting
    client_id: Setting
    client_secret: Setting
    authority_host: Setting
    graph_base_url: Setting
    certificate_path: Setting
    certificate_thumbprint: Setting


@dataclasses.dataclass(frozen=True)
class ReportSettings:
    #: Comma-separated addresses.
    recipients: Setting
    sender: Setting

    def resolved(self, where: str) -> tuple[tuple[str, ...], str]:
        """(recipients, sender), read now."""
        recipients = self.recipients.resolve(f"{where}: report recipients") or ""
        sender = self.sender.resolve(f"{where}: report sender") or DEFAULT_SENDER
        return tuple(r.strip() for r in recipients.split(",") if r.strip()), sender


@dataclasses.dataclass(frozen=True)
class Connection:
    """One integration instance: who to talk to, how to decide, whom to tell, when to run."""

    name: str
    huma: HumaSettings
    entra: EntraSettings
    report: ReportSettings
    policy: Policy
    cron: str = DEFAULT_CRON
    timezone: str = DEFAULT_TIMEZONE
    #: The webhook sensor's minimum interval between ticks.
    webhook_min_interval_seconds: int = DEFAULT_WEBHOOK_MIN_INTERVAL_SECONDS


def deployment_connections() -> list[Connection]:
    """The connections this deployment runs: the file `HUMA_ENTRA_SYNC_CONNECTIONS` names, else
    the `default` one from the environment (read now).

    Raises:
        ConnectionsError: the file is malformed; the message names the connection and key.
    """
    path = os.environ.get(CONNECTIONS_FILE_VARIABLE)
    return load_connections(Path(path) if path else None)


def load_connections(
    path: Path | None, environ: Mapping[str, str] | None = None
) -> list[Connection]:
    """The deployment's connections: from `path` when given, else the `default` one from env.

    Raises:
        ConnectionsError: the file is malformed; the message names the connection and key.
    """
    environ = os.environ if environ is None else environ
    if path is None:
        default = _default_connection(environ)
        _require_https_urls(default, environ, where=None)
        return [default]
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConnectionsError(f"cannot read the connections file {path}: {exc}") from None
    _only_keys(document, {"connections"}, str(path))
    entries = document.get("connections") or {}
    if not isinstance(entries, Mapping) or not entries:
        raise ConnectionsError(f"{path}: 'connections' must map names to connections")
    connections = []
    for name, entry in entries.items():
        where = f"{path}: connection {name!r}"
        connection = _connection(name, entry, where)
        _require_https_urls(connection, environ, where)
        connections.append(connection)
    return connections


#: The settings naming where credentials go, as (section, key).
_CREDENTIAL_URLS = (("huma", "base_url"), ("entra", "authority_host"), ("entra", "graph_base_url"))


def _require_https_urls(
    connection: Connection, environ: Mapping[str, str], where: str | None
) -> None:
    """Refuse a credential URL that is not `https`, naming its variable or file key.

    A variable not set yet is read when a run starts, where the clients refuse it alike.

    Raises:
        ConnectionsError: a URL is not `https`.
    """
    for section, key in _CREDENTIAL_URLS:
        setting: Setting = getattr(getattr(connection, section), key)
        if setting.env is None:
            value, name = setting.value, f"{where}, {section}: {key}"
        else:
            value = environ.get(setting.env)
            name = setting.env
            if where is not None:
                name += f" ({where}, {section}: {key}_env)"
        if value is None:
            continue
        try:
            require_https(value, name)
        except InsecureUrl as exc:
            raise ConnectionsError(str(exc)) from None


def _connection(name: str, entry: Any, where: str) -> Connection:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConnectionsError(f"{where}: names are lower case letters, digits and _ (max 40)")
    _only_keys(entry, {"huma", "entra", "report", "schedule", "policy", "webhooks"}, where)
    huma = _section(
        entry,
        "huma",
        where,
        {
            "base_url",
            "client_id",
            "client_secret",
            "default_group_id",
            "webhook_secret",
            "webhook_token",
        },
    )
    entra = _section(
        entry,
        "entra",
        where,
        {
            "tenant_id",
            "client_id",
            "client_secret",
            "authority_host",
            "graph_base_url",
            "certificate_path",
            "certificate_thumbprint",
        },
    )
    report = entry.get("report") or {}
    _only_keys(report, {"recipients", "sender"}, f"{where}, report")
    schedule = entry.get("schedule") or {}
    _only_keys(schedule, {"cron", "timezone"}, f"{where}, schedule")
    webhooks = entry.get("webhooks") or {}
    _only_keys(webhooks, {"min_interval_seconds"}, f"{where}, webhooks")
    interval = webhooks.get("min_interval_seconds", DEFAULT_WEBHOOK_MIN_INTERVAL_SECONDS)
    if not isinstance(interval, int) or isinstance(interval, bool) or interval < 1:
        raise ConnectionsError(f"{where}, webhooks: min_interval_seconds is a whole number ≥ 1")
    try:
        policy = Policy.from_dict(entry.get("policy") or {})
    except (TypeError, ValueError) as exc:
        raise ConnectionsError(f"{where}, policy: {exc}") from None
    return Connection(
        name=name,
        huma=HumaSettings(
            base_url=huma.get("base_url", Setting("https://openapi.humahr.com")),
            client_id=_required(huma, "client_id", f"{where}, huma"),
            client_secret=_required(huma, "client_secret", f"{where}, huma"),
            default_group_id=huma.get("default_group_id", Setting()),
            webhook_secret=huma.get("webhook_secret", Setting()),
            webhook_token=huma.get("webhook_token", Setting()),
        ),
        entra=EntraSettings(
            tenant_id=_required(entra, "tenant_id", f"{where}, entra"),
            client_id=_required(entra, "client_id", f"{where}, entra"),
            client_secret=entra.get("client_secret", Setting()),
            authority_host=entra.get(
                "authority_host", Setting("https://login.microsoftonline.com")
            ),
            graph_base_url=entra.get("graph_base_url", Setting("https://graph.microsoft.com/v1.0")),
            certificate_path=entra.get("certificate_path", Setting()),
            certificate_thumbprint=entra.get("certificate_thumbprint", Setting()),
        ),
        report=ReportSettings(
            recipients=Setting(",".join(str(r) for r in report.get("recipients") or ())),
            sender=Setting(str(report.get("sender") or DEFAULT_SENDER)),
        ),
        policy=policy,
        cron=str(schedule.get("cron", DEFAULT_CRON)),
        timezone=str(schedule.get("timezone", DEFAULT_TIMEZONE)),
        webhook_min_interval_seconds=interval,
    )


#: Settings that hold secrets: only ever named by their environment variable (`*_env`).
_SECRETS = frozenset({"client_secret", "webhook_secret", "webhook_token"})


def _section(entry: Mapping[str, Any], key: str, where: str, names: set[str]) -> dict[str, Setting]:
    """A section's settings: `name: value` or `name_env: VARIABLE`, never both."""
    raw = entry.get(key)
    if not isinstance(raw, Mapping):
        raise ConnectionsError(f"{where}: the '{key}' section is missing")
    allowed = names | {f"{n}_env" for n in names}
    _only_keys(raw, allowed, f"{where}, {key}")
    settings = {}
    for name in names:
        literal, env = raw.get(name), raw.get(f"{name}_env")
        if literal is not None and env is not None:
            raise ConnectionsError(f"{where}, {key}: give {name} or {name}_env, not both")
        if literal is not None or env is not None:
            settings[name] = Setting(
                value=None if literal is None else str(literal),
                env=None if env is None else str(env),
            )
    for secret in sorted(_SECRETS & settings.keys()):
        if settings[secret].env is None:
            raise ConnectionsError(
                f"{where}, {key}: secrets are never written in the file; use {secret}_env"
            )
    return settings


def _required(settings: Mapping[str, Setting], name: str, where: str) -> Setting:
    if name not in settings:
        raise ConnectionsError(f"{where}: {name} (or {name}_env) is required")
    return settings[name]


def _only_keys(mapping: Any, allowed: set[str], where: str) -> None:
    if not isinstance(mapping, Mapping):
        raise ConnectionsError(f"{where}: expected a mapping")
    unknown = sorted(set(mapping) - allowed)
    if unknown:
        raise ConnectionsError(f"{where}: unknown keys {unknown}; known: {sorted(allowed)}")


def _default_connection(environ: Mapping[str, str]) -> Connection:
    """The one connection SPEC §11's environment variables describe (read when a run needs them).

    A variable with a default is read from the environment only if it is set when the
    definitions load; required ones are always read at run time (and reported if missing).
    """

    def env(name: str, default: str | None = None) -> Setting:
        return Setting(env=name) if name in environ or default is None else Setting(default)

    return Connection(
        name=DEFAULT_CONNECTION,
        huma=HumaSettings(
            base_url=env("HUMA_BASE_URL", "https://openapi.humahr.com"),
            client_id=env("HUMA_CLIENT_ID"),
            client_secret=env("HUMA_CLIENT_SECRET"),
            default_group_id=env("HUMA_DEFAULT_GROUP_ID", ""),
            webhook_secret=_secret_env("HUMA_WEBHOOK_SECRET", environ),
            webhook_token=_secret_env("HUMA_WEBHOOK_TOKEN", environ),
        ),
        entra=EntraSettings(
            tenant_id=env("ENTRA_TENANT_ID"),
            client_id=env("ENTRA_CLIENT_ID"),
            client_secret=Setting(env="ENTRA_CLIENT_SECRET")
            if "ENTRA_CLIENT_SECRET" in environ
            else Setting(),
            authority_host=env("ENTRA_AUTHORITY_HOST", "https://login.microsoftonline.com"),
            graph_base_url=env("GRAPH_BASE_URL", "https://graph.microsoft.com/v1.0"),
            certificate_path=env("ENTRA_CERTIFICATE_PATH", ""),
            certificate_thumbprint=env("ENTRA_CERTIFICATE_THUMBPRINT", ""),
        ),
        report=ReportSettings(
            recipients=env("REPORT_TO", ""),
            sender=env("REPORT_FROM", DEFAULT_SENDER),
        ),
        policy=Policy(),
    )


def _secret_env(name: str, environ: Mapping[str, str]) -> Setting:
    """An optional secret of the default connection: read from `name` when that is set."""
    return Setting(env=name) if name in environ else Setting()

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

Every key is documented in README.md ("The connections file") and declared once here, as a
pydantic model per section: its type, its default, whether it is a secret (`*_env` only) or a URL
that credentials go to. Unknown keys are refused; every error names the connection, the section
and the key. Every URL that credentials go to (Huma's base URL, the Entra authority, Graph's base
URL) must be `https`: one that is not is refused when the connections load, with its variable or
key named.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, ClassVar, Final

import yaml
from annotated_types import Ge
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    ValidationError,
    ValidationInfo,
    model_validator,
)

from reconcile.declared import expect, problems, refuse_unknown, section_error
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
_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")
#: An environment variable's name (POSIX: letters, digits and `_`, not starting with a digit).
_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


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


class _Secret:
    """Marks a setting that holds a secret: only ever named by its variable (`*_env`)."""


SECRET: Final = _Secret()


def _https_literal(setting: Setting, info: ValidationInfo) -> Setting:
    """A URL credentials go to, written in the file, is `https` (a variable's is checked when the
    connections load, with the environment at hand)."""
    if setting.value is not None:
        require_https(setting.value, str(info.field_name))
    return setting


#: Marks (and checks) a setting naming a URL that credentials go to.
CREDENTIAL_URL: Final = AfterValidator(_https_literal)


class _Section(BaseModel):
    """A section of the file: frozen, and every key it holds is declared."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _declared_keys_only(cls, data: Any) -> Any:
        return data if isinstance(data, cls) else refuse_unknown(data, cls.model_fields)


class _Settings(_Section):
    """A section of `Setting`s: each `name: value` or `name_env: VARIABLE`, never both.

    Code builds one from `Setting`s; the file gives the plain keys, folded here.
    """

    @model_validator(mode="before")
    @classmethod
    def _declared_keys_only(cls, data: Any) -> Any:
        if isinstance(data, cls):
            return data
        names = cls.model_fields
        refuse_unknown(data, {*names, *(f"{name}_env" for name in names)})
        folded = {}
        for name, declared in names.items():
            literal, env = data.get(name), data.get(f"{name}_env")
            if isinstance(literal, Setting):
                folded[name] = literal
                continue
            if literal is not None and env is not None:
                raise section_error(f"give {name} or {name}_env, not both")
            if literal is None and env is None:
                if declared.is_required():
                    raise section_error(f"{name} (or {name}_env) is required")
                continue
            if env is None and SECRET in declared.metadata:
                raise section_error(f"secrets are never written in the file; use {name}_env")
            if literal is not None and not isinstance(literal, str | int | float):
                raise section_error(f"{name} must be a string, not {literal!r}")
            if env is not None and not (isinstance(env, str) and _VARIABLE.fullmatch(env)):
                # Not quoted: what stands there may be the secret itself, written by mistake.
                raise section_error(
                    f"{name}_env must name an environment variable (letters, digits and _); "
                    "what it holds is not one, and is not shown"
                )
            folded[name] = Setting(value=None if literal is None else str(literal), env=env)
        return folded

    def credential_urls(self) -> dict[str, Setting]:
        """The settings naming a URL that credentials go to, by key."""
        return {
            name: getattr(self, name)
            for name, declared in type(self).model_fields.items()
            if CREDENTIAL_URL in declared.metadata
        }


class HumaSettings(_Settings):
    base_url: Annotated[Setting, CREDENTIAL_URL] = Setting("https://openapi.humahr.com")
    client_id: Setting
    client_secret: Annotated[Setting, SECRET]
    #: The group new Huma users join (overrides the policy's `huma_default_group_id` when set).
    default_group_id: Setting = Setting()
    #: The client secret of Huma's profile webhook: its deliveries are signed with it (`*_env`).
    webhook_secret: Annotated[Setting, SECRET] = Setting()
    #: The webhook's optional access token, sent as a bearer token with each delivery (`*_env`).
    webhook_token: Annotated[Setting, SECRET] = Setting()


class EntraSettings(_Settings):
    tenant_id: Setting
    client_id: Setting
    client_secret: Annotated[Setting, SECRET] = Setting()
    authority_host: Annotated[Setting, CREDENTIAL_URL] = Setting(
        "https://login.microsoftonline.com"
    )
    graph_base_url: Annotated[Setting, CREDENTIAL_URL] = Setting("https://graph.microsoft.com/v1.0")
    certificate_path: Setting = Setting()
    certificate_thumbprint: Setting = Setting()


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


class _Report(_Section):
    recipients: Annotated[list[StrictStr], expect("a list of addresses")] = []
    sender: Annotated[StrictStr, expect("one address")] = DEFAULT_SENDER


class _Schedule(_Section):
    cron: Annotated[StrictStr, expect("a cron expression")] = DEFAULT_CRON
    timezone: Annotated[StrictStr, expect("a timezone name")] = DEFAULT_TIMEZONE


class _Webhooks(_Section):
    min_interval_seconds: Annotated[StrictInt, Ge(1), expect("a whole number ≥ 1")] = (
        DEFAULT_WEBHOOK_MIN_INTERVAL_SECONDS
    )


class _Entry(_Section):
    """One connection as the file declares it."""

    #: Sections that may be left empty (`report:` with nothing under it): they take defaults.
    _OPTIONAL: ClassVar = ("report", "schedule", "webhooks", "policy")

    huma: HumaSettings
    entra: EntraSettings
    report: _Report = _Report()
    schedule: _Schedule = _Schedule()
    webhooks: _Webhooks = _Webhooks()
    policy: Policy = Field(default_factory=Policy)

    @model_validator(mode="before")
    @classmethod
    def _declared_keys_only(cls, data: Any) -> Any:
        refuse_unknown(data, cls.model_fields)
        return {k: v for k, v in data.items() if not (k in cls._OPTIONAL and v is None)}

    def connection(self, name: str) -> Connection:
        return Connection(
            name=name,
            huma=self.huma,
            entra=self.entra,
            report=ReportSettings(
                recipients=Setting(",".join(self.report.recipients)),
                sender=Setting(self.report.sender),
            ),
            policy=self.policy,
            cron=self.schedule.cron,
            timezone=self.schedule.timezone,
            webhook_min_interval_seconds=self.webhooks.min_interval_seconds,
        )


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
        _require_https_variables(default, environ, where=None)
        return [default]
    try:
        # From a stream, so that a syntax error names its line and column without quoting the
        # line: a secret written there by mistake stays out of the message.
        with path.open(encoding="utf-8") as handle:
            document = yaml.safe_load(handle) or {}
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise ConnectionsError(f"cannot read the connections file {path}: {exc}") from None
    if not isinstance(document, Mapping):
        raise ConnectionsError(f"{path}: expected a mapping")
    unknown = sorted(set(document) - {"connections"}, key=str)
    if unknown:
        raise ConnectionsError(f"{path}: unknown keys {unknown}; known: ['connections']")
    entries = document.get("connections") or {}
    if not isinstance(entries, Mapping) or not entries:
        raise ConnectionsError(f"{path}: 'connections' must map names to connections")
    connections = []
    for name, entry in entries.items():
        where = f"{path}: connection {name!r}"
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise ConnectionsError(f"{where}: names are lower case letters, digits and _ (max 40)")
        try:
            connection = _Entry.model_validate(entry).connection(name)
        except ValidationError as exc:
            raise ConnectionsError(problems(exc, where)) from None
        _require_https_variables(connection, environ, where)
        connections.append(connection)
    return connections


def _require_https_variables(
    connection: Connection, environ: Mapping[str, str], where: str | None
) -> None:
    """Refuse a credential URL read from a variable that is not `https`, naming the variable
    (and the file key that names it).

    A variable not set yet is read when a run starts, where the clients refuse it alike.

    Raises:
        ConnectionsError: a URL is not `https`.
    """
    for section, settings in (("huma", connection.huma), ("entra", connection.entra)):
        for key, setting in settings.credential_urls().items():
            if setting.env is None or setting.env not in environ:
                continue
            name = setting.env
            if where is not None:
                name += f" ({where}, {section}: {key}_env)"
            try:
                require_https(environ[setting.env], name)
            except InsecureUrl as exc:
                raise ConnectionsError(str(exc)) from None


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

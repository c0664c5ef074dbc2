"""Connections come from a documented file or from the environment, and never carry a secret.

Pins: a file declares several connections with their own credentials (by variable name), policy
(optional fields included), recipients and schedule; secrets written in the file, unknown keys,
values of the wrong type, bad names and bad policies are refused with the connection, the
section and the key named; a section left empty takes its defaults; variables are read when a
run needs them, not when the file loads, and a missing one is named; without a file, one
`default` connection comes from SPEC §11's variables.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from assets.keys import huma_resource_key
from pipelines.connections import ConnectionsError, load_connections
from pipelines.resources import connection_resources

TWO_CONNECTIONS = """
connections:
  fjordline:
    huma:
      client_id_env: FJ_HUMA_ID
      client_secret_env: FJ_HUMA_SECRET
    entra:
      tenant_id: 5b3c0000-0000-4000-8000-000000000001
      client_id: 7a1d0000-0000-4000-8000-000000000002
      client_secret_env: FJ_ENTRA_SECRET
    report:
      recipients: [it@fjordline.no, hr@fjordline.no]
      sender: sync@fjordline.no
    schedule: {cron: "30 1 * * *", timezone: Europe/Oslo}
    policy:
      create_entra_users_automatically: true
      huma_default_group_id: g-1
  havbris:
    huma:
      base_url: https://huma.example
      client_id_env: HB_HUMA_ID
      client_secret_env: HB_HUMA_SECRET
    entra:
      tenant_id_env: HB_TENANT
      client_id_env: HB_CLIENT
      client_secret_env: HB_ENTRA_SECRET
"""


def _file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "connections.yaml"
    path.write_text(text)
    return path


def test_a_file_declares_several_connections(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("FJ_HUMA_SECRET", "s3cret")

    fjordline, havbris = load_connections(_file(tmp_path, TWO_CONNECTIONS))

    assert (fjordline.name, havbris.name) == ("fjordline", "havbris")
    assert fjordline.huma.client_secret.resolve("x") == "s3cret"
    assert fjordline.entra.tenant_id.resolve("x") == "5b3c0000-0000-4000-8000-000000000001"
    assert fjordline.report.resolved("x") == (
        ("it@fjordline.no", "hr@fjordline.no"),
        "sync@fjordline.no",
    )
    assert (fjordline.cron, fjordline.timezone) == ("30 1 * * *", "Europe/Oslo")
    assert fjordline.policy.create_entra_users_automatically
    assert fjordline.policy.huma_default_group_id == "g-1"
    assert not havbris.policy.create_entra_users_automatically
    assert (havbris.cron, havbris.timezone) == ("0 2 * * *", "UTC")
    assert havbris.huma.base_url.resolve("x") == "https://huma.example"


def test_variables_are_read_when_needed_and_a_missing_one_is_named(tmp_path, monkeypatch):
    monkeypatch.delenv("HB_ENTRA_SECRET", raising=False)
    [_, havbris] = load_connections(_file(tmp_path, TWO_CONNECTIONS))  # loads without it

    with pytest.raises(ConnectionsError, match="HB_ENTRA_SECRET is not set"):
        havbris.entra.client_secret.resolve("connection havbris: entra client secret")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            TWO_CONNECTIONS.replace("client_secret_env: FJ_HUMA_SECRET", "client_secret: abc"),
            "secrets are never written in the file",
            id="secret-in-the-file",
        ),
        pytest.param(
            TWO_CONNECTIONS.replace("report:", "reprot:"),
            "connection 'fjordline': unknown keys ['reprot']",
            id="typo-in-a-section-name",
        ),
        pytest.param(
            TWO_CONNECTIONS.replace("fjordline:", "Fjord Line:"),
            "lower case",
            id="bad-connection-name",
        ),
        pytest.param(
            # A name with a line break after it would end up in paths, tags and log lines.
            TWO_CONNECTIONS.replace("fjordline:", '"fjordline\\n":'),
            "lower case",
            id="connection-name-ending-in-a-line-break",
        ),
        pytest.param(
            TWO_CONNECTIONS.replace("create_entra_users_automatically: true", "create_users: true"),
            "fjordline', policy",
            id="unknown-policy-key",
        ),
        pytest.param(
            TWO_CONNECTIONS.replace("      client_id_env: HB_HUMA_ID\n", ""),
            "connection 'havbris', huma: client_id (or client_id_env) is required",
            id="missing-client-id",
        ),
        pytest.param(
            TWO_CONNECTIONS.replace(
                "tenant_id_env: HB_TENANT", "tenant_id_env: HB_TENANT\n      tenant_id: x"
            ),
            "not both",
            id="literal-and-env",
        ),
        pytest.param("connections: {}\n", "must map names", id="no-connections"),
        pytest.param(
            TWO_CONNECTIONS.replace("sender: sync@fjordline.no", "sender: [sync@fjordline.no]"),
            "connection 'fjordline', report: sender must be one address",
            id="sender-not-one-address",
        ),
        pytest.param(
            TWO_CONNECTIONS.replace(
                "recipients: [it@fjordline.no, hr@fjordline.no]", "recipients: it@fjordline.no"
            ),
            "connection 'fjordline', report: recipients must be a list of addresses",
            id="recipients-not-a-list",
        ),
        pytest.param(
            TWO_CONNECTIONS.replace('cron: "30 1 * * *"', "cron: 30"),
            "connection 'fjordline', schedule: cron must be a cron expression, not 30",
            id="cron-not-text",
        ),
        pytest.param(
            TWO_CONNECTIONS + "    webhooks: {min_interval_seconds: 0}\n",
            "connection 'havbris', webhooks: min_interval_seconds must be a whole number ≥ 1",
            id="webhook-interval-zero",
        ),
        pytest.param(
            TWO_CONNECTIONS.replace("huma_default_group_id: g-1", "huma_max_concurrency: 0"),
            "connection 'fjordline', policy: huma_max_concurrency must be a whole number",
            id="policy-value-out-of-range",
        ),
        pytest.param(
            TWO_CONNECTIONS.replace(
                "huma_default_group_id: g-1", "fields: [department, cost_centre, office]"
            ),
            "connection 'fjordline', policy: fields names unknown optional fields ['cost_centre']",
            id="unknown-optional-field",
        ),
        pytest.param(
            TWO_CONNECTIONS.replace("    entra:\n      tenant_id_env: HB_TENANT", "    entra_:\n"),
            "connection 'havbris': unknown keys ['entra_']",
            id="section-misspelt",
        ),
    ],
)
def test_a_bad_file_is_refused_with_the_place_named(tmp_path, text: str, message: str) -> None:
    with pytest.raises(ConnectionsError, match=re.escape(message)):
        load_connections(_file(tmp_path, text))


def test_without_a_file_one_default_connection_comes_from_the_environment(monkeypatch) -> None:
    environ = {
        "HUMA_BASE_URL": "https://huma.local",
        "HUMA_CLIENT_ID": "id",
        "HUMA_CLIENT_SECRET": "s",
        "ENTRA_TENANT_ID": "t",
        "ENTRA_CLIENT_ID": "c",
        "ENTRA_CLIENT_SECRET": "e",
        "REPORT_TO": "a@x.no, b@x.no",
        "HUMA_DEFAULT_GROUP_ID": "g-9",
    }
    for name, value in environ.items():
        monkeypatch.setenv(name, value)

    [default] = load_connections(None)

    assert default.name == "default"
    assert default.huma.base_url.resolve("x") == "https://huma.local"
    assert default.entra.client_secret.resolve("x") == "e"
    assert default.entra.authority_host.resolve("x") == "https://login.microsoftonline.com"
    assert default.report.resolved("x")[0] == ("a@x.no", "b@x.no")
    assert default.huma.default_group_id.resolve("x") == "g-9"
    monkeypatch.setenv("HUMA_CLIENT_SECRET", "rotated")
    assert default.huma.client_secret.resolve("x") == "rotated"  # read at run time


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        pytest.param("HUMA_BASE_URL", "http://openapi.humahr.com", id="huma-in-clear"),
        pytest.param("GRAPH_BASE_URL", "http://graph.microsoft.com/v1.0", id="graph-in-clear"),
        pytest.param("ENTRA_AUTHORITY_HOST", "ftp://login.microsoftonline.com", id="authority"),
        pytest.param("HUMA_BASE_URL", "openapi.humahr.com", id="no-scheme"),
    ],
)
def test_a_url_that_is_not_https_is_refused_with_its_variable_named(
    variable: str, value: str
) -> None:
    environ = {"HUMA_CLIENT_ID": "id", "ENTRA_TENANT_ID": "t", variable: value}

    with pytest.raises(ConnectionsError, match=f"{variable} must be an https:// URL"):
        load_connections(None, environ)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            TWO_CONNECTIONS.replace("https://huma.example", "http://huma.example"),
            re.escape("connection 'havbris', huma: base_url must be an https:// URL"),
            id="literal",
        ),
        pytest.param(
            TWO_CONNECTIONS.replace(
                "      client_secret_env: FJ_ENTRA_SECRET\n",
                "      client_secret_env: FJ_ENTRA_SECRET\n      graph_base_url_env: FJ_GRAPH\n",
            ),
            r"FJ_GRAPH \(.*connection 'fjordline', entra: graph_base_url_env\) must be an https://",
            id="variable",
        ),
    ],
)
def test_a_file_url_that_is_not_https_is_refused_with_its_key_named(
    tmp_path, monkeypatch, text: str, message: str
) -> None:
    monkeypatch.setenv("FJ_GRAPH", "http://graph.internal/v1.0")

    with pytest.raises(ConnectionsError, match=message):
        load_connections(_file(tmp_path, text))


def test_the_policys_huma_concurrency_reaches_the_huma_client(tmp_path: Path) -> None:
    text = TWO_CONNECTIONS.replace("huma_default_group_id: g-1", "huma_max_concurrency: 4")
    fjordline, havbris = load_connections(_file(tmp_path, text))

    fast, default = (
        connection_resources(c)[huma_resource_key(c.name)] for c in (fjordline, havbris)
    )

    assert (fast.max_concurrency, default.max_concurrency) == (4, 16)


def test_the_webhook_secret_and_token_are_named_by_variable(tmp_path, monkeypatch) -> None:
    text = TWO_CONNECTIONS.replace(
        "client_secret_env: FJ_HUMA_SECRET",
        "client_secret_env: FJ_HUMA_SECRET\n      webhook_secret_env: FJ_HOOK\n"
        "      webhook_token_env: FJ_HOOK_TOKEN",
    )
    monkeypatch.setenv("FJ_HOOK", "whsec")
    monkeypatch.setenv("FJ_HOOK_TOKEN", "tok")

    fjordline, havbris = load_connections(_file(tmp_path, text))

    assert fjordline.huma.webhook_secret.resolve("x") == "whsec"
    assert fjordline.huma.webhook_token.resolve("x") == "tok"
    assert havbris.huma.webhook_secret.resolve("x") is None  # no webhook for this one


@pytest.mark.parametrize("key", ["webhook_secret", "webhook_token"])
def test_a_webhook_secret_written_in_the_file_is_refused(tmp_path, key: str) -> None:
    text = TWO_CONNECTIONS.replace(
        "client_secret_env: FJ_HUMA_SECRET", f"client_secret_env: FJ_HUMA_SECRET\n      {key}: x"
    )
    with pytest.raises(ConnectionsError, match=f"use {key}_env"):
        load_connections(_file(tmp_path, text))


def test_the_default_connection_reads_its_webhook_secret_from_the_environment(monkeypatch):
    monkeypatch.setenv("HUMA_WEBHOOK_SECRET", "whsec")
    monkeypatch.delenv("HUMA_WEBHOOK_TOKEN", raising=False)

    [default] = load_connections(None, {"HUMA_WEBHOOK_SECRET": "whsec"})

    assert default.huma.webhook_secret.resolve("x") == "whsec"
    assert default.huma.webhook_token.resolve("x") is None


def test_a_connection_turns_optional_fields_on_in_its_policy(tmp_path: Path) -> None:
    text = TWO_CONNECTIONS.replace("huma_default_group_id: g-1", "fields: [department, office]")

    fjordline, havbris = load_connections(_file(tmp_path, text))

    assert fjordline.policy.fields == frozenset({"department", "office"})
    assert havbris.policy.fields == frozenset()


def test_a_section_left_empty_takes_its_defaults(tmp_path: Path) -> None:
    text = TWO_CONNECTIONS + "    policy:\n    webhooks:\n    schedule:\n"

    [_, havbris] = load_connections(_file(tmp_path, text))

    assert havbris.policy.create_entra_users_automatically is False
    assert (havbris.cron, havbris.webhook_min_interval_seconds) == ("0 2 * * *", 5)

"""A run that fails says so: the command exits non-zero with the reason, the history records the
failure, and the run-failure sensor emails the connection's recipients the error (shown, never
obeyed: its control sequences, which may quote Huma or Graph, become spaces).

The failure staged is the one administrators meet most: the Entra client secret is wrong.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import orjson
import pytest
import yaml

from assets.report.failure import failure_message
from emulators.data import generate_world
from emulators.launcher import Emulators
from emulators.smtp import MailServer
from pipelines.connections import deployment_connections
from pipelines.definitions import build_definitions
from pipelines.resources import production_resources
from resources.history import read_only_store
from tests.console_deployment import console

PASSWORD = "relay-password-failures"


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    root = tmp_path_factory.mktemp("failures")
    world = generate_world(users=30, seed=41)
    huma, entra = root / "huma.json", root / "entra.json"
    huma.write_bytes(orjson.dumps(world.huma))
    entra.write_bytes(orjson.dumps(world.entra))
    with (
        Emulators(state_dir=root, huma_state=huma, entra_state=entra) as emulators,
        MailServer(tls_dir=root / "tls", username="relay", password=PASSWORD) as mail,
    ):
        connections = root / "connections.yaml"
        connections.write_text(
            yaml.safe_dump(
                {
                    "connections": {
                        "acme": {
                            "huma": {
                                "base_url": emulators.huma_url,
                                "client_id_env": "HUMA_CLIENT_ID",
                                "client_secret_env": "HUMA_CLIENT_SECRET",
                            },
                            "entra": {
                                "tenant_id_env": "ENTRA_TENANT_ID",
                                "client_id_env": "ENTRA_CLIENT_ID",
                                "client_secret_env": "ENTRA_CLIENT_SECRET",
                                "authority_host": emulators.entra_url,
                                "graph_base_url": f"{emulators.entra_url}/v1.0",
                            },
                            "report": {
                                "recipients": ["it@acme.example"],
                                "sender": "sync@acme.example",
                            },
                        }
                    }
                }
            )
        )
        yield {
            **emulators.environment(),
            "ENTRA_CLIENT_SECRET": "not-the-secret",
            "HUMA_ENTRA_SYNC_CONNECTIONS": str(connections),
            "HISTORY_DB_PATH": str(root / "history.duckdb"),
            "REPORTS_DIR": str(root / "reports"),
            "SMTP_HOST": mail.host,
            "SMTP_PORT": str(mail.port),
            "SMTP_USERNAME": "relay",
            "SMTP_PASSWORD": PASSWORD,
            "SSL_CERT_FILE": str(mail.ca_bundle),
            "mail": mail,  # type: ignore[dict-item]
        }


def _env(setup: dict, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in setup.items() if isinstance(v, str)}
    return {**os.environ, **env, "DAGSTER_HOME": str(tmp_path / "dagster")}


def test_the_run_command_exits_non_zero_with_what_to_do(setup, tmp_path: Path) -> None:
    done = console("run", env=_env(setup, tmp_path), timeout=180)

    assert done.returncode == 1
    assert "FAILED" in done.stderr
    assert "AADSTS7000215" in done.stderr
    assert "ENTRA_CLIENT_SECRET" in done.stderr
    assert "not-the-secret" not in done.stderr + done.stdout


def test_the_failure_sensor_records_and_emails_the_error(setup, tmp_path, monkeypatch) -> None:
    for name, value in _env(setup, tmp_path).items():
        monkeypatch.setenv(name, value)
    connections = deployment_connections()
    resources = production_resources(connections)
    defs = build_definitions(connections, resources)
    mail: MailServer = setup["mail"]
    before = len(mail.received)

    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        result = defs.resolve_job_def("sync_acme").execute_in_process(
            instance=instance, raise_on_error=False
        )
        failure = next(e for e in result.all_events if e.event_type_value == "PIPELINE_FAILURE")
        sensor = defs.resolve_sensor_def("email_on_run_failure")
        with dg.build_run_status_sensor_context(
            sensor_name=sensor.name,
            dagster_event=failure,
            dagster_instance=instance,
            dagster_run=result.dagster_run,
            resources={k: resources[k] for k in ("history", "smtp", "reports")},
        ) as context:
            sensor(context)

    [mailed] = mail.received[before:]
    assert mailed.recipients == ("it@acme.example",)
    assert mailed.message["Subject"] == "Huma ↔ Entra ID (acme): the run failed"
    assert "AADSTS7000215" in mailed.message.get_body(preferencelist=("plain",)).get_content()
    assert "AADSTS7000215" in mailed.message.get_body(preferencelist=("html",)).get_content()
    record = read_only_store(os.environ["HISTORY_DB_PATH"]).run(run_id=result.run_id)
    assert record is not None
    assert record.outcome == "failed"
    assert "AADSTS7000215" in (record.error or "")


def test_the_failure_email_shows_an_error_quoting_hostile_text_inert() -> None:
    error = "Graph said: \x1b]8;;https://evil.example/\x1b\\Eve\x1b]8;;\x1b\\ \x9b2J\u202eok"

    message = failure_message(
        "acme",
        sender="sync@example.com",
        recipients=["it@example.com"],
        run_id="run-1",
        error=error,
        run_url=None,
    )

    for kind in ("plain", "html"):
        body = message.get_body(preferencelist=(kind,)).get_content()
        assert "Graph said:" in body
        assert [c for c in body if c in "\x1b\x9b\u202e"] == []

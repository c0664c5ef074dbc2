"""`huma-entra-sync webhooks`: the receiver as a process. What it answered 202 survives the
process being killed (nothing accepted is lost, its replays stay dropped after a restart); it
never serves plain HTTP on a non-loopback address unasked, and refuses to start without a
webhook secret."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli.main import main
from emulators.tls import TlsFiles
from resources.webhook_events import WebhookEventStore, event_store_path
from tests.webhook_receiver.conftest import SECRET, body_of, huma_id, signed, tls_client

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The default connection with a webhook secret, its history in `tmp_path`."""
    monkeypatch.delenv("HUMA_ENTRA_SYNC_CONNECTIONS", raising=False)
    monkeypatch.delenv("HUMA_WEBHOOK_TOKEN", raising=False)
    monkeypatch.setenv("HUMA_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("HISTORY_DB_PATH", str(tmp_path / "history.duckdb"))
    return dict(os.environ)


class Command:
    """One `huma-entra-sync webhooks` process, and the URL it printed."""

    def __init__(self, env: dict[str, str], tls: TlsFiles, *arguments: str) -> None:
        self.process = subprocess.Popen(
            [
                *(sys.executable, "-m", "cli.main", "webhooks", "--port", "0", *arguments),
                *("--certfile", str(tls.server_cert), "--keyfile", str(tls.server_key)),
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        line = self.process.stdout.readline() if self.process.stdout else ""
        assert line.startswith("listening on https://127.0.0.1:"), line
        self.base = line.split()[2]
        self.url = self.base + "/huma/default"

    def stop(self, sig: signal.Signals) -> int:
        self.process.send_signal(sig)
        code = self.process.wait(timeout=60)
        if self.process.stdout:
            self.process.stdout.close()
        return code


@pytest.fixture
def commands(environment: dict[str, str], tls: TlsFiles) -> Iterator[list[Command]]:
    started: list[Command] = []
    yield started
    for command in started:
        if command.process.poll() is None:
            command.stop(signal.SIGKILL)


def test_accepted_deliveries_survive_a_killed_receiver(
    environment: dict[str, str], tls: TlsFiles, commands: list[Command], tmp_path: Path
) -> None:
    bodies = [body_of("users-update", [(huma_id(n), f"p{n}@fjordline.no")]) for n in range(20)]
    first = Command(environment, tls)
    commands.append(first)
    with tls_client(tls) as client:
        statuses = [
            client.post(first.url, content=b, headers=signed(b)).status_code for b in bodies
        ]
    assert statuses == [202] * 20

    assert first.stop(signal.SIGKILL) == -signal.SIGKILL  # no chance to flush anything more

    second = Command(environment, tls)
    commands.append(second)
    new = body_of("users-create", [(huma_id(99), "new@fjordline.no")])
    with tls_client(tls) as client:
        replays = [
            client.post(second.url, content=b, headers=signed(b)).status_code for b in bodies
        ]
        created = client.post(second.url, content=new, headers=signed(new)).status_code
    # uvicorn stops gracefully, then ends by the signal it caught (as the default handler would).
    assert second.stop(signal.SIGTERM) == -signal.SIGTERM

    assert replays == [200] * 20  # still waiting: the replays are dropped
    assert created == 202
    path = event_store_path(tmp_path / "history.duckdb", "default")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    store = WebhookEventStore(path)
    assert store.waiting().count == 21
    assert {u.huma_id for u in store.take("run-1").changed} == {
        huma_id(n) for n in [*range(20), 99]
    }


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        pytest.param(["--host", "0.0.0.0"], "refusing plain HTTP on 0.0.0.0", id="public-plain"),  # noqa: S104
        pytest.param(["--certfile", "cert.pem"], "go together", id="half-a-tls-pair"),
        pytest.param(["--connection", "globex"], "no connection 'globex'", id="unknown-connection"),
    ],
)
def test_the_command_refuses_what_it_must_not_serve(
    environment: dict[str, str], capsys, arguments: list[str], message: str
) -> None:
    assert main(["webhooks", "--port", "0", *arguments]) == 2
    assert message in capsys.readouterr().err


def test_a_connection_without_a_webhook_secret_is_not_served(
    environment: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.delenv("HUMA_WEBHOOK_SECRET")

    assert main(["webhooks", "--port", "0"]) == 2
    assert "no connection has a webhook secret" in capsys.readouterr().err


CONNECTIONS = """
connections:
  acme:
    huma: {client_id_env: X, client_secret_env: X, webhook_secret_env: ACME_HOOK}
    entra: {tenant_id: t, client_id: c, client_secret_env: X}
  globex:
    huma: {client_id_env: X, client_secret_env: X, webhook_secret_env: GLOBEX_HOOK}
    entra: {tenant_id: t, client_id: c, client_secret_env: X}
  initech:
    huma: {client_id_env: X, client_secret_env: X}
    entra: {tenant_id: t, client_id: c, client_secret_env: X}
"""


def test_one_receiver_serves_each_connection_with_a_secret_on_its_own_path(
    environment: dict[str, str], tls: TlsFiles, commands: list[Command], tmp_path: Path
) -> None:
    connections = tmp_path / "connections.yaml"
    connections.write_text(CONNECTIONS)
    env = environment | {
        "HUMA_ENTRA_SYNC_CONNECTIONS": str(connections),
        "ACME_HOOK": SECRET,
        "GLOBEX_HOOK": "globex-secret",
    }
    body = body_of("users-update", [(huma_id(1), "anna@fjordline.no")])
    every = Command(env, tls)
    commands.append(every)
    only_acme = Command(env, tls, "--connection", "acme")
    commands.append(only_acme)

    with tls_client(tls) as client:

        def post(base: str, connection: str, secret: str) -> int:
            headers = signed(body, secret=secret)
            return client.post(
                f"{base}/huma/{connection}", content=body, headers=headers
            ).status_code

        served = [
            post(every.base, "acme", SECRET),
            post(every.base, "globex", "globex-secret"),
            post(every.base, "globex", SECRET),  # another connection's secret
            post(every.base, "initech", SECRET),  # no secret: not served
            post(only_acme.base, "globex", "globex-secret"),
        ]

    assert served == [202, 202, 401, 404, 404]
    for name in ("acme", "globex"):
        store = WebhookEventStore(event_store_path(tmp_path / "history.duckdb", name))
        assert store.waiting().count == 1

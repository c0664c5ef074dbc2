"""The real job, end to end: two connections over the emulators, a mail relay and a DuckDB file.

Pins: each connection's run reads its own Huma and Entra, plans with its own policy, writes what
that policy lets through (and nothing for the connection whose policy asks a person), keeps its
runs, plan and journal in the shared history file under its own name, and emails its own
recipients a report with the right counts; a second run of a converged connection sends nothing.
Each test starts from both companies' generated worlds and a new history file of its own.
"""

from __future__ import annotations

import dataclasses
import email.policy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import orjson
import polars as pl
import pytest
import yaml

from emulators.data import generate_world
from emulators.launcher import Emulators
from emulators.smtp import MailServer
from pipelines.connections import load_connections
from pipelines.definitions import deployment_definitions

RELAY_PASSWORD = "relay-Passw0rd-e2e"
pytestmark = pytest.mark.slow


@dataclasses.dataclass
class Company:
    name: str
    emulators: Emulators
    world: Any


@dataclasses.dataclass
class Services:
    """What a deployment talks to: each company's emulators, and one mail relay."""

    companies: dict[str, Company]
    mail: MailServer


@dataclasses.dataclass
class Deployment:
    companies: dict[str, Company]
    mail: MailServer
    history: Path
    reports: Path
    connections_file: Path


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    root = tmp_path_factory.mktemp("services")
    companies: dict[str, Company] = {}
    with MailServer(tls_dir=root / "tls", username="reports", password=RELAY_PASSWORD) as mail:
        try:
            for name, seed in (("north", 21), ("south", 22)):
                world = generate_world(users=120, seed=seed)
                huma, entra = root / f"{name}-huma.json", root / f"{name}-entra.json"
                huma.write_bytes(orjson.dumps(world.huma))
                entra.write_bytes(orjson.dumps(world.entra))
                # One state folder: one local CA for both companies and the mail relay.
                emulators = Emulators(state_dir=root, huma_state=huma, entra_state=entra).start()
                companies[name] = Company(name, emulators, world)
            yield Services(companies, mail)
        finally:
            for company in companies.values():
                company.emulators.stop()


@pytest.fixture
def deployment(services: Services, tmp_path: Path) -> Deployment:
    """A fresh deployment: both companies' worlds as generated, a new history file and reports."""
    for company in services.companies.values():
        for side, state in (("huma", company.world.huma), ("entra", company.world.entra)):
            admin = company.emulators.admin(side)
            admin.load_state(state)
            admin.clear_requests()
    folder = tmp_path / "deployment"
    folder.mkdir()
    connections_file = folder / "connections.yaml"
    connections_file.write_text(yaml.safe_dump(_connections(services.companies)))
    return Deployment(
        services.companies,
        services.mail,
        folder / "history.duckdb",
        folder / "reports",
        connections_file,
    )


def _connections(companies: dict[str, Company]) -> dict[str, Any]:
    connections = {}
    for name, company in companies.items():
        tenant = company.world.entra["tenants"][0]
        connection: dict[str, Any] = {
            "huma": {
                "base_url": company.emulators.huma_url,
                "client_id": company.world.huma["apiKeys"][0]["clientId"],
                "client_secret_env": f"{name.upper()}_HUMA_SECRET",
                "default_group_id": company.world.huma["groups"][0]["id"],
            },
            "entra": {
                "tenant_id": tenant["id"],
                "client_id": tenant["applications"][0]["appId"],
                "client_secret_env": f"{name.upper()}_ENTRA_SECRET",
                "authority_host": company.emulators.entra_url,
                "graph_base_url": f"{company.emulators.entra_url}/v1.0",
            },
            "report": {"recipients": [f"it@{name}.example"], "sender": f"sync@{name}.example"},
            "schedule": {"cron": "0 3 * * *", "timezone": "Europe/Oslo"},
        }
        if name == "north":  # lets Huma's side through without asking anyone
            connection["policy"] = {
                "initial_direction": {
                    f: "huma_to_entra" for f in ("given_name", "family_name", "phone", "address")
                },
                "create_entra_users_automatically": True,
                "backfill_positions": True,
                "mass_change_max_share": 1.0,
            }
        connections[name] = connection
    return {"connections": connections}


@pytest.fixture
def run(deployment: Deployment, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """Runs a connection's job in-process, as `huma-entra-sync run` does."""
    for name, company in deployment.companies.items():
        key = company.world.huma["apiKeys"][0]
        app = company.world.entra["tenants"][0]["applications"][0]
        monkeypatch.setenv(f"{name.upper()}_HUMA_SECRET", key["clientSecret"])
        monkeypatch.setenv(f"{name.upper()}_ENTRA_SECRET", app["secrets"][0]["secretText"])
    monkeypatch.setenv("SSL_CERT_FILE", str(deployment.mail.ca_bundle))
    monkeypatch.setenv("HISTORY_DB_PATH", str(deployment.history))
    monkeypatch.setenv("REPORTS_DIR", str(deployment.reports))
    monkeypatch.setenv("SMTP_HOST", deployment.mail.host)
    monkeypatch.setenv("SMTP_PORT", str(deployment.mail.port))
    monkeypatch.setenv("SMTP_USERNAME", "reports")
    monkeypatch.setenv("SMTP_PASSWORD", RELAY_PASSWORD)
    defs = deployment_definitions(load_connections(deployment.connections_file))

    def execute(connection: str):
        import dagster as dg

        with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
            result = defs.resolve_job_def(f"sync_{connection}").execute_in_process(
                instance=instance, raise_on_error=False
            )
        assert result.success, [e.message for e in result.all_events if e.is_failure]
        return result

    return execute


def _writes(company: Company) -> list[dict[str, Any]]:
    """Every write the company's emulators applied (batch items included)."""
    huma = company.emulators.admin("huma").requests()
    entra = company.emulators.admin("entra").requests()
    return [
        e
        for e in huma + entra
        if e["method"] in ("PATCH", "POST")
        and e["status"]
        and e["status"] < 300
        and e["path"].startswith(("/users", "/v1.0/users"))
    ]


def _history(path: Path, sql: str, *params: Any) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as conn:
        return conn.execute(sql, list(params)).fetchall()


def test_two_connections_run_with_their_own_policies(deployment: Deployment, run) -> None:
    north, south = deployment.companies["north"], deployment.companies["south"]
    mail_before = len(deployment.mail.received)

    north_result = run("north")
    south_result = run("south")

    # North's policy lets Huma's side through: Huma-only people now exist in Entra.
    tenant = north.emulators.admin("entra").state()["tenants"][0]
    upns = {u["userPrincipalName"].casefold() for u in tenant["users"]}
    huma_only = [
        u for u in north.world.huma["users"] if u["id"] in set(north.world.manifest["huma_only"])
    ]
    assert huma_only
    assert all(u["email"].casefold() in upns for u in huma_only)
    assert _writes(north)
    # South's policy asks a person for everything but filling Entra's missing values (SPEC §5:
    # automatic toward Entra): Huma is never written, and Entra only with Huma's values.
    south_writes = _writes(south)
    assert not [w for w in south_writes if not w["path"].startswith("/v1.0/")]
    south_plan = south_result.asset_value(_key("south", "sync_plan")).result.sync_plan
    automatic = south_plan.filter(pl.col("status") == "auto_approved")
    assert set(automatic["action"]) <= {"update_entra"}
    assert len(south_writes) == automatic.height

    runs = _history(
        deployment.history, "SELECT connection, mode, outcome FROM runs ORDER BY connection"
    )
    assert runs == [("north", "apply", "succeeded"), ("south", "apply", "succeeded")]
    [(applied,)] = _history(
        deployment.history,
        "SELECT count(*) FROM apply_journal WHERE connection = 'north' AND status = 'applied'",
    )
    assert applied == len(
        [
            r
            for r in north_result.asset_value(_key("north", "applied_changes")).iter_rows(
                named=True
            )
            if r["status"] == "applied"
        ]
    )
    [(south_waiting,)] = _history(
        deployment.history,
        "SELECT count(*) FROM sync_plan WHERE connection = 'south' AND status = 'pending'",
    )
    assert south_waiting > 0
    assert south_result.asset_value(_key("south", "applied_changes")).height == automatic.height

    mails = deployment.mail.received[mail_before:]
    assert sorted(m.recipients for m in mails) == [("it@north.example",), ("it@south.example",)]
    by_connection = {m.recipients[0].split("@")[1].split(".")[0]: m for m in mails}
    assert f"{applied} change" in by_connection["north"].message["Subject"]
    text = by_connection["south"].message.get_body(("plain",)).get_content()
    assert f"{south_waiting} waiting" in by_connection["south"].message["Subject"]
    assert "huma-entra-sync decisions list --connection south" in text
    assert by_connection["north"].message.policy == email.policy.default


def test_a_converged_connection_sends_nothing_the_second_time(deployment, run) -> None:
    north = deployment.companies["north"]
    run("north")
    assert _writes(north)  # the first run had something to do
    north.emulators.admin("huma").clear_requests()
    north.emulators.admin("entra").clear_requests()

    result = run("north")

    assert _writes(north) == []
    assert result.asset_value(_key("north", "applied_changes")).height == 0


def _key(connection: str, name: str):
    import dagster as dg

    return dg.AssetKey([connection, name])

"""Optional fields end to end: the real job over the emulators, with a connection's `policy.fields`.

Pins: with `display_name`, `department` and `office` on, the Graph read selects their properties,
Huma's values (preferred or given name + family name, first team and location by name) reach
Entra, and a second run finds nothing left to write for them but what stays blocked; with the
fields off, the same job neither selects nor writes them. Each test starts from the generated
world and a new history.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import orjson
import polars as pl
import pytest
import yaml

from emulators.data import generate_world
from emulators.launcher import Emulators
from pipelines.connections import load_connections
from pipelines.definitions import deployment_definitions

pytestmark = pytest.mark.slow

_FIELDS = ("department", "display_name", "office")
_GRAPH = {"display_name": "displayName", "office": "officeLocation", "department": "department"}
_OPTIONAL_PROPERTY = re.compile(r"\b(displayName|department|officeLocation)\b")


@pytest.fixture(scope="module")
def company(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Emulators, Any]]:
    root = tmp_path_factory.mktemp("company")
    world = generate_world(users=60, seed=31)
    huma, entra = root / "huma.json", root / "entra.json"
    huma.write_bytes(orjson.dumps(world.huma))
    entra.write_bytes(orjson.dumps(world.entra))
    emulators = Emulators(state_dir=root, huma_state=huma, entra_state=entra).start()
    try:
        yield emulators, world
    finally:
        emulators.stop()


@pytest.fixture
def run(company, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """`run(fields)` runs a fresh connection's job once more, with those optional fields on."""
    emulators, world = company
    for side, state in (("huma", world.huma), ("entra", world.entra)):
        emulators.admin(side).load_state(state)
    tenant = world.entra["tenants"][0]
    key, app = world.huma["apiKeys"][0], tenant["applications"][0]
    monkeypatch.setenv("DEMO_HUMA_SECRET", key["clientSecret"])
    monkeypatch.setenv("DEMO_ENTRA_SECRET", app["secrets"][0]["secretText"])
    monkeypatch.setenv("SSL_CERT_FILE", str(emulators.ca_bundle))
    monkeypatch.setenv("HISTORY_DB_PATH", str(tmp_path / "history.duckdb"))
    monkeypatch.setenv("REPORTS_DIR", str(tmp_path / "reports"))

    def execute(fields: tuple[str, ...]) -> dg.ExecuteInProcessResult:
        policy = {
            "fields": list(fields),
            "initial_direction": dict.fromkeys(fields, "huma_to_entra"),
            "mass_change_max_share": 1.0,
        }
        connection = {
            "huma": {
                "base_url": emulators.huma_url,
                "client_id": key["clientId"],
                "client_secret_env": "DEMO_HUMA_SECRET",
            },
            "entra": {
                "tenant_id": tenant["id"],
                "client_id": app["appId"],
                "client_secret_env": "DEMO_ENTRA_SECRET",
                "authority_host": emulators.entra_url,
                "graph_base_url": f"{emulators.entra_url}/v1.0",
            },
            "report": {"recipients": [], "sender": "sync@demo.example"},
            "policy": policy,
        }
        path = tmp_path / "connections.yaml"
        path.write_text(yaml.safe_dump({"connections": {"demo": connection}}))
        defs = deployment_definitions(load_connections(path))
        emulators.admin("entra").clear_requests()
        with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
            result = defs.resolve_job_def("sync_demo").execute_in_process(
                instance=instance, raise_on_error=False
            )
        assert result.success, [e.message for e in result.all_events if e.is_failure]
        return result

    return execute


def _plan(result: dg.ExecuteInProcessResult) -> pl.DataFrame:
    return result.asset_value(dg.AssetKey(["demo", "sync_plan"])).result.sync_plan


def _graph_requests(emulators: Emulators) -> list[dict[str, Any]]:
    return emulators.admin("entra").requests()


def _optional_rows(plan: pl.DataFrame) -> pl.DataFrame:
    touches = pl.col("fields").list.eval(pl.element().is_in(_FIELDS)).list.any()
    return plan.filter(touches & (pl.col("action") == "update_entra"))


def test_fields_that_are_on_reach_entra_and_converge(company, run) -> None:
    emulators, _ = company

    first = run(_FIELDS)

    reads = [r for r in _graph_requests(emulators) if r["method"] == "GET"]
    assert any(_OPTIONAL_PROPERTY.search(urllib.parse.unquote(r["query"])) for r in reads)
    written = _optional_rows(_plan(first)).filter(pl.col("status") == "auto_approved")
    assert written.height > 0
    users = {u["id"]: u for u in emulators.admin("entra").state()["tenants"][0]["users"]}
    for row in written.iter_rows(named=True):
        values = orjson.loads(row["to_values"])
        for field in set(values) & set(_FIELDS):
            assert users[row["entra_id"]].get(_GRAPH[field]) == values[field], row

    second = run(_FIELDS)

    # Only what cannot be written is asked again (a user synchronised from on-premises AD).
    left = _optional_rows(_plan(second))
    assert set(left.get_column("status")) <= {"blocked"}
    assert left.height == _optional_rows(_plan(first)).filter(pl.col("status") == "blocked").height


def test_a_preferred_name_becomes_the_display_name(company, run) -> None:
    _, world = company
    result = run(("display_name",))

    huma = result.asset_value(dg.AssetKey(["demo", "huma_users"]))
    preferred = {u["id"]: u["preferredName"] for u in world.huma["users"] if u.get("preferredName")}
    with_preferred = huma.filter(pl.col("huma_id").is_in(list(preferred)))
    assert with_preferred.height > 0
    for row in with_preferred.iter_rows(named=True):
        expected = f"{preferred[row['huma_id']].strip()} {row['family_name']}"
        assert row["display_name"] == expected


def test_fields_that_are_off_are_neither_read_nor_written(company, run) -> None:
    emulators, _ = company

    result = run(())

    reads = [r for r in _graph_requests(emulators) if r["method"] == "GET"]
    assert reads
    assert not [r for r in reads if _OPTIONAL_PROPERTY.search(urllib.parse.unquote(r["query"]))]
    writes = [str(r.get("body")) for r in _graph_requests(emulators) if r["method"] != "GET"]
    assert not [w for w in writes if re.search(r"\b(department|officeLocation)\b", w)]
    assert _optional_rows(_plan(result)).height == 0
    assert not set(_FIELDS) & set(result.asset_value(dg.AssetKey(["demo", "huma_users"])).columns)

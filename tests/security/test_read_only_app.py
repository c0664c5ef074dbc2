"""A dry run needs only read access to Entra (SPEC §12): `User.Read.All` is enough.

Pins: with an app registration granted only `User.Read.All` (no `User.ReadWrite.All`, no
`Domain.Read.All`), `huma-entra-sync run --dry-run` finishes, plans the first run's changes and
sends nothing; a write with that app's token is refused by Graph (403), so the permission a
deployment grants is what bounds what the product can do.
"""

from __future__ import annotations

import copy

import duckdb

from resources.graph import GraphResource
from resources.graph_batch import GraphWrite
from tests.console_deployment import Deployment, console, finished_run
from tests.resources.conftest import graph_credentials

READER_APP_ID = "6f1c2d3e-4b5a-4c6d-8e7f-90a1b2c3d4e5"
READER_SECRET = "reader-Only-Secret-7Q"


def _register_read_only_app(deployment: Deployment) -> None:
    """The tenant gets a second app registration, granted `User.Read.All` only."""
    state = copy.deepcopy(deployment.outside.world.entra)
    state["tenants"][0]["applications"].append(
        {
            "appId": READER_APP_ID,
            "displayName": "huma-entra-sync (read only)",
            "secrets": [
                {
                    "keyId": "0d9e8f7a-6b5c-4d3e-8f2a-1b0c9d8e7f6a",
                    "secretText": READER_SECRET,
                    "endDateTime": "2030-12-31T00:00:00Z",
                }
            ],
            "certificates": [],
            "grantedPermissions": ["User.Read.All"],
        }
    )
    deployment.outside.entra.load_state(state)


def test_a_dry_run_works_with_read_access_only(deployment: Deployment) -> None:
    _register_read_only_app(deployment)
    env = deployment.environment() | {
        "ENTRA_CLIENT_ID": READER_APP_ID,
        "ENTRA_CLIENT_SECRET": READER_SECRET,
    }
    before = deployment.entra_users()

    run_id = finished_run(console("run", "--dry-run", env=env), "acme")

    with duckdb.connect(str(deployment.history), read_only=True) as conn:
        planned = conn.execute("SELECT count(*) FROM sync_plan").fetchone()
    assert planned == (0,)  # a dry run writes nothing to the history either
    report = next((deployment.folder / "reports" / "acme" / run_id).glob("report.txt"))
    assert "dry run" in report.read_text(encoding="utf-8").lower()
    writes = [e for e in deployment.outside.entra.requests() if e["method"] != "GET"]
    assert [e["path"] for e in writes if e["path"].startswith("/v1.0/")] == []
    assert deployment.entra_users() == before


def test_a_write_with_read_access_only_is_refused(deployment: Deployment, graph_resource) -> None:
    _register_read_only_app(deployment)
    reader: GraphResource = graph_resource(
        **graph_credentials(
            deployment.outside, client_id=READER_APP_ID, client_secret=READER_SECRET
        )
    )
    member = next(
        u for u in deployment.outside.tenant["users"] if u.get("userType", "Member") == "Member"
    )

    [outcome] = reader.write(
        writes=[GraphWrite("w1", "PATCH", f"/users/{member['id']}", {"jobTitle": "Intruder"})]
    )

    assert (outcome.ok, outcome.status) == (False, 403)
    assert deployment.entra_users()[member["id"]].get("jobTitle") != "Intruder"

"""Credentials that stop working: an access token that expires mid-run is renewed and the run
ends where a clean run ends; an expired client secret stops the run before anything is read or
written, with a message that says how to renew it, naming the variable the connection reads the
secret from.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.console_deployment import CONNECTIONS, Deployment, console
from tests.reliability.cases import measure_and_record
from tests.reliability.inprocess import InProcessRuns, failure_text
from tests.reliability.outcome import (
    changes_applied_twice,
    changes_lost,
    clean_end_state,
    end_state,
    the_world,
)
from tests.resources.conftest import Outside

#: Longer than both emulators' token lifetime (3,599 emulated seconds).
PAST_EXPIRY = 7200.0


@pytest.mark.reliability_slow
def test_access_tokens_expiring_mid_run_are_renewed(
    in_process: InProcessRuns, outside: Outside, tmp_path: Path, record_property
) -> None:
    expected = clean_end_state(outside, tmp_path / "clean", "world", the_world)
    for admin in (outside.huma, outside.entra):
        admin.update_settings({"time_frozen": True})

    def huma_page(page: int) -> None:
        if page == 2:  # the Huma token the scan holds expires between two pages
            outside.huma.advance_clock(PAST_EXPIRY)

    def graph_write(call: int) -> None:
        if call == 1:  # the Graph token of the snapshot expires before the writes
            outside.entra.advance_clock(PAST_EXPIRY)

    in_process.hooks.huma_list_page = huma_page
    in_process.hooks.graph_write = graph_write

    result = in_process.run()

    assert result.success, failure_text(result)
    for admin in (outside.huma, outside.entra):  # each service refused the expired token once
        assert any(e["status"] == 401 for e in admin.requests())
    lost, twice = measure_and_record(
        record_property, "access token expires mid-run", outside, expected
    )
    assert (lost, twice) == (0, 0)


def test_an_expired_client_secret_stops_the_run_and_says_how_to_renew_it(
    deployment: Deployment, outside: Outside, tmp_path: Path, record_property
) -> None:
    # The connection reads its secret from a variable of its own, as in a file of several.
    connections = yaml.safe_load(CONNECTIONS)
    connections["connections"]["acme"]["entra"]["client_secret_env"] = "ACME_ENTRA_SECRET"
    path = tmp_path / "acme.yaml"
    path.write_text(yaml.safe_dump(connections), encoding="utf-8")
    state = outside.entra.state()
    app = state["tenants"][0]["applications"][0]
    env = deployment.environment()
    env |= {
        "HUMA_ENTRA_SYNC_CONNECTIONS": str(path),
        "ACME_ENTRA_SECRET": env["ENTRA_CLIENT_SECRET"],
    }
    del env["ENTRA_CLIENT_SECRET"]
    for secret in app["secrets"]:
        secret["endDateTime"] = "2024-01-31T00:00:00Z"
    outside.entra.load_state(state)
    before = end_state(outside)

    # A run of its own process, as cron starts it: no token of an earlier run is at hand.
    done = console("run", env=env)

    said = done.stderr
    assert done.returncode == 1, said[-2000:]
    assert "AADSTS7000222" in said
    assert "the client secret has expired" in said
    assert "create a new client secret in the app registration" in said
    assert "update ACME_ENTRA_SECRET" in said  # where the new one goes, for this connection
    assert "ENTRA_CLIENT_SECRET" not in said
    lost, twice = changes_lost(before, end_state(outside)), changes_applied_twice(outside)
    record_property("case", "expired client secret")
    record_property("runs", 1)
    record_property("changes_lost", lost)
    record_property("changes_applied_twice", twice)
    assert (lost, twice) == (0, 0)  # nothing written anywhere

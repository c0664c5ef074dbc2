"""Each run records its numbers as numeric metadata, so the asset pages plot them night after night.

Pins: after a real run against the emulators, the instance's event log holds, per asset, the
snapshot sizes (Entra's members and guests told apart by the engine's one guest test) and
requests, the plan's rows and waiting count, the applied and failed counts as integers equal to
what the run did, and each step's stage times (wall and CPU seconds, history writes apart) as
non-negative floats.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from pipelines.definitions import deployment_definitions
from tests.resources.conftest import (  # noqa: F401 - fixtures
    Outside,
    outside,
    outside_session,
    world,
)

CONNECTION = "default"
_FOREIGN_PREFIXES = ("HUMA_", "ENTRA_", "GRAPH_", "SMTP_", "REPORT_", "DAGSTER_")


@pytest.fixture
def materialized(
    outside: Outside,  # noqa: F811 - the imported fixture
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
):
    """One run of the default connection; (its result, the metadata of each asset's event)."""
    import os

    for name in list(os.environ):
        if name.startswith(_FOREIGN_PREFIXES):
            monkeypatch.delenv(name)
    for name, value in outside.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("HISTORY_DB_PATH", str(tmp_path / "history.duckdb"))
    monkeypatch.setenv("REPORTS_DIR", str(tmp_path / "reports"))
    job = deployment_definitions().resolve_job_def(f"sync_{CONNECTION}")
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        result = job.execute_in_process(instance=instance, raise_on_error=False)
        assert result.success, [e.message for e in result.all_events if e.is_failure]
        metadata = {}
        for name in ("huma_users_raw", "entra_users_raw", "sync_plan", "applied_changes"):
            event = instance.get_latest_materialization_event(dg.AssetKey([CONNECTION, name]))
            assert event is not None
            assert event.asset_materialization is not None
            metadata[name] = event.asset_materialization.metadata
        metadata["sync_report"] = instance.get_latest_materialization_event(
            dg.AssetKey([CONNECTION, "sync_report"])
        ).asset_materialization.metadata
    return result, metadata


def _value(result: dg.ExecuteInProcessResult, name: str):
    return result.asset_value(dg.AssetKey([CONNECTION, name]))


def test_a_run_records_its_counts_and_stage_times_as_numbers(
    materialized,
    outside: Outside,  # noqa: F811 - the imported fixture
) -> None:
    result, metadata = materialized
    _counts_are_integers_equal_to_what_the_run_did(result, metadata, outside)
    _stage_times_are_float_seconds_per_part_of_each_step(metadata)


def _counts_are_integers_equal_to_what_the_run_did(result, metadata, emulated: Outside) -> None:
    plan = _value(result, "sync_plan").result.sync_plan
    applied = _value(result, "applied_changes")
    tenant = emulated.emulators.admin("entra").state()["tenants"][0]
    # A guest is out of scope (SPEC §4): `userType` Guest or an `#EXT#` user principal name.
    guests = sum(
        user.get("userType") == "Guest" or "#EXT#" in (user.get("userPrincipalName") or "").upper()
        for user in tenant["users"]
    )
    expected = {
        "huma_users_raw": {"users": len(emulated.world.huma["users"])},
        "entra_users_raw": {
            "users": len(tenant["users"]),
            "members": len(tenant["users"]) - guests,
            "guests": guests,
        },
        "sync_plan": {
            "plan_rows": plan.height,
            "waiting": plan.filter(pl.col("status").is_in(["pending", "stale"])).height,
            "auto_approved": plan.filter(pl.col("status") == "auto_approved").height,
        },
        "applied_changes": {
            "sent": applied.height,
            "applied": applied.filter(pl.col("status") == "applied").height,
            "failed": applied.filter(pl.col("status") == "failed").height,
        },
    }
    for asset, numbers in expected.items():
        for name, value in numbers.items():
            entry = metadata[asset][name]
            assert isinstance(entry, dg.IntMetadataValue), (asset, name, entry)
            assert entry.value == value, (asset, name)
    assert expected["sync_plan"]["plan_rows"] > 0
    assert guests > 0
    assert expected["applied_changes"]["applied"] > 0
    for side in ("huma_users_raw", "entra_users_raw"):
        requests = metadata[side]["requests"]
        assert isinstance(requests, dg.IntMetadataValue)
        assert requests.value > 0


def _stage_times_are_float_seconds_per_part_of_each_step(metadata) -> None:
    parts = {
        "huma_users_raw": ("read", "history"),
        "entra_users_raw": ("read", "history"),
        "sync_plan": ("plan", "validation", "history"),
        "applied_changes": ("settle", "apply", "next_state", "history"),
        "sync_report": ("report", "history"),
    }
    for asset, names in parts.items():
        for part in names:
            for suffix in ("_seconds", "_cpu_seconds"):
                entry = metadata[asset][part + suffix]
                assert isinstance(entry, dg.FloatMetadataValue), (asset, part + suffix, entry)
                assert entry.value is not None
                assert entry.value >= 0, (asset, part + suffix)
    # The read of a snapshot is the bulk of its step: it took some time.
    assert metadata["huma_users_raw"]["read_seconds"].value > 0

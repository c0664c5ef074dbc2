"""`huma-entra-sync demo`: the product on the embedded default, for a newcomer's first look.

Generates a small Nordic company, starts the Huma and Entra ID / Graph emulators with it, takes a
snapshot of each side with the real clients (OAuth2 against Huma, MSAL against the emulated
authority, all over TLS) and plans the first run, printing what it would do. Nothing is written:
the full nightly run (apply, history, email) comes with the orchestration.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import polars as pl


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--users", type=int, default=60, help="people in the generated company")
    parser.add_argument("--seed", type=int, default=7, help="seed of the generated company")


@contextmanager
def _emulated_company(users: int, seed: int) -> Iterator[dict[str, str]]:
    from emulators.data import write_world
    from emulators.launcher import Emulators

    with tempfile.TemporaryDirectory(prefix="huma-entra-sync-demo-") as folder:
        state_dir = Path(folder)
        huma_state, entra_state = write_world(state_dir, users=users, seed=seed)
        with Emulators(state_dir=state_dir, huma_state=huma_state, entra_state=entra_state) as em:
            env = em.environment()
            previous = os.environ.get("SSL_CERT_FILE")
            os.environ["SSL_CERT_FILE"] = env["SSL_CERT_FILE"]
            try:
                yield env
            finally:
                if previous is None:
                    os.environ.pop("SSL_CERT_FILE", None)
                else:
                    os.environ["SSL_CERT_FILE"] = previous


def run(args: argparse.Namespace) -> int:
    """Run the demo; returns the process exit code."""
    from reconcile.context import RunContext
    from reconcile.engine import plan_run
    from reconcile.policy import Policy
    from reconcile.state import empty_state
    from resources.graph import GraphResource
    from resources.huma import HumaResource

    started = time.perf_counter()
    print(f"Starting the Huma and Entra ID / Graph emulators with {args.users} generated people…")
    with _emulated_company(args.users, args.seed) as env:
        print(f"  Huma:        {env['HUMA_BASE_URL']}")
        print(f"  Entra/Graph: {env['ENTRA_AUTHORITY_HOST']}  (tenant {env['ENTRA_TENANT_ID']})")
        huma = HumaResource(
            base_url=env["HUMA_BASE_URL"],
            client_id=env["HUMA_CLIENT_ID"],
            client_secret=env["HUMA_CLIENT_SECRET"],
        )
        graph = GraphResource(
            tenant_id=env["ENTRA_TENANT_ID"],
            client_id=env["ENTRA_CLIENT_ID"],
            client_secret=env["ENTRA_CLIENT_SECRET"],
            authority_host=env["ENTRA_AUTHORITY_HOST"],
            graph_base_url=env["GRAPH_BASE_URL"],
        )
        try:
            huma_snapshot = huma.snapshot()
            entra_snapshot = graph.snapshot()
            domains = graph.verified_domains(users=entra_snapshot.users)
        finally:
            huma.close()
            graph.close()
        _print_snapshots(huma_snapshot.users, entra_snapshot.users, domains)
        policy = Policy(huma_default_group_id=env.get("HUMA_DEFAULT_GROUP_ID"))
        context = RunContext(run_at=datetime.now(UTC), verified_domains=frozenset(domains))
        result = plan_run(huma_snapshot.users, entra_snapshot.users, empty_state(), policy, context)
        _print_plan(result)
    print(f"\nDone in {time.perf_counter() - started:.1f} s. Nothing was written (first look).")
    return 0


def _print_snapshots(huma: pl.DataFrame, entra: pl.DataFrame, domains: list[str]) -> None:
    import polars as pl

    print("\nSnapshots (read with the real clients)")
    active = huma.filter(pl.col("active")).height
    print(f"  Huma:  {huma.height} people, {active} active, {huma.height - active} deactivated")
    members = entra.filter(pl.col("user_type") == "Member")
    enabled = members.filter(pl.col("account_enabled")).height
    print(
        f"  Entra: {entra.height} users, {members.height} members ({enabled} enabled), "
        f"{entra.height - members.height} guests; verified domains: {', '.join(domains)}"
    )


def _print_plan(result) -> None:
    import polars as pl

    plan = result.sync_plan
    print("\nThe first run's plan (activation: nothing pushed yet without a decision)")
    if plan.height:
        counts = plan.group_by("action", "status").len().sort("action", "status")
        for row in counts.iter_rows(named=True):
            print(f"  {row['action']:<18} {row['status']:<14} {row['len']:>4}")
    waiting = plan.filter(pl.col("decision_kind").is_not_null())
    if waiting.height:
        kinds = waiting.group_by("decision_kind").len().sort("decision_kind")
        listed = ", ".join(f"{r['decision_kind']} {r['len']}" for r in kinds.iter_rows(named=True))
        print(f"  waiting for a person: {listed}")
    failures = result.validation_failures
    if failures.height:
        rules = failures.group_by("side", "rule").len().sort("side", "rule")
        listed = ", ".join(
            f"{r['side']} {r['rule']} {r['len']}" for r in rules.iter_rows(named=True)
        )
        print(f"  held out by validation: {listed}")
    notices = result.notices
    if notices.height:
        kinds = notices.group_by("kind").len().sort("kind")
        listed = ", ".join(f"{r['kind']} {r['len']}" for r in kinds.iter_rows(named=True))
        print(f"  left alone on purpose: {listed}")
    examples = plan.filter(pl.col("status") == "blocked").head(3)
    for row in examples.iter_rows(named=True):
        print(f"  e.g. blocked {row['action']} for {row['email_key']}: {row['blocked_reason']}")

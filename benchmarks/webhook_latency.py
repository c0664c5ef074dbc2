"""Latency of a change from Huma to Entra through a webhook event and a targeted run.

    uv run python -m benchmarks.webhook_latency [--changes 50] [--interval 1] [--users 300]

Generates a company, starts both emulators (own processes, real TLS) and runs the activation.
Then, `--changes` times: one person's phone changes in the Huma emulator, the emulator sends its
signed webhook to the product's receiver (served in this process over TLS on loopback,
`cli.demo_webhook`), which stores the event, and the connection's webhook sensor ticks as the
daemon would: at a uniformly random moment within its minimum interval (`--interval`) after the
event is stored, then the run it asks for runs (`tick_and_run`, in this process). The latency is
from the change in Huma to the Graph write, the write's time read from the Graph emulator's
request log. Printed: median and 95th percentile, with the parts that bound it: the delivery
until the receiver stored it, the wait for the sensor's tick, the run's start-up until its first
Huma request, the reads and plan until the write, and, measured apart, what a deployment's run
launcher adds per run (a new process loading the definitions).

Not a test: the machine's load moves every figure.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from emulators.data import write_world
from emulators.launcher import Emulators

ROOT = Path(__file__).resolve().parents[1]
CONNECTION = "bench"
_FOREIGN_PREFIXES = ("HUMA_", "ENTRA_", "GRAPH_", "SMTP_", "REPORT_", "DAGSTER_")
_CONNECTIONS = """\
connections:
  bench:
    huma:
      base_url_env: HUMA_BASE_URL
      client_id_env: HUMA_CLIENT_ID
      client_secret_env: HUMA_CLIENT_SECRET
      webhook_secret_env: HUMA_WEBHOOK_SECRET
    entra:
      tenant_id_env: ENTRA_TENANT_ID
      client_id_env: ENTRA_CLIENT_ID
      client_secret_env: ENTRA_CLIENT_SECRET
      authority_host_env: ENTRA_AUTHORITY_HOST
      graph_base_url_env: GRAPH_BASE_URL
    webhooks: {{min_interval_seconds: {interval}}}
    policy:
      initial_direction: {{phone: huma_to_entra}}
      mass_change_max_share: 1.0
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=50)
    parser.add_argument("--interval", type=int, default=1, help="the sensor's minimum interval")
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        huma_state, entra_state = write_world(
            folder / "emulators", users=args.users, seed=args.seed
        )
        with Emulators(
            state_dir=folder / "emulators", huma_state=huma_state, entra_state=entra_state
        ) as emulators:
            _configure(folder, emulators, args.interval)
            rows = _measure(emulators, folder, args.changes, args.interval, args.seed)
            launch = _launcher_overhead()
    sys.stdout.write(_render(rows, launch, args))
    return 0


def _configure(folder: Path, emulators: Emulators, interval: int) -> None:
    connections = folder / "connections.yaml"
    connections.write_text(_CONNECTIONS.format(interval=interval), encoding="utf-8")
    for name in [k for k in os.environ if k.startswith(_FOREIGN_PREFIXES)]:
        del os.environ[name]
    os.environ.update(
        emulators.environment()
        | {
            "HUMA_ENTRA_SYNC_CONNECTIONS": str(connections),
            "HISTORY_DB_PATH": str(folder / "history.duckdb"),
            "REPORTS_DIR": str(folder / "reports"),
            "DAGSTER_HOME": str(folder / "dagster"),
            "HUMA_WEBHOOK_SECRET": secrets.token_urlsafe(32),
        }
    )


def _measure(
    emulators: Emulators, folder: Path, changes: int, interval: int, seed: int
) -> list[dict[str, float]]:
    import dagster as dg

    from assets.keys import job_name
    from cli.console import dagster_instance
    from cli.demo_webhook import huma_sending_to_receiver, wait_for_event
    from pipelines.definitions import deployment_definitions
    from pipelines.webhook_runs import tick_and_run
    from resources.webhook_events import WebhookEventStore, event_store_path

    history = folder / "history.duckdb"
    definitions = deployment_definitions()
    instance = dagster_instance()
    quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    definitions.resolve_job_def(job_name(CONNECTION)).execute_in_process(  # raises on failure
        instance=instance, run_config=quiet
    )
    store = WebhookEventStore(event_store_path(history, CONNECTION))
    huma, entra = emulators.admin("huma"), emulators.admin("entra")
    people = _linked_people(huma, entra)
    rng = random.Random(seed)
    rows = []
    with huma_sending_to_receiver(
        huma,
        CONNECTION,
        os.environ["HUMA_WEBHOOK_SECRET"],
        folder / "emulators" / "tls",
        emulators.ca_bundle,
    ):
        for n in range(changes):
            person, entra_id = people[n % len(people)]
            phone = f"+47 4{n:02d} 00 {rng.randrange(100, 999)}"
            since = max((e["seq"] for e in entra.requests()), default=0)
            huma_since = max((e["seq"] for e in huma.requests()), default=0)
            changed_at = datetime.now(UTC)
            huma.call("PATCH", f"/users/{person['id']}", {"phone": phone})
            wait_for_event(store, huma)
            stored_at = datetime.now(UTC)
            time.sleep(rng.uniform(0, interval))  # the daemon's next tick of the sensor
            ticked_at = datetime.now(UTC)
            result = tick_and_run(definitions, instance, CONNECTION, str(history))
            if isinstance(result, dg.SkipReason) or not result.success:
                raise RuntimeError(f"change {n}: no successful targeted run ({result})")
            write = _graph_write(entra.requests(since=since, method="PATCH"), entra_id)
            first_read = min(
                datetime.fromisoformat(e["at"])
                for e in huma.requests(since=huma_since, path_prefix="/users/")
            )
            rows.append(
                {
                    "latency": (write - changed_at).total_seconds(),
                    "delivery": (stored_at - changed_at).total_seconds(),
                    "tick_wait": (ticked_at - stored_at).total_seconds(),
                    "start_up": (first_read - ticked_at).total_seconds(),
                    "read_plan_write": (write - first_read).total_seconds(),
                }
            )
    instance.dispose()
    return rows


def _linked_people(huma: Any, entra: Any) -> list[tuple[dict[str, Any], str]]:
    by_email = {
        u["mail"].casefold(): u["id"] for u in entra.state()["tenants"][0]["users"] if u.get("mail")
    }
    return [
        (u, by_email[u["email"].casefold()])
        for u in huma.state()["users"]
        if u["status"]["active"] and u["email"].casefold() in by_email
    ]


def _graph_write(entries: list[dict[str, Any]], entra_id: str) -> datetime:
    written = [
        datetime.fromisoformat(e["at"])
        for e in entries
        if e["path"].endswith(f"/users/{entra_id}") and e["status"] == 204
    ]
    if not written:
        raise RuntimeError(f"no write of {entra_id} reached Graph")
    return min(written)


def _launcher_overhead() -> float:
    """Seconds a new Python process takes to load the definitions: what the daemon's run
    launcher adds to each run before its first step."""
    started = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-c",
            "from pipelines.definitions import deployment_definitions as d; d()",
        ],
        cwd=ROOT,
        check=True,
    )
    return time.perf_counter() - started


def _quantiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95


def _render(rows: list[dict[str, float]], launch: float, args: argparse.Namespace) -> str:
    lines = [
        f"# Webhook → Graph write latency ({len(rows)} changes, {args.users} people, "
        f"sensor minimum interval {args.interval} s, load {os.getloadavg()[0]:.1f})",
        "",
        "| part | median s | p95 s |",
        "|---|---:|---:|",
    ]
    for name, label in (
        ("latency", "**change in Huma → Graph write**"),
        ("delivery", "Huma's webhook → stored by the receiver"),
        ("tick_wait", "wait for the sensor's tick"),
        ("start_up", "run start-up (in process) → first Huma read"),
        ("read_plan_write", "reads, plan, history → Graph write"),
    ):
        median, p95 = _quantiles([row[name] for row in rows])
        lines.append(f"| {label} | {median:.2f} | {p95:.2f} |")
    lines += [
        "",
        f"A deployment's run launcher starts each run in a new process: add about {launch:.1f} s "
        "(loading the definitions, measured apart) to every figure above.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())

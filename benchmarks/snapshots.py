"""How long the product's clients take to snapshot each side, and where the time goes.

    uv run python -m benchmarks.snapshots [--users 100000] [--seed 7] [--side huma|entra|both]
        [--fields manager,department]

Generates a world, starts both emulators (their own processes, real TLS) and takes one snapshot
per side with the real resources (`HumaResource`, `GraphResource`), as the pipeline does. For
each it prints the wall time, the CPU time this process spent (the client: HTTP, JSON parsing,
frame building; the rest of the wall time is waiting on the server), and the frame-building
share measured on its own. Client and emulators share the machine's cores. `--fields` switches
optional fields on, as a connection's policy does (the manager makes Graph page by 100).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from emulators.data import write_world
from emulators.launcher import Emulators
from resources.graph import GraphResource
from resources.graph_snapshot import entra_users_frame
from resources.huma import HumaResource
from resources.huma_snapshot import huma_users_frame


def _timed(work: Callable[[], object]) -> tuple[object, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--side", choices=["huma", "entra", "both"], default="both")
    parser.add_argument("--huma-concurrency", type=int, default=16)
    parser.add_argument("--fields", default="", help="optional fields on, comma-separated")
    args = parser.parse_args(argv)
    fields = [name for name in args.fields.split(",") if name]

    with tempfile.TemporaryDirectory() as folder:
        state_dir = Path(folder)
        started = time.perf_counter()
        huma_state, entra_state = write_world(state_dir, users=args.users, seed=args.seed)
        print(
            f"world of {args.users:,} people written in {time.perf_counter() - started:.1f} s",
            file=sys.stderr,
        )
        emulators = Emulators(
            state_dir=state_dir,
            huma_state=huma_state if args.side != "entra" else None,
            entra_state=entra_state if args.side != "huma" else None,
        )
        with emulators as em:
            env = em.environment()
            os.environ["SSL_CERT_FILE"] = env["SSL_CERT_FILE"]
            rows = []
            if args.side in ("huma", "both"):
                huma = huma_resource(
                    env, max_concurrency=args.huma_concurrency, optional_fields=fields
                )
                rows.append(_snapshot("Huma", huma, huma_users_frame))
            if args.side in ("entra", "both"):
                graph = graph_resource(env, optional_fields=fields)
                rows.append(_snapshot("Entra (Graph)", graph, entra_users_frame))

    print(
        f"\nSnapshots of {args.users:,} people per side ({os.cpu_count()} cores, client and "
        f"emulators on the same machine; optional fields: {', '.join(fields) or 'none'})\n"
    )
    print(
        "| side | users | requests | wall s | client CPU s | client share | of which frame "
        "building s | users/s |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for side, users, requests, wall, cpu, frame in rows:
        print(
            f"| {side} | {users:,} | {requests:,} | {wall:.1f} | {cpu:.1f} | "
            f"{min(cpu / wall, 1.0):.0%} | {frame:.2f} | {users / wall:,.0f} |"
        )
    return 0


def huma_resource(env: dict[str, str], **config: Any) -> HumaResource:
    """A `HumaResource` for the emulators whose environment is `env`."""
    return HumaResource(
        base_url=env["HUMA_BASE_URL"],
        client_id=env["HUMA_CLIENT_ID"],
        client_secret=env["HUMA_CLIENT_SECRET"],
        **config,
    )


def graph_resource(env: dict[str, str], **config: Any) -> GraphResource:
    """A `GraphResource` for the emulators whose environment is `env`."""
    return GraphResource(
        tenant_id=env["ENTRA_TENANT_ID"],
        client_id=env["ENTRA_CLIENT_ID"],
        client_secret=env["ENTRA_CLIENT_SECRET"],
        authority_host=env["ENTRA_AUTHORITY_HOST"],
        graph_base_url=env["GRAPH_BASE_URL"],
        **config,
    )


def _snapshot(
    side: str, resource: HumaResource | GraphResource, frame: Callable[[list], object]
) -> tuple:
    """One snapshot with `resource`, then its frame built again on its own from the payloads."""
    try:
        snapshot, wall, cpu = _timed(resource.snapshot)
    finally:
        resource.close()
    payloads = [orjson.loads(p) for p in snapshot.raw["payload"]]
    _, frame_wall, _ = _timed(lambda: frame(payloads))
    return (side, snapshot.users.height, snapshot.requests, wall, cpu, frame_wall)


if __name__ == "__main__":
    sys.exit(main())

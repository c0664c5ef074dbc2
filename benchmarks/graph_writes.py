"""How close the client's pacing runs to Graph's write quota, against the emulator.

    uv run python -m benchmarks.graph_writes [--writes 2000] [--scales 150 15]

For each time scale, the Graph emulator's write quota is scaled down (300 writes per 150
emulated seconds, so 300 * scale / 150 writes per real second) and `GraphResource.write` applies
`--writes` PATCHes through `$batch`, paced to the same quota. The ideal time is what a client that
spends the initial bucket at once and then exactly the refill rate would take; the share is ideal
time / measured time (100 % = exactly at the quota). 429s are counted from the emulator's log.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import orjson

from benchmarks.snapshots import graph_resource
from emulators.data import generate_world
from emulators.launcher import Emulators
from resources.graph_batch import GraphWrite

QUOTA = 300  # writes per 150 emulated seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=2000)
    parser.add_argument("--scales", type=float, nargs="+", default=[150.0, 15.0])
    args = parser.parse_args(argv)
    world = generate_world(users=300, seed=5)
    tenant = world.entra["tenants"][0]
    members = [
        u
        for u in tenant["users"]
        if u["userType"] == "Member" and u["accountEnabled"] and not u["onPremisesSyncEnabled"]
    ]
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        state = Path(folder) / "entra-state.json"
        state.write_bytes(orjson.dumps(world.entra))
        with Emulators(state_dir=Path(folder), huma_state=None, entra_state=state) as emulators:
            env = emulators.environment()
            os.environ["SSL_CERT_FILE"] = env["SSL_CERT_FILE"]
            admin = emulators.admin("entra")
            for scale in args.scales:
                admin.load_state(world.entra)
                admin.clear_requests()
                admin.update_settings(
                    {
                        "time_scale": scale,
                        "token_lifetime_seconds": 3599 * scale,
                        "throttling": {"writes_per_150s": QUOTA},
                    }
                )
                window = 150.0 / scale
                resource = graph_resource(env, writes_per_150s=QUOTA, write_window_seconds=window)
                writes = [
                    GraphWrite(
                        f"c{i}",
                        "PATCH",
                        f"/users/{members[i % len(members)]['id']}",
                        {"jobTitle": f"Paced {scale} {i}"},
                    )
                    for i in range(args.writes)
                ]
                resource.client()  # token and discovery before the clock starts
                started = time.perf_counter()
                outcomes = resource.write(writes=writes)
                elapsed = time.perf_counter() - started
                resource.close()
                statuses = Counter(e["status"] for e in admin.requests() if e["parent"])
                rate = QUOTA / window
                ideal = max(args.writes - QUOTA, 0) / rate
                rows.append(
                    (
                        scale,
                        rate,
                        args.writes,
                        sum(o.ok for o in outcomes),
                        elapsed,
                        ideal,
                        statuses[429],
                    )
                )
    print("\nGraph writes paced to the write quota (emulator, real TLS)\n")
    print(
        "| time scale | quota writes/s | writes | applied | seconds | ideal s | share of quota "
        "| 429s |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for scale, rate, count, applied, elapsed, ideal, throttled in rows:
        print(
            f"| {scale:g} | {rate:.0f} | {count:,} | {applied:,} | {elapsed:.2f} | {ideal:.2f} "
            f"| {ideal / elapsed:.0%} | {throttled} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

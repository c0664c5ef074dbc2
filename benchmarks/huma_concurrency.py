"""The Huma client's adaptive concurrency over time, against a slow and a throttling emulator.

    uv run python -m benchmarks.huma_concurrency [--users 4000] [--max-concurrency 16]

Starts the Huma emulator (its own process, real TLS) and takes one snapshot per scenario with the
product's `HumaClient`, changing the emulator's fault settings on a schedule while it runs:

- slow: every answer 50 ms late (a real tenant far away): the limit stays at the maximum;
- throttling: healthy, then 20 % of requests answered 429 (`Retry-After: 1`) for a few seconds,
  then healthy again: the limit comes down within the 429s and climbs back after;
- slow and throttling: both at once (the 429s from 6 s to 10 s, once the slow list pass is done).

Prints, per scenario and second, the requests the emulator received (from its request log), the
429s and 5xx among them, and the client's limit at the end of the second. Not a test: timings
depend on the machine's load.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import os
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from benchmarks.emulators_huma import make_state
from emulators.launcher import Emulators
from resources.huma_client import HumaClient

_HEALTHY: dict[str, Any] = {"throttle_rate": 0.0, "slow_rate": 0.0}
_SLOW = {"slow_rate": 1.0, "slow_seconds": 0.05}
_BRISK = {"slow_rate": 1.0, "slow_seconds": 0.01}
_THROTTLING = {"throttle_rate": 0.2, "throttle_retry_after": 1}


@dataclasses.dataclass(frozen=True)
class Scenario:
    name: str
    #: (seconds after the start, fault settings from then on)
    schedule: tuple[tuple[float, dict[str, Any]], ...]


SCENARIOS = (
    Scenario("slow (every answer 50 ms late)", ((0.0, _SLOW),)),
    Scenario(
        # 10 ms per answer: at full speed this machine's emulator answers 4,000 reads in one
        # second, before any 429 would come.
        "throttling (10 ms per answer; 20 % 429 from 1 s to 3 s)",
        ((0.0, _BRISK), (1.0, _BRISK | _THROTTLING), (3.0, _HEALTHY | _BRISK)),
    ),
    Scenario(
        "slow and throttling (50 ms; 20 % 429 from 6 s to 10 s)",
        ((0.0, _SLOW), (6.0, _SLOW | _THROTTLING), (10.0, _HEALTHY | _SLOW)),
    ),
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=4000)
    parser.add_argument("--max-concurrency", type=int, default=16)
    args = parser.parse_args(argv)

    state = make_state(args.users)
    key = state["apiKeys"][0]
    with tempfile.TemporaryDirectory() as folder:
        state_file = Path(folder) / "huma-state.json"
        state_file.write_bytes(orjson.dumps(state))
        with Emulators(state_dir=Path(folder), huma_state=state_file, entra_state=None) as emu:
            os.environ["SSL_CERT_FILE"] = str(emu.ca_bundle)
            admin = emu.admin("huma")
            credentials = {
                "base_url": emu.huma_url,
                "client_id": key["clientId"],
                "client_secret": key["clientSecret"],
                "max_concurrency": args.max_concurrency,
            }
            for scenario in SCENARIOS:
                admin.update_settings({"faults": {**_HEALTHY, "seed": 1}})
                admin.clear_requests()
                seconds = _run(scenario, credentials, admin)
                _print(scenario, seconds, admin.requests(), args)
    return 0


def _run(scenario: Scenario, credentials: dict[str, Any], admin: Any) -> list[tuple[float, int]]:
    """One snapshot under `scenario`'s schedule; the client's limit sampled every 0.1 s."""
    samples: list[tuple[float, int]] = []
    with (
        HumaClient(**credentials) as client,
        concurrent.futures.ThreadPoolExecutor(1) as runner,
    ):
        client.auth.token()  # the token is not what is measured
        started = time.time()
        scan = runner.submit(client.scan_users)
        pending = list(scenario.schedule)
        while not scan.done():
            elapsed = time.time() - started
            while pending and pending[0][0] <= elapsed:
                admin.update_settings({"faults": pending.pop(0)[1]})
            samples.append((time.time(), client.concurrency.limit))
            time.sleep(0.1)
        scan.result()
    admin.update_settings({"faults": _HEALTHY})
    return samples


def _print(scenario: Scenario, samples: list[tuple[float, int]], log: list, args) -> None:
    start = samples[0][0]
    requests, pushed_back = Counter(), Counter()
    for entry in log:
        if not entry["path"].startswith("/users"):
            continue
        second = int(datetime.fromisoformat(entry["at"]).timestamp() - start)
        requests[second] += 1
        if entry["status"] == 429 or (entry["status"] or 0) >= 500:
            pushed_back[second] += 1
    limits = {int(at - start): limit for at, limit in samples}
    print(f"\n{scenario.name}: {args.users:,} users, max concurrency {args.max_concurrency}\n")
    print("| second | requests/s | of which 429/5xx | limit at its end |")
    print("|---:|---:|---:|---:|")
    for second in range(max(requests) + 1):
        limit = limits.get(second, "")
        print(f"| {second} | {requests[second]:,} | {pushed_back[second]:,} | {limit} |")


if __name__ == "__main__":
    sys.exit(main())

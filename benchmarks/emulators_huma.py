"""How fast the Huma emulator answers a plain httpx client, with 100,000 users loaded.

    uv run python -m benchmarks.emulators_huma [--users 100000] [--details 5000] [--threads 16]

Starts the Huma emulator alone (its own process, real TLS), then measures the two calls a Huma
snapshot is made of: `GET /users?limit=50` pages (a full scan) and `GET /users/{id}` details,
first one request at a time, then from `--threads` threads with one keep-alive client each.
Prints a table of requests per second. Client and emulator share the machine's cores, so the
figures are what a pipeline run on the same machine would see, not the emulator's ceiling.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import random
import ssl
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import orjson

from emulators.launcher import Emulators

_GIVEN = ["Anna", "Bjørn", "Carla", "David", "Eva", "Frode", "Guro", "Håkon", "Ida", "Jonas"]
_FAMILY = ["Berg", "Dahl", "Eng", "Fosse", "Gran", "Haugen", "Lie", "Moen", "Nilsen", "Rønning"]
_CITIES = [("0155", "Oslo"), ("5003", "Bergen"), ("7011", "Trondheim"), ("4006", "Stavanger")]


def make_state(users: int, seed: int = 1) -> dict[str, Any]:
    """A `huma-emulator/1` state with `users` people: 10% deactivated, most with a position."""
    rnd = random.Random(seed)

    def new_id() -> str:
        return str(uuid.UUID(int=rnd.getrandbits(128), version=4))

    company, titles = new_id(), [new_id() for _ in range(20)]
    people = []
    for n in range(users):
        given, family = rnd.choice(_GIVEN), rnd.choice(_FAMILY)
        postal_code, city = rnd.choice(_CITIES)
        active = rnd.random() > 0.1
        people.append(
            {
                "id": new_id(),
                "givenName": given,
                "familyName": family,
                "email": f"{given}.{family}.{n}@bench.example".lower(),
                "phone": f"+47 9{n:07d}",
                "homeAddress": {"line1": f"Gate {n % 300 + 1}", "line2": None, "line3": None}
                | {"postalCode": postal_code, "city": city, "country": "NO"},
                "employmentId": f"E{n:07d}",
                "status": {
                    "active": active,
                    "deactivatedAt": None if active else "2024-05-01T08:00:00.000Z",
                },
                "groups": [company],
                "positions": [
                    {
                        "id": new_id(),
                        "titleId": rnd.choice(titles),
                        "contractStartDate": f"{rnd.randint(2000, 2024)}-0{rnd.randint(1, 9)}-01",
                        "contractEndDate": None,
                        "percentage": 100,
                        "contractType": "Permanent",
                    }
                ],
                "hiddenFields": [],
            }
        )
    return {
        "format": "huma-emulator/1",
        "organization": {"id": new_id(), "name": "Bench AS"},
        "apiKeys": [{"clientId": new_id(), "clientSecret": new_id(), "active": True}],
        "groups": [{"id": company, "name": "Bench AS", "type": "company"}],
        "jobTitles": [{"id": t, "name": f"Title {i}"} for i, t in enumerate(titles)],
        "users": people,
    }


def huma_client(url: str, ca_bundle: Path, token: str) -> httpx.Client:
    """A plain keep-alive httpx client of Huma at `url` with a bearer `token`."""
    verify = ssl.create_default_context(cafile=str(ca_bundle))
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.Client(base_url=url, verify=verify, headers=headers, timeout=60)


def get_all(
    work: list[str], threads: int, new_client: Callable[[], httpx.Client]
) -> tuple[int, float]:
    """GET every path of `work` from `threads` threads; (requests, seconds)."""
    shares = [work[i::threads] for i in range(threads)]

    def worker(paths: list[str]) -> int:
        with new_client() as client:
            for path in paths:
                client.get(path).raise_for_status()
        return len(paths)

    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        done = sum(pool.map(worker, shares))
    return done, time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--details", type=int, default=5_000, help="detail requests per run")
    parser.add_argument("--threads", type=int, default=16)
    args = parser.parse_args(argv)

    state = make_state(args.users)
    key = state["apiKeys"][0]
    ids = [u["id"] for u in state["users"]]
    random.Random(2).shuffle(ids)
    details = [f"/users/{i}" for i in ids[: args.details]]
    pages = [f"/users?limit=50&offset={o}" for o in range(0, args.users, 50)]
    with tempfile.TemporaryDirectory() as folder:
        state_file = Path(folder) / "huma-state.json"
        state_file.write_bytes(orjson.dumps(state))
        del state
        started = time.perf_counter()
        with Emulators(state_dir=Path(folder), huma_state=state_file, entra_state=None) as emu:
            load_seconds = time.perf_counter() - started
            grant = {"grant_type": "client_credentials"}
            grant |= {"client_id": key["clientId"], "client_secret": key["clientSecret"]}
            verify = ssl.create_default_context(cafile=str(emu.ca_bundle))
            token = httpx.post(f"{emu.huma_url}/auth/oauth/token", data=grant, verify=verify)
            token.raise_for_status()

            def new_client() -> httpx.Client:
                return huma_client(emu.huma_url, emu.ca_bundle, token.json()["access_token"])

            rows = []
            for label, work in (("list page (limit=50)", pages), ("user detail", details)):
                for threads in (1, args.threads):
                    done, seconds = get_all(work, threads, new_client)
                    rows.append((label, threads, done, seconds))

    out = sys.stdout
    out.write(f"Huma emulator, {args.users:,} users (start and load: {load_seconds:.1f} s)\n\n")
    out.write("| request | client threads | requests | seconds | requests/s |\n")
    out.write("|---|---:|---:|---:|---:|\n")
    for label, threads, done, seconds in rows:
        out.write(f"| {label} | {threads} | {done:,} | {seconds:.2f} | {done / seconds:,.0f} |\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

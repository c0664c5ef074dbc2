"""Client CPU per Huma detail GET, wire by wire, measured side by side in one run.

    uv run python -m benchmarks.huma_wire [--users 10000] [--details 10000] [--concurrency 16]
        [--rounds 2]

Starts the Huma emulator alone (its own process, real TLS) and reads the same `GET /users/{id}`
details, `--concurrency` under way at once, with each way of sending them:

- `httpx.Client`: the I/O floor's bare client (`benchmarks.io_floor`), one per thread;
- `httpcore`: httpx's engine, one connection pool of one connection per thread;
- `http.client`: the standard library's `HTTPSConnection`, one per thread;
- `asyncio`: one event loop over `--concurrency` TLS streams, no threads;
- `Lanes`: the product's lanes (`resources.http_lanes`), shared by the threads;
- `HumaClient`: the product's whole read path (`get_user`: lanes, concurrency gate, retries,
  JSON decoding), from a thread pool as a snapshot reads.

Rounds alternate the ways, so a machine whose load changes during the run treats them alike.
For each the table gives wall seconds, client CPU seconds (this process: every thread), client
CPU per request and the emulator's CPU seconds; the client runs on one core (the interpreter
lock), so client CPU per request is what bounds a snapshot's pace.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import http.client
import os
import random
import ssl
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpcore
import httpx
import orjson

from benchmarks.emulators_huma import get_all, huma_client, make_state
from benchmarks.io_floor import process_cpu_seconds
from emulators.launcher import Emulators
from resources.http_lanes import Lanes
from resources.huma_client import HumaClient

#: A way of reading: (paths, concurrency) -> requests answered 200.
Way = Callable[[list[str], int], int]


def _threads(paths: list[str], concurrency: int, worker: Callable[[list[str]], int]) -> int:
    shares = [paths[i::concurrency] for i in range(concurrency)]
    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        return sum(pool.map(worker, shares))


def ways(url: str, ca_bundle: Path, token: str, key: dict[str, str]) -> dict[str, Way]:
    """The ways of reading details from the Huma emulator at `url`, by name."""
    parsed = httpx.URL(url)
    auth = f"Bearer {token}"

    def tls() -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(ca_bundle))

    def with_httpx(paths: list[str], concurrency: int) -> int:
        return get_all(paths, concurrency, lambda: huma_client(url, ca_bundle, token))[0]

    def with_httpcore(paths: list[str], concurrency: int) -> int:
        def worker(share: list[str]) -> int:
            answered = 0
            headers = [(b"Host", parsed.netloc), (b"Authorization", auth.encode())]
            with httpcore.ConnectionPool(ssl_context=tls(), max_connections=1) as pool:
                for path in share:
                    core_url = httpcore.URL(
                        scheme=b"https", host=parsed.raw_host, port=parsed.port, target=path
                    )
                    answered += pool.request(b"GET", core_url, headers=headers).status == 200
            return answered

        return _threads(paths, concurrency, worker)

    def with_http_client(paths: list[str], concurrency: int) -> int:
        def worker(share: list[str]) -> int:
            connection = http.client.HTTPSConnection(parsed.host, parsed.port, context=tls())
            answered = 0
            for path in share:
                connection.request("GET", path, headers={"Authorization": auth})
                answer = connection.getresponse()
                answer.read()
                answered += answer.status == 200
            connection.close()
            return answered

        return _threads(paths, concurrency, worker)

    def with_asyncio(paths: list[str], concurrency: int) -> int:
        async def worker(share: list[str]) -> int:
            reader, writer = await asyncio.open_connection(parsed.host, parsed.port, ssl=tls())
            answered = 0
            for path in share:
                head = f"GET {path} HTTP/1.1\r\nHost: {parsed.netloc.decode()}\r\n"
                writer.write(f"{head}Authorization: {auth}\r\n\r\n".encode())
                lines = (await reader.readuntil(b"\r\n\r\n")).split(b"\r\n")
                answered += lines[0].split(b" ")[1] == b"200"
                length = next(
                    int(line.partition(b":")[2])
                    for line in lines
                    if line.lower().startswith(b"content-length:")
                )
                await reader.readexactly(length)
            writer.close()
            return answered

        async def everyone() -> int:
            shares = [paths[i::concurrency] for i in range(concurrency)]
            return sum(await asyncio.gather(*(worker(share) for share in shares)))

        return asyncio.run(everyone())

    def with_lanes(paths: list[str], concurrency: int) -> int:
        lanes = Lanes(base_url=url, timeout_seconds=60)
        bearer = [(b"Authorization", auth.encode())]

        def worker(share: list[str]) -> int:
            return sum(lanes.get(path, bearer).status_code == 200 for path in share)

        try:
            return _threads(paths, concurrency, worker)
        finally:
            lanes.close()

    def with_huma_client(paths: list[str], concurrency: int) -> int:
        client = HumaClient(
            base_url=url,
            client_id=key["clientId"],
            client_secret=key["clientSecret"],
            max_concurrency=concurrency,
        )
        ids = [path.rpartition("/")[2] for path in paths]
        with client, concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
            return sum(isinstance(user, dict) for user in pool.map(client.get_user, ids))

    return {
        "httpx.Client (the floor's)": with_httpx,
        "httpcore": with_httpcore,
        "http.client": with_http_client,
        "asyncio streams": with_asyncio,
        "Lanes (product)": with_lanes,
        "HumaClient.get_user (product)": with_huma_client,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--details", type=int, default=10_000, help="detail GETs per way")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2, help="times each way is measured")
    parser.add_argument("--only", action="append", help="measure only ways whose name has this")
    args = parser.parse_args(argv)

    state = make_state(args.users)
    key = state["apiKeys"][0]
    ids = [u["id"] for u in state["users"]]
    random.Random(2).shuffle(ids)
    paths = [f"/users/{ids[n % len(ids)]}" for n in range(args.details)]
    results: dict[str, list[tuple[float, float, float]]] = {}
    with tempfile.TemporaryDirectory() as folder:
        state_file = Path(folder) / "huma-state.json"
        state_file.write_bytes(orjson.dumps(state))
        del state
        with Emulators(state_dir=Path(folder), huma_state=state_file, entra_state=None) as emu:
            pid = emu.huma.process.pid if emu.huma is not None else os.getpid()
            os.environ["SSL_CERT_FILE"] = str(emu.ca_bundle)
            grant = {"grant_type": "client_credentials"}
            grant |= {"client_id": key["clientId"], "client_secret": key["clientSecret"]}
            verify = ssl.create_default_context(cafile=str(emu.ca_bundle))
            token = httpx.post(f"{emu.huma_url}/auth/oauth/token", data=grant, verify=verify)
            chosen = ways(emu.huma_url, emu.ca_bundle, token.json()["access_token"], key)
            if args.only:
                chosen = {k: v for k, v in chosen.items() if any(o in k for o in args.only)}
            for _ in range(args.rounds):
                for name, way in chosen.items():
                    server = process_cpu_seconds(pid)
                    wall, cpu = time.perf_counter(), time.process_time()
                    done = way(paths, args.concurrency)
                    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                    server = process_cpu_seconds(pid) - server
                    if done != len(paths):
                        raise SystemExit(f"{name}: {done} of {len(paths)} answered 200")
                    results.setdefault(name, []).append((wall, cpu, server))

    out = sys.stdout
    out.write(
        f"Huma detail GETs: {args.details:,} per way, {args.concurrency} under way, "
        f"{args.users:,} users loaded, {os.cpu_count()} cores, load average "
        f"{os.getloadavg()[0]:.1f}; median of {args.rounds} rounds\n\n"
    )
    out.write("| way | wall s | client CPU s | client CPU ms/request | server CPU s |\n")
    out.write("|---|---:|---:|---:|---:|\n")
    for name, runs in results.items():
        wall, cpu, server = (statistics.median(column) for column in zip(*runs, strict=True))
        out.write(
            f"| {name} | {wall:.2f} | {cpu:.2f} | {cpu / args.details * 1000:.3f} | "
            f"{server:.2f} |\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

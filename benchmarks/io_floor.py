"""The I/O floor of a run: only the requests a snapshot of both sides cannot do without.

A bare client (plain httpx, no retries, no frames) fetches what the product's snapshots fetch:
both tokens, every Graph page (`$top=999`, the product's `$select`), every Huma list page and one
detail GET per user, `concurrency` at a time. Its wall and CPU time per part is the floor a run's
snapshots are measured against. The emulators' own CPU time over the same requests gives their
answer rate (requests per CPU second of the server), so a slow emulator is told from a slow client.
"""

from __future__ import annotations

import os
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from benchmarks.emulators_graph import list_all
from benchmarks.emulators_huma import get_all, huma_client

_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds process `pid` has used so far (Linux `/proc/PID/stat`)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


@dataclass(frozen=True)
class Part:
    """One part of the floor: requests made, wall and client CPU seconds, server CPU seconds."""

    name: str
    requests: int
    wall: float
    cpu: float
    server_cpu: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "part": self.name,
            "requests": self.requests,
            "wall_s": round(self.wall, 3),
            "cpu_s": round(self.cpu, 3),
            "server_cpu_s": round(self.server_cpu, 3),
            "server_answers_per_cpu_s": round(self.requests / self.server_cpu)
            if self.server_cpu
            else None,
        }


def _part(name: str, server_pid: int, work: Callable[[], int]) -> Part:
    """Run `work` (returns its request count), timed on this side and on the server's."""
    server, wall, cpu = process_cpu_seconds(server_pid), time.perf_counter(), time.process_time()
    requests = work()
    return Part(
        name,
        requests,
        time.perf_counter() - wall,
        time.process_time() - cpu,
        process_cpu_seconds(server_pid) - server,
    )


def entra_token(env: dict[str, str], tls: ssl.SSLContext) -> str:
    """A Graph access token from the Entra emulator's authority (client credentials)."""
    answer = httpx.post(
        f"{env['ENTRA_AUTHORITY_HOST']}/{env['ENTRA_TENANT_ID']}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": env["ENTRA_CLIENT_ID"],
            "client_secret": env["ENTRA_CLIENT_SECRET"],
            "scope": "https://graph.microsoft.com/.default",
        },
        verify=tls,
    )
    return answer.raise_for_status().json()["access_token"]


def io_floor(env: dict[str, str], *, pids: dict[str, int], concurrency: int = 16) -> list[Part]:
    """The floor's parts against the emulators whose client environment is `env`.

    Args:
        env: `Emulators.environment()` (URLs, credentials, CA bundle).
        pids: the Huma and Entra emulators' process ids (`"huma"`, `"entra"`).
        concurrency: Huma detail GETs under way at once (the product's default is 16).
    """
    tls = ssl.create_default_context(cafile=env["SSL_CERT_FILE"])
    tokens: dict[str, str] = {}

    def get_tokens() -> int:
        huma = httpx.post(
            f"{env['HUMA_BASE_URL']}/auth/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": env["HUMA_CLIENT_ID"],
                "client_secret": env["HUMA_CLIENT_SECRET"],
            },
            verify=tls,
        )
        tokens["huma"] = huma.raise_for_status().json()["access_token"]
        tokens["entra"] = entra_token(env, tls)
        return 2

    ids: list[str] = []

    def new_client() -> httpx.Client:
        return huma_client(env["HUMA_BASE_URL"], Path(env["SSL_CERT_FILE"]), tokens["huma"])

    def huma_pages() -> int:
        pages, offset = 0, 0
        with new_client() as client:
            while True:
                page = client.get("/users", params={"limit": 50, "offset": offset})
                body = page.raise_for_status().json()
                pages += 1
                ids.extend(item["id"] for item in body["items"])
                offset += len(body["items"])
                if not body["items"] or offset >= body["total"]:
                    return pages

    def huma_details() -> int:
        return get_all([f"/users/{i}" for i in ids], concurrency, new_client)[0]

    def graph_pages() -> int:
        base = env["GRAPH_BASE_URL"].removesuffix("/v1.0")
        return list_all(base, tokens["entra"], tls)[1]

    return [
        _part("tokens (Huma and Entra)", pids["huma"], get_tokens),
        _part("Graph pages", pids["entra"], graph_pages),
        _part("Huma pages", pids["huma"], huma_pages),
        _part(f"Huma details ({concurrency} at a time)", pids["huma"], huma_details),
    ]

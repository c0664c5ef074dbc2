"""How long the product's clients take to snapshot each side, and where the time goes.

    uv run python -m benchmarks.snapshots [--users 100000] [--seed 7] [--side huma|entra|both]
        [--fields manager,department] [--code DIR ...] [--repeat N]
    uv run python -m benchmarks.snapshots --memory [--sizes 100000 1000000] [--code DIR ...]

Generates a world, starts both emulators (their own processes, real TLS) and takes one snapshot
per side and source tree (`--code`, default this one; `--repeat` rounds of all in turn) with the
real resources (`HumaResource`, `GraphResource`), as the pipeline does, each in a process of
its own. For each it prints the wall time and the CPU time the snapshot's process spent (the
client: HTTP, JSON parsing, frame building; the rest of the wall time is waiting on the server);
after each round of Entra snapshots, the Graph I/O floor (a bare httpx client fetching the same
pages one after another, as `benchmarks.io_floor` does) and each snapshot's wall time over it.
Client and emulators share the machine's cores. `--fields` switches optional fields on, as a
connection's policy does (the manager makes Graph page by 100).

`--memory` measures each `--side`'s snapshot's peak resident memory instead, each size in a
process of its own (the peak is the process's `ru_maxrss`), against a service in the same process:
for Huma the emulator's `UserDetails` of a generated world of at most 10,000 people, for Entra
the Graph user objects of the same world (the product's `$select`) in pages of 999, repeated
under new ids up to the size; served without sockets, so the CPU is the client's reading work
plus a small serving share alike for every code. The Huma child then runs what the snapshot
asset does after the read, part by part (the history's `record_snapshot`, `passed_on`, the IO
manager's file), and prints each part's peak resident set (`VmHWM`, started again before each
part) and what is resident after it. `--code` names source trees to measure the same
way (e.g. a worktree of another commit, to compare before and after in one invocation); the
default is this one.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import ssl
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import orjson

from benchmarks.emulators_graph import list_all
from benchmarks.io_floor import entra_token
from emulators.data import write_world
from emulators.data.world import generate_world
from emulators.huma.app import build_world
from emulators.huma.render import today
from emulators.launcher import Emulators
from resources.graph import GraphResource
from resources.graph_client import GraphClient, user_select
from resources.huma import HumaResource
from resources.huma_client import HumaClient


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
    parser.add_argument("--memory", action="store_true", help="the snapshots' peak memory")
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--code", type=Path, nargs="+", default=[Path(__file__).parents[1]])
    parser.add_argument("--repeat", type=int, default=1, help="rounds of every code in turn")
    parser.add_argument("--memory-child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--snapshot-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.snapshot_child:
        return _snapshot_child()
    if args.memory_child:
        if args.side == "entra":
            return _graph_memory_child(args.memory_child, args.users)
        return _memory_child(args.memory_child, args.users, args.huma_concurrency)
    if args.memory:
        sides = ["huma", "entra"] if args.side == "both" else [args.side]
        return _memory(args.sizes, args.code, args.seed, args.huma_concurrency, sides)
    fields = [name for name in args.fields.split(",") if name]
    sides = [side for side in ("huma", "entra") if args.side in (side, "both")]

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
            huma_state=huma_state if "huma" in sides else None,
            entra_state=entra_state if "entra" in sides else None,
        )
        rows = []
        with emulators as em:
            env = em.environment()
            os.environ["SSL_CERT_FILE"] = env["SSL_CERT_FILE"]
            for _ in range(args.repeat):
                for side in sides:
                    for tree in args.code:
                        config = {"side": side, "fields": fields, "env": env}
                        config["concurrency"] = args.huma_concurrency
                        rows.append((side, tree.resolve().name, _in_child(tree, config)))
                        print(rows[-1], file=sys.stderr)
                    if side == "entra":
                        rows.append(("entra", "I/O floor (bare httpx)", _graph_floor(env)))

    print(
        f"\nSnapshots of {args.users:,} people per side ({os.cpu_count()} cores, client and "
        f"emulators on the same machine; optional fields: {', '.join(fields) or 'none'}; each "
        "snapshot in a process of its own, the floor's bare client in this one)\n"
    )
    print(
        "| side | code | users | requests | wall s | client CPU s | CPU µs per user "
        "| / floor (wall) |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    floor = None
    for side, code, m in reversed(rows):  # each Entra round's floor comes after its snapshots
        if code.startswith("I/O floor"):
            floor = m["wall_s"]
        m["ratio"] = f"{m['wall_s'] / floor:.2f}" if side == "entra" and floor else ""
    for side, code, m in rows:
        print(
            f"| {side} | {code} | {m['users']:,} | {m['requests']:,} | {m['wall_s']:.2f} | "
            f"{m['cpu_s']:.2f} | {m['cpu_s'] / max(m['users'], 1) * 1e6:,.1f} | {m['ratio']} |"
        )
    return 0


def _in_child(tree: Path, config: dict[str, Any]) -> dict[str, Any]:
    """One snapshot by the code in `tree`, in a process of its own (`_snapshot_child`)."""
    child = subprocess.run(  # noqa: S603 - this interpreter and this file
        [sys.executable, str(Path(__file__).resolve()), "--snapshot-child"],
        env=os.environ | {"PYTHONPATH": str(tree.resolve())},
        input=json.dumps(config),
        stdout=subprocess.PIPE,
        text=True,
        check=True,
    )
    return json.loads(child.stdout.splitlines()[-1])


def _snapshot_child() -> int:
    """One snapshot as `_in_child` describes it on stdin; prints its measures as JSON."""
    config = json.loads(sys.stdin.read())
    env, fields = config["env"], config["fields"]
    if config["side"] == "huma":
        resource_: HumaResource | GraphResource = huma_resource(
            env, max_concurrency=config["concurrency"], optional_fields=fields
        )
    else:
        resource_ = graph_resource(env, optional_fields=fields)
    try:
        snapshot, wall, cpu = _timed(resource_.snapshot)
    finally:
        resource_.close()
    measures = {"users": snapshot.users.height, "requests": snapshot.requests}
    print(json.dumps(measures | {"wall_s": wall, "cpu_s": cpu}))
    return 0


def _graph_floor(env: dict[str, str]) -> dict[str, Any]:
    """The Graph snapshot's I/O floor: a token, then a bare httpx client fetching every page
    with the product's query (`benchmarks.emulators_graph.list_all`), one after another."""
    tls = ssl.create_default_context(cafile=env["SSL_CERT_FILE"])
    token = entra_token(env, tls)
    base = env["GRAPH_BASE_URL"].removesuffix("/v1.0")
    (users, pages), wall, cpu = _timed(lambda: list_all(base, token, tls))
    return {"users": users, "requests": pages, "wall_s": wall, "cpu_s": cpu}


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


_TEMPLATE_PEOPLE = 10_000


def _memory(
    sizes: list[int], trees: list[Path], seed: int, concurrency: int, sides: list[str]
) -> int:
    """Each side's snapshot's peak memory and CPU per size and source tree (see the
    docstring)."""
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        templates = {side: Path(folder) / f"{side}.json" for side in sides}
        world = generate_world(users=_TEMPLATE_PEOPLE, seed=seed)
        if "huma" in templates:
            huma = build_world(world.huma)
            on = today()
            # One `UserDetails` per line: the child holds them as bytes, never all decoded.
            details = (orjson.dumps(huma.renderer.details(u, on)) for u in huma.store)
            templates["huma"].write_bytes(b"\n".join(details))
        if "entra" in templates:
            select = user_select()
            objects = (
                orjson.dumps({prop: user.get(prop) for prop in select})
                for user in world.entra["tenants"][0]["users"]
            )
            templates["entra"].write_bytes(b"\n".join(objects))
        for side in sides:
            for size in sizes:
                for tree in trees:
                    child = subprocess.run(  # noqa: S603 - this interpreter and this file
                        [
                            sys.executable,
                            str(Path(__file__).resolve()),
                            f"--memory-child={templates[side]}",
                            f"--side={side}",
                            f"--users={size}",
                            f"--huma-concurrency={concurrency}",
                        ],
                        env=os.environ | {"PYTHONPATH": str(tree.resolve())},
                        stdout=subprocess.PIPE,
                        text=True,
                        check=True,
                    )
                    rows.append((side, tree, size, json.loads(child.stdout.splitlines()[-1])))
                    print(side, tree, size, rows[-1][3], file=sys.stderr)
    print(f"\nThe snapshots' memory, each in a process of its own ({os.cpu_count()} cores)\n")
    print(
        "| side | code | users | peak RSS MB | before the snapshot MB | after it MB | CPU s "
        "| CPU µs per user | peak KB per user | wall s |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for side, tree, size, m in rows:
        print(
            f"| {side} | {tree.resolve().name} | {size:,} | {m['peak_mb']:,.0f} | "
            f"{m['start_mb']:,.0f} | {m['end_mb']:,.0f} | {m['cpu_s']:.2f} | "
            f"{m['cpu_s'] / size * 1e6:,.1f} | "
            f"{(m['peak_mb'] - m['start_mb']) * 1024 / size:,.2f} | {m['wall_s']:.2f} |"
        )
    if any(len(m["parts"]) > 1 for *_, m in rows):
        print(
            "\nThe Huma step part by part (each part's peak and what is resident after it; "
            "KB per user over the process's start)\n"
        )
        print(
            "| code | users | part | peak MB | after MB | CPU s | peak KB per user "
            "| after KB per user |"
        )
        print("|---|---:|---|---:|---:|---:|---:|---:|")
        for _, tree, size, m in rows:
            for part in m["parts"]:
                print(
                    f"| {tree.resolve().name} | {size:,} | {part['part']} | "
                    f"{part['peak_mb']:,.0f} | {part['after_mb']:,.0f} | {part['cpu_s']:.2f} | "
                    f"{(part['peak_mb'] - m['start_mb']) * 1024 / size:,.2f} | "
                    f"{(part['after_mb'] - m['start_mb']) * 1024 / size:,.2f} |"
                )
    return 0


def _memory_child(templates: Path, users: int, concurrency: int) -> int:
    """One Huma snapshot of `users` people against `_InProcessHuma`; prints its measures as
    JSON."""
    huma = _InProcessHuma(templates.read_bytes().splitlines(), users)
    env = {"HUMA_BASE_URL": "https://huma.test", "HUMA_CLIENT_ID": "id", "HUMA_CLIENT_SECRET": ""}
    resource_ = huma_resource(env, max_concurrency=concurrency)
    resource_._client = HumaClient(
        base_url=env["HUMA_BASE_URL"],
        client_id=env["HUMA_CLIENT_ID"],
        client_secret=env["HUMA_CLIENT_SECRET"],
        max_concurrency=concurrency,
        transport=httpx.MockTransport(huma.answer),
    )
    # What the parts after the read import (Dagster, DuckDB) is resident before the start, as
    # in the step: the parts' figures are then the step's work alone.
    import resources.history  # noqa: F401

    _measure_snapshot(resource_, users, after=_huma_step_after_read)
    return 0


def _graph_memory_child(templates: Path, users: int) -> int:
    """One Entra snapshot of `users` people against `_InProcessGraph`; prints its measures as
    JSON."""
    graph = _InProcessGraph(templates.read_bytes().splitlines(), users)
    env = {
        "ENTRA_TENANT_ID": "t",
        "ENTRA_CLIENT_ID": "c",
        "ENTRA_CLIENT_SECRET": "s",
        "ENTRA_AUTHORITY_HOST": "https://login.test",
        "GRAPH_BASE_URL": _InProcessGraph.BASE,
    }
    resource_ = graph_resource(env)
    resource_._client = GraphClient(
        tokens=_FixedToken(),
        base_url=_InProcessGraph.BASE,
        transport=httpx.MockTransport(graph.answer),
    )
    _measure_snapshot(resource_, users)
    return 0


def _measure_snapshot(
    resource_: HumaResource | GraphResource,
    users: int,
    after: Callable[[Any], list[tuple[str, Callable[[], object]]]] | None = None,
) -> None:
    """Take one snapshot with `resource_` and print its measures as JSON; then, with `after`,
    run each part it names on the snapshot in turn (what the asset does after the read) and
    add each part's peak resident memory and what is resident after it (`parts`)."""
    start_mb = _rss_mb()
    _reset_peak()
    snapshot, wall, cpu = _timed(resource_.snapshot)
    if not snapshot.complete or snapshot.users.height != users:
        raise RuntimeError(f"the snapshot is not whole: {snapshot.users.height} of {users} users")
    measures = {
        "start_mb": start_mb,
        "end_mb": _rss_mb(),
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "cpu_s": cpu,
        "wall_s": wall,
        "parts": [{"part": "read", "peak_mb": _peak_mb(), "after_mb": _rss_mb(), "cpu_s": cpu}],
    }
    for name, part in after(snapshot) if after else []:
        _reset_peak()
        _, _, part_cpu = _timed(part)
        measures["parts"].append(
            {"part": name, "peak_mb": _peak_mb(), "after_mb": _rss_mb(), "cpu_s": part_cpu}
        )
    print(json.dumps(measures))


def _huma_step_after_read(snapshot: Any) -> list[tuple[str, Callable[[], object]]]:
    """What the Huma snapshot asset does with the snapshot after the read, as parts run in
    turn on the same objects (`assets.snapshots`): the history keeps the run's snapshot (begin
    the run, `record_snapshot` in one session, into a fresh history file), the snapshot as the
    later steps get it (`passed_on`), and the IO manager's file of it (`write_value`). What a
    part leaves is kept for the next, as in the step."""
    from datetime import UTC, datetime

    from assets.snapshots import passed_on
    from pipelines.io_manager import write_value
    from resources.history import HistoryStore
    from resources.history.runs import APPLY

    folder = Path(tempfile.mkdtemp(prefix="huma-step-"))
    kept: dict[str, Any] = {}

    def history() -> None:
        store = HistoryStore(folder / "history.duckdb")
        with store.session(doing="benchmark: huma snapshot"):
            store.begin_run(
                run_id="r1", connection="bench", mode=APPLY, started_at=datetime.now(UTC)
            )
            store.record_snapshot(
                run_id="r1",
                side="huma",
                users=snapshot.users,
                raw=snapshot.raw,
                complete=snapshot.complete,
            )

    def hand_on() -> None:
        kept["passed"] = passed_on(snapshot)

    def io_manager() -> None:
        write_value(folder / "huma_users_raw", kept["passed"])

    return [("history", history), ("passed_on", hand_on), ("io_manager", io_manager)]


def _reset_peak() -> None:
    """Start the process's peak resident set (`VmHWM`) again from what is resident now."""
    Path("/proc/self/clear_refs").write_text("5")


def _peak_mb() -> float:
    """The process's peak resident set since the last `_reset_peak`."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def _rss_mb() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGESIZE") / 2**20


class _InProcessHuma:
    """`users` people whose details are the templates' (`UserDetails` JSON) in turn, each under
    its own id."""

    def __init__(self, templates: list[bytes], users: int) -> None:
        self._templates = [(orjson.loads(t)["id"].encode(), t) for t in templates]
        self._ids = [str(uuid.UUID(int=n + 1)) for n in range(users)]
        self._index = {user_id: n for n, user_id in enumerate(self._ids)}

    def answer(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/auth/oauth/token":
            return httpx.Response(200, json={"access_token": "t", "expires_in": 3600})
        if path == "/users":
            offset = int(request.url.params["offset"])
            limit = int(request.url.params["limit"])
            items = [
                {"id": i, "email": f"{i}@x.test", "givenName": "A", "familyName": "B"}
                for i in self._ids[offset : offset + limit]
            ]
            return httpx.Response(
                200, content=orjson.dumps({"total": len(self._ids), "items": items})
            )
        user_id = path.removeprefix("/users/")
        old_id, template = self._templates[self._index[user_id] % len(self._templates)]
        return httpx.Response(200, content=template.replace(old_id, user_id.encode(), 1))


class _FixedToken:
    """A token source that always has the same token."""

    def token(self) -> str:
        return "in-process-token"

    def forget(self, token: str) -> None:
        pass


class _InProcessGraph:
    """`users` Graph user objects, the templates' (JSON, one per line) in turn, each under its own
    id, listed in pages of 999 (`@odata.count` on the first, `@odata.nextLink` to the next)."""

    BASE = "https://graph.test/v1.0"
    _PAGE = 999

    def __init__(self, templates: list[bytes], users: int) -> None:
        self._templates = [(orjson.loads(t)["id"].encode(), t) for t in templates]
        self._users = users

    def answer(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/v1.0/domains":
            return httpx.Response(200, json={"value": [{"id": "x.test", "isVerified": True}]})
        offset = int(request.url.params.get("$skiptoken", "0"))
        end = min(offset + self._PAGE, self._users)
        users = b",".join(self._user(n) for n in range(offset, end))
        head = b'{"@odata.count":%d,' % self._users if offset == 0 else b"{"
        if end < self._users:
            head += b'"@odata.nextLink":"%s/users?$skiptoken=%d",' % (self.BASE.encode(), end)
        return httpx.Response(200, content=head + b'"value":[' + users + b"]}")

    def _user(self, n: int) -> bytes:
        old_id, template = self._templates[n % len(self._templates)]
        return template.replace(old_id, str(uuid.UUID(int=n + 1)).encode(), 1)


if __name__ == "__main__":
    sys.exit(main())

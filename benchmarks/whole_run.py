"""The whole nightly run against the emulators, by stage, beside floors measured in the same run.

    uv run python -m benchmarks.whole_run [--users 10000 100000] [--drift 0.01] [--out var/bench]
        [--no-floor] [--activation-only]

Per size: generate a company, start both emulators (own processes, real TLS), then run the real
job as cron would (`huma-entra-sync run`, a child process with its own history, reports and
Dagster home): the activation, then, after `--drift` of the people changed a phone (half in Huma,
half in Entra), the incremental run. Just before the incremental run, the I/O floor
(`benchmarks.io_floor`: a bare client fetching the same pages and details) and the emulators'
answer rate are measured on the same state. Per stage of each run: wall time, CPU time, peak
resident memory and requests. Stage times come from the run's own numeric metadata (each step
times its parts); CPU and memory of start-up and of each step's window from sampling the child's
`/proc`; requests from the emulators' request logs; the totals from the child's `rusage`. The
emulators' own peak resident memory is sampled too (they hold the whole company).

Writes `whole-run.md` and `whole-run.json` into `--out` and prints the markdown. Not a test: the
machine's load moves every figure, so compare ratios measured in one invocation.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

from benchmarks.io_floor import io_floor
from benchmarks.run_stages import Sampler, measure_run
from emulators.data import write_world
from emulators.launcher import Emulators

ROOT = Path(__file__).resolve().parents[1]
#: Settings of the caller's shell that would reach past the emulators are not handed on.
_FOREIGN_PREFIXES = ("HUMA_", "ENTRA_", "GRAPH_", "SMTP_", "REPORT_", "DAGSTER_")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--drift", type=float, default=0.01, help="share of people changed")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--concurrency", type=int, default=16, help="the floor's detail GETs")
    parser.add_argument("--out", type=Path, default=ROOT / "var" / "bench")
    parser.add_argument(
        "--no-floor",
        action="store_true",
        help="skip the I/O floor (for the run's own figures: memory, start-up, CPU)",
    )
    parser.add_argument(
        "--activation-only",
        action="store_true",
        help="only the activation (the first, largest run: a large company's pair takes hours)",
    )
    args = parser.parse_args(argv)
    report: dict[str, Any] = {"machine": machine(), "sizes": []}
    args.out.mkdir(parents=True, exist_ok=True)
    for users in args.users:
        report["sizes"].append(
            measure_size(
                users,
                args.drift,
                args.seed,
                args.concurrency,
                floor=not args.no_floor,
                incremental=not args.activation_only,
            )
        )
        report["machine"]["load_average_after"] = list(os.getloadavg())
        # Written after each size, so a long benchmark's finished sizes are kept.
        markdown = render(report)
        (args.out / "whole-run.json").write_text(json.dumps(report, indent=2) + "\n")
        (args.out / "whole-run.md").write_text(markdown)
    sys.stdout.write(markdown)
    return 0


def machine() -> dict[str, Any]:
    """Cores, memory, load and the versions that matter."""
    from importlib.metadata import version

    meminfo = Path("/proc/meminfo").read_text().split("\n", 1)[0].split()
    git = shutil.which("git")
    commit = (
        subprocess.run(  # noqa: S603 - git found on PATH, fixed arguments
            [git, "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        if git
        else ""
    )
    return {
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "memory_gb": round(int(meminfo[1]) / 1024 / 1024, 1),
        "load_average_before": list(os.getloadavg()),
        "python": platform.python_version(),
        "versions": {p: version(p) for p in ("dagster", "polars", "duckdb", "httpx", "pandera")},
        "commit": commit or None,
    }


def measure_size(
    users: int,
    drift: float,
    seed: int,
    concurrency: int,
    *,
    floor: bool = True,
    incremental: bool = True,
) -> dict[str, Any]:
    """Activation, drift, floor (unless not `floor`), incremental run (unless not
    `incremental`: then neither drift nor floor), for a company of `users` people."""
    changed, floor_parts, second = 0, [], None
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        huma_state, entra_state = write_world(folder / "emulators", users=users, seed=seed)
        with Emulators(
            state_dir=folder / "emulators",
            huma_state=huma_state,
            entra_state=entra_state,
            # An emulator loads its whole company before it says it is ready: a minute per
            # 100,000 people on a loaded machine, beyond the launcher's default wait.
            ready_timeout=max(60.0, 60.0 * users / 100_000),
        ) as emulators:
            pids = {"huma": emulators.huma.process.pid, "entra": emulators.entra.process.pid}
            samplers = {name: _sampled(pid) for name, pid in pids.items()}
            env = run_environment(emulators.environment(), folder)
            activation = measure_run(env, emulators)
            if incremental:
                changed = change_phones(emulators, drift)
                if floor:
                    floor_parts = io_floor(
                        emulators.environment(), pids=pids, concurrency=concurrency
                    )
                second = measure_run(env, emulators).as_dict()
            for sampler in samplers.values():
                sampler.stop()
    return {
        "users": users,
        "changed_people": changed,
        "activation": activation.as_dict(),
        "incremental": second,
        "floor": [part.as_dict() for part in floor_parts],
        "emulators_peak_mb": {
            name: sampler.peak(0, float("inf")) for name, sampler in samplers.items()
        },
    }


def _sampled(pid: int) -> Sampler:
    """A `Sampler` of `pid`'s CPU and memory, running until stopped."""
    sampler = Sampler(pid)
    threading.Thread(target=sampler.run, daemon=True).start()
    return sampler


def run_environment(emulator_env: dict[str, str], folder: Path) -> dict[str, str]:
    """The child's environment: this one without foreign settings, the emulators' connection
    (the `default` connection, default policy), and the history, reports and Dagster home in
    `folder`. No mail relay: the report is kept as files."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_FOREIGN_PREFIXES)}
    return (
        env
        | emulator_env
        | {
            "HISTORY_DB_PATH": str(folder / "history.duckdb"),
            "REPORTS_DIR": str(folder / "reports"),
            "DAGSTER_HOME": str(folder / "dagster"),
        }
    )


def change_phones(emulators: Emulators, share: float) -> int:
    """`share` of the people in both systems change their phone: half in Huma, half in Entra.

    Changed through the emulators' admin endpoints (as people would in each system's UI); returns
    how many people changed.
    """
    huma, entra = emulators.admin("huma"), emulators.admin("entra")
    tenant = entra.state()["tenants"][0]
    by_email = {u["mail"].casefold(): u for u in tenant["users"] if u.get("mail")}
    pairs = [
        (u, by_email[u["email"].casefold()])
        for u in huma.state()["users"]
        if u["status"]["active"] and u.get("phone") and u["email"].casefold() in by_email
    ]
    count = round(share * len(pairs))
    for n, (person, member) in enumerate(pairs[:count]):
        if n % 2 == 0:
            huma.call("PATCH", f"/users/{person['id']}", {"phone": _another(person["phone"])})
        else:
            phone = _another(member.get("mobilePhone") or person["phone"])
            entra.call(
                "PATCH", f"/tenants/{tenant['id']}/users/{member['id']}", {"mobilePhone": phone}
            )
    return count


def _another(phone: str) -> str:
    """The same number with its last digit moved on by one."""
    return phone[:-1] + str((int(phone[-1]) + 1) % 10)


def _ratio(numerator: float, denominator: float) -> str:
    return f"{numerator / denominator:.2f}" if denominator else "-"


def render(report: dict[str, Any]) -> str:
    """The markdown: the machine, then per size the stage table, the floor and the ratios."""
    m = report["machine"]
    lines = [
        "# Whole run against the emulators",
        "",
        f"{m['date']}, commit {m['commit']}: {m['cores']} cores, {m['memory_gb']} GB, load "
        f"average {m['load_average_before'][0]:.1f} before and "
        f"{m.get('load_average_after', [0])[0]:.1f} after; Python {m['python']}, "
        + ", ".join(f"{k} {v}" for k, v in m["versions"].items())
        + ". Client and emulators share the cores.",
    ]
    for size in report["sizes"]:
        lines += _size_lines(size)
    return "\n".join(lines) + "\n"


def _size_lines(size: dict[str, Any]) -> list[str]:
    activation, incremental = size["activation"], size["incremental"]
    emulators = ", ".join(
        f"{name} {'-' if mb is None else f'{mb:,.0f}'} MB"
        for name, mb in size.get("emulators_peak_mb", {}).items()
    )
    if incremental is None:
        return [
            "",
            f"## {size['users']:,} people (activation only)",
            "",
            "| stage | activation s | CPU s | peak MB | requests |",
            "|---|---:|---:|---:|---:|",
            *(f"| {row['stage']} | {_cells(row)} |" for row in activation["stages"]),
            f"| **whole run** | {_cells(activation['total'])} |",
            "",
            f"First request {_seconds(activation['first_request_s'])} after the process "
            f"started. Emulators' peak resident memory: {emulators}. "
            f"{_highest(activation['total'])}",
        ]
    lines = [
        "",
        f"## {size['users']:,} people (incremental run: {size['changed_people']:,} changed a "
        "phone)",
        "",
        "| stage | activation s | CPU s | peak MB | requests | incremental s | CPU s | peak MB "
        "| requests |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for first, second in zip(activation["stages"], incremental["stages"], strict=True):
        lines.append(f"| {first['stage']} | {_cells(first)} | {_cells(second)} |")
    lines.append(
        f"| **whole run** | {_cells(activation['total'])} | {_cells(incremental['total'])} |"
    )
    floor = size["floor"]
    if not floor:
        lines.append("")
        lines.append(
            f"First request {_seconds(activation['first_request_s'])} (activation) and "
            f"{_seconds(incremental['first_request_s'])} (incremental) after the process started. "
            f"Emulators' peak resident memory: {emulators}. "
            f"{_highest(activation['total'], 'activation')} "
            f"{_highest(incremental['total'], 'incremental run')}"
        )
        return lines
    lines += [
        "",
        "I/O floor (a bare client, same state, just before the incremental run) and the "
        "emulators' answer rate:",
        "",
        "| floor part | requests | wall s | client CPU s | server CPU s "
        "| answers per server CPU s |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for part in floor:
        rate = part["server_answers_per_cpu_s"]
        lines.append(
            f"| {part['part']} | {part['requests']:,} | {part['wall_s']:.2f} | {part['cpu_s']:.2f} "
            f"| {part['server_cpu_s']:.2f} | {'-' if rate is None else f'{rate:,}'} |"
        )
    total = sum(p["wall_s"] for p in floor)
    lines.append(
        f"| **floor** | {sum(p['requests'] for p in floor):,} | {total:.2f} | "
        f"{sum(p['cpu_s'] for p in floor):.2f} | {sum(p['server_cpu_s'] for p in floor):.2f} | |"
    )
    stage = {s["stage"]: s for s in incremental["stages"]}
    huma_floor = sum(p["wall_s"] for p in floor if p["part"].startswith("Huma"))
    graph_floor = sum(p["wall_s"] for p in floor if p["part"].startswith("Graph"))
    lines += [
        "",
        f"Ratios: incremental run / floor {_ratio(incremental['total']['wall_s'], total)}; "
        f"Huma snapshot / its floor {_ratio(stage['Huma snapshot']['wall_s'], huma_floor)}; "
        f"Graph snapshot / its floor {_ratio(stage['Graph snapshot']['wall_s'], graph_floor)}. "
        f"First request {_seconds(activation['first_request_s'])} (activation) and "
        f"{_seconds(incremental['first_request_s'])} (incremental) after the process started. "
        f"Emulators' peak resident memory: {emulators}. "
        f"{_highest(activation['total'], 'activation')} "
        f"{_highest(incremental['total'], 'incremental run')}",
    ]
    return lines


def _highest(total: dict[str, Any], run: str = "") -> str:
    """Where the run's highest sampled resident set was (runs measured before it have none)."""
    if total.get("sampled_peak_mb") is None:
        return ""
    return (
        f"{run.capitalize() + ': h' if run else 'H'}igh-water mark "
        f"{total['sampled_peak_mb']:,.0f} MB, first seen "
        f"{total['sampled_peak_at_s']:.1f} s in ({total['sampled_peak_in']}). "
        + (
            f"Its largest child process: {child['peak_mb']:,.0f} MB "
            f"(`{' '.join(Path(word).name for word in child['command'].split()[:2])}`)."
            if (child := total.get("largest_descendant"))
            else ""
        )
    )


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s"


def _cells(row: dict[str, Any]) -> str:
    peak = row.get("peak_mb")
    requests = row.get("requests")
    return (
        f"{row['wall_s']:.2f} | {row['cpu_s']:.2f} | {'-' if peak is None else f'{peak:,.0f}'} | "
        f"{'-' if requests is None else f'{requests:,}'}"
    )


if __name__ == "__main__":
    sys.exit(main())

"""One run of `huma-entra-sync run` in a child process, measured stage by stage.

Wall and CPU time of each stage come from the run's own numeric metadata
(`assets.metadata.StageClock`: each step times its parts, history writes apart); start-up is the
time from spawning the process to its first step. Peak memory per stage is the highest resident
set sampled (every 20 ms, from `/proc`) in the stage's step, or its high-water mark where that rose
in the step; requests per stage are the emulators' request-log entries in that step. What is left
of the whole process's time (Dagster's own events, passing outputs between steps, the process's
exit) is "framework, between steps". The totals' times are the child's `rusage`; its peak is the
process's own high-water mark (`VmHWM`), sampled until it exits.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from benchmarks.io_floor import process_cpu_seconds
from emulators.launcher import Emulators

ROOT = Path(__file__).resolve().parents[1]

#: Stages of a run: (name, asset whose step holds it, the step's metadata parts that make it).
STAGES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("Huma snapshot", "huma_users_raw", ("read",)),
    ("Graph snapshot", "entra_users_raw", ("read",)),
    ("validation and plan", "sync_plan", ("plan", "validation")),
    ("apply", "applied_changes", ("settle", "apply", "next_state")),
    ("report", "sync_report", ("report",)),
)
_STEPS = {"huma_users_raw", "entra_users_raw", "plan", "applied_changes", "sync_report"}


@dataclass
class Sampler:
    """Samples a process's CPU seconds, resident memory and its high-water mark until it exits.

    The high-water mark (`VmHWM`) catches a peak too brief to fall on a sample: a step whose
    window holds a rise of it peaked at least that high.
    """

    pid: int
    #: (time, CPU seconds, resident MB, high-water MB)
    samples: list[tuple[float, float, float, float]] = field(default_factory=list)
    #: The process's descendants seen while sampling: pid -> (command line, high-water MB).
    descendants: dict[int, tuple[str, float]] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        status = Path(f"/proc/{self.pid}/status")
        while not self._stop.is_set():
            try:
                cpu = process_cpu_seconds(self.pid)
                figures = {
                    line.split(":")[0]: int(line.split()[1]) / 1024
                    for line in status.read_text().splitlines()
                    if line.startswith(("VmRSS:", "VmHWM:"))
                }
            except (FileNotFoundError, ProcessLookupError):
                return
            if "VmRSS" in figures:
                rss = figures["VmRSS"]
                self.samples.append((time.time(), cpu, rss, figures.get("VmHWM", rss)))
            self._note_descendants()
            self._stop.wait(0.02)

    def _note_descendants(self) -> None:
        """Keep each live descendant's high-water mark: the run's `rusage` counts theirs too."""
        pending = [self.pid]
        while pending:
            for tasks in Path(f"/proc/{pending.pop()}/task").glob("*/children"):
                try:
                    children = [int(pid) for pid in tasks.read_text().split()]
                except OSError:
                    continue
                for child in children:
                    pending.append(child)
                    try:
                        status = Path(f"/proc/{child}/status").read_text()
                        command = Path(f"/proc/{child}/cmdline").read_bytes()
                    except OSError:
                        continue
                    hwm = next(
                        (
                            int(line.split()[1]) / 1024
                            for line in status.splitlines()
                            if line.startswith("VmHWM:")
                        ),
                        0.0,
                    )
                    name = command.replace(b"\0", b" ").decode(errors="replace")[:400]
                    seen = self.descendants.get(child, (name, 0.0))[1]
                    self.descendants[child] = (name, max(seen, hwm))

    def stop(self) -> None:
        self._stop.set()

    def cpu_at(self, moment: float) -> float:
        """CPU seconds used by `moment` (the last sample before it)."""
        return max((cpu for at, cpu, _, _ in self.samples if at <= moment), default=0.0)

    def highest(self) -> tuple[float, float] | None:
        """The process's high-water MB and the first sample that saw it (its time)."""
        if not self.samples:
            return None
        top = max(hwm for _, _, _, hwm in self.samples)
        return top, next(at for at, _, _, hwm in self.samples if hwm == top)

    def peak(self, start: float, end: float) -> float | None:
        """Highest resident MB between `start` and `end`: sampled, or the high-water mark
        where it rose in between."""
        before = max((hwm for at, _, _, hwm in self.samples if at < start), default=0.0)
        inside = [(rss, hwm) for at, _, rss, hwm in self.samples if start <= at <= end]
        risen = [hwm for _, hwm in inside if hwm > before]
        return max([rss for rss, _ in inside] + risen, default=None)


@dataclass
class RunMeasure:
    """A measured run: stages, totals and when the first request came."""

    stages: list[dict[str, Any]]
    total: dict[str, Any]
    first_request_s: float | None

    def as_dict(self) -> dict[str, Any]:
        return {"stages": self.stages, "total": self.total, "first_request_s": self.first_request_s}


def measure_run(env: dict[str, str], emulators: Emulators) -> RunMeasure:
    """Run the default connection's job as `huma-entra-sync run` and measure it."""
    admins = {name: emulators.admin(name) for name in ("huma", "entra")}
    for admin in admins.values():
        admin.clear_requests()
    with tempfile.TemporaryFile() as output:
        started = time.time()
        child = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "run"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        sampler = Sampler(child.pid)
        thread = threading.Thread(target=sampler.run, daemon=True)
        thread.start()
        _, status, usage = os.wait4(child.pid, 0)
        ended = time.time()
        child.returncode = os.waitstatus_to_exitcode(status)
        sampler.stop()
        thread.join()
        if child.returncode != 0:
            output.seek(0)
            said = output.read().decode(errors="replace")[-4000:]
            raise RuntimeError(f"the run exited with {child.returncode}:\n{said}")
    requests = {
        name: [datetime.fromisoformat(e["at"]).timestamp() for e in admin.requests()]
        for name, admin in admins.items()
    }
    windows, metadata = _events(env["DAGSTER_HOME"])
    return _stages(started, ended, usage, sampler, windows, metadata, requests)


def _highest_sample(
    sampler: Sampler, started: float, windows: dict[str, tuple[float, float]]
) -> dict[str, Any]:
    """The process's high-water mark, when a sample first saw it (seconds after start), and in
    which step (or after which one) that sample fell."""
    highest = sampler.highest()
    if highest is None:
        return {"sampled_peak_mb": None, "sampled_peak_at_s": None, "sampled_peak_in": None}
    mb, at = highest
    biggest = max(sampler.descendants.values(), key=lambda d: d[1], default=None)
    step = next((s for s, (a, b) in windows.items() if a <= at <= b), None)
    if step is None:
        before = [s for s, (_, b) in sorted(windows.items(), key=lambda w: w[1]) if b < at]
        step = f"after step {before[-1]}" if before else "before the first step"
    return {
        "sampled_peak_mb": mb,
        "sampled_peak_at_s": round(at - started, 1),
        "sampled_peak_in": step,
        "largest_descendant": None
        if biggest is None
        else {"command": biggest[0], "peak_mb": biggest[1]},
    }


def _events(home: str) -> tuple[dict[str, tuple[float, float]], dict[str, dict[str, Any]]]:
    """The latest run's step windows (by step) and materialization metadata (by asset)."""
    import dagster as dg

    with dg.DagsterInstance.from_config(home) as instance:
        run = instance.get_runs(limit=1)[0]
        starts: dict[str, float] = {}
        windows: dict[str, tuple[float, float]] = {}
        metadata: dict[str, dict[str, Any]] = {}
        for entry in instance.all_logs(run.run_id):
            event = entry.dagster_event
            if event is None:
                continue
            step = next((s for s in _STEPS if entry.step_key and entry.step_key.endswith(s)), None)
            if event.event_type_value == "STEP_START" and step:
                starts[step] = entry.timestamp
            elif event.event_type_value == "STEP_SUCCESS" and step:
                windows[step] = (starts[step], entry.timestamp)
            elif event.event_type_value == "ASSET_MATERIALIZATION":
                materialization = event.event_specific_data.materialization
                metadata[materialization.asset_key.path[-1]] = {
                    k: v.value for k, v in materialization.metadata.items()
                }
    return windows, metadata


def _stages(
    started: float,
    ended: float,
    usage: Any,
    sampler: Sampler,
    windows: dict[str, tuple[float, float]],
    metadata: dict[str, dict[str, Any]],
    requests: dict[str, list[float]],
) -> RunMeasure:
    every_request = sorted(requests["huma"] + requests["entra"])
    first_step = min(start for start, _ in windows.values())

    def count(start: float, end: float, sides: tuple[str, ...] = ("huma", "entra")) -> int:
        return sum(start <= at <= end for side in sides for at in requests[side])

    rows = [
        {
            "stage": "start-up (process start to first step)",
            "wall_s": first_step - started,
            "cpu_s": sampler.cpu_at(first_step),
            "peak_mb": sampler.peak(started, first_step),
            "requests": count(started, first_step),
        }
    ]
    parts_wall = parts_cpu = 0.0
    for name, asset, parts in STAGES:
        values = metadata[asset]
        window = windows["plan" if asset == "sync_plan" else asset]
        wall = sum(values.get(f"{p}_seconds", 0.0) for p in parts)
        cpu = sum(values.get(f"{p}_cpu_seconds", 0.0) for p in parts)
        sides = {"huma_users_raw": ("huma",), "entra_users_raw": ("entra",)}.get(asset)
        rows.append(
            {
                "stage": name,
                "wall_s": wall,
                "cpu_s": cpu,
                "peak_mb": sampler.peak(*window),
                "requests": count(*window, *([sides] if sides else [])),
            }
        )
        parts_wall, parts_cpu = parts_wall + wall, parts_cpu + cpu
    history_wall = sum(m.get("history_seconds", 0.0) for m in metadata.values())
    history_cpu = sum(m.get("history_cpu_seconds", 0.0) for m in metadata.values())
    rows.insert(
        4,
        {
            "stage": "history writes (all steps)",
            "wall_s": history_wall,
            "cpu_s": history_cpu,
            "peak_mb": None,
            "requests": None,
        },
    )
    total_cpu = usage.ru_utime + usage.ru_stime
    rows.append(
        {
            "stage": "framework, between steps, exit",
            "wall_s": ended - first_step - parts_wall - history_wall,
            "cpu_s": total_cpu - sampler.cpu_at(first_step) - parts_cpu - history_cpu,
            "peak_mb": None,
            "requests": None,
        }
    )
    total = {
        "stage": "whole run",
        "wall_s": ended - started,
        "cpu_s": total_cpu,
        # Not `ru_maxrss`: a child started by `vfork` and `exec` inherits its parent's high-water
        # mark there, so it would report this benchmark's own peak (generating a million people)
        # whenever that is the higher.
        "peak_mb": (sampler.highest() or (None,))[0],
        "requests": len(every_request),
        **_highest_sample(sampler, started, windows),
    }
    for row in [*rows, total]:
        row["wall_s"], row["cpu_s"] = round(row["wall_s"], 3), round(row["cpu_s"], 3)
    first = every_request[0] - started if every_request else None
    return RunMeasure(rows, total, None if first is None else round(first, 3))

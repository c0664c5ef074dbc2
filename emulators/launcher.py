"""Start the Huma and Entra/Graph emulators as child processes and tell clients how to reach them.

Each emulator runs in its own process, like the real services, so neither competes with the
client (or the other) for the interpreter lock. Used by tests, the demo, the benchmarks and the
`huma-entra-sync emulators` command.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import select
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson

from emulators.admin_client import AdminClient
from emulators.tls import TlsFiles, ensure_certificates


@dataclasses.dataclass
class EmulatorProcess:
    """One running emulator child process."""

    name: str
    url: str
    process: subprocess.Popen


@dataclasses.dataclass
class Emulators:
    """Both emulators, started from state files; a context manager that stops them on exit.

    Args:
        state_dir: holds `tls/`, the local CA made on first start.
        huma_state / entra_state: state files to load (the formats are in `emulators/README.md`);
            None starts only the other emulator (a test of one emulator needs no other).
        persist: write each emulator's state back to its file when it stops.
        ready_timeout: seconds an emulator may take to load its state and say it is ready (a
            large company takes longer than the default minute).
    """

    state_dir: Path
    huma_state: Path | None
    entra_state: Path | None
    host: str = "127.0.0.1"
    huma_port: int = 0
    entra_port: int = 0
    huma_settings: dict[str, Any] | None = None
    entra_settings: dict[str, Any] | None = None
    persist: bool = False
    ready_timeout: float = 60.0
    huma: EmulatorProcess | None = dataclasses.field(default=None, init=False)
    entra: EmulatorProcess | None = dataclasses.field(default=None, init=False)
    tls: TlsFiles | None = dataclasses.field(default=None, init=False)

    def start(self) -> Emulators:
        # Made here, before the children start, so they never race to create the CA.
        self.tls = ensure_certificates(self.state_dir / "tls")
        try:
            if self.huma_state is not None:
                self.huma = self._spawn("huma", self.huma_port, self.huma_state, self.huma_settings)
            if self.entra_state is not None:
                self.entra = self._spawn(
                    "entra", self.entra_port, self.entra_state, self.entra_settings
                )
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop both children (SIGTERM, then SIGKILL after 10 s)."""
        for child in (self.huma, self.entra):
            if child is not None and child.process.poll() is None:
                child.process.send_signal(signal.SIGTERM)
        for child in (self.huma, self.entra):
            if child is None:
                continue
            try:
                child.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait()
            if child.process.stdout:
                child.process.stdout.close()

    def __enter__(self) -> Emulators:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def huma_url(self) -> str:
        if self.huma is None:
            raise RuntimeError("emulators not started")
        return self.huma.url

    @property
    def entra_url(self) -> str:
        if self.entra is None:
            raise RuntimeError("emulators not started")
        return self.entra.url

    @property
    def ca_bundle(self) -> Path:
        if self.tls is None:
            raise RuntimeError("emulators not started")
        return self.tls.ca_bundle

    def admin(self, name: str) -> AdminClient:
        """A client of emulator `name`'s `/_emulator` endpoints."""
        return AdminClient(self.huma_url if name == "huma" else self.entra_url, self.ca_bundle)

    def environment(self) -> dict[str, str]:
        """The environment a client of these emulators needs (SPEC §11 names), with credentials."""
        env = {"SSL_CERT_FILE": str(self.ca_bundle)}
        if self.huma is not None:
            env |= huma_environment(self.admin("huma").state(users=False), self.huma_url)
        if self.entra is not None:
            env |= entra_environment(self.admin("entra").state(users=False), self.entra_url)
        return env

    def _spawn(
        self, name: str, port: int, state: Path, settings: dict[str, Any] | None
    ) -> EmulatorProcess:
        command = [sys.executable, "-m", "emulators", "serve", name, "--host", self.host]
        command += ["--port", str(port), "--tls-dir", str(self.state_dir / "tls")]
        command += ["--state-file", str(state)]
        if settings:
            command += ["--settings", orjson.dumps(settings).decode()]
        if self.persist:
            command.append("--persist")
        process = subprocess.Popen(  # noqa: S603 - this interpreter, arguments built above
            command, stdout=subprocess.PIPE, env=os.environ.copy(), start_new_session=True
        )
        line = _read_ready_line(process, name, self.ready_timeout)
        return EmulatorProcess(name=name, url=orjson.loads(line)["url"], process=process)


def _read_ready_line(process: subprocess.Popen, name: str, timeout: float) -> bytes:
    if process.stdout is None:
        raise RuntimeError(f"the {name} emulator was started without a pipe for its output")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.2)
        if ready:
            line = process.stdout.readline()
            if line.startswith(b"{"):
                return line
        if process.poll() is not None:
            raise RuntimeError(f"the {name} emulator exited with {process.returncode} on start")
    process.kill()
    raise RuntimeError(f"the {name} emulator did not start within {timeout:.0f} s")


def huma_environment(state: dict[str, Any], url: str) -> dict[str, str]:
    """The SPEC §11 Huma variables for the state's first API key and group."""
    api_key = state["apiKeys"][0]
    env = {
        "HUMA_BASE_URL": url,
        "HUMA_CLIENT_ID": api_key["clientId"],
        "HUMA_CLIENT_SECRET": api_key["clientSecret"],
    }
    if state.get("groups"):
        env["HUMA_DEFAULT_GROUP_ID"] = state["groups"][0]["id"]
    return env


def entra_environment(state: dict[str, Any], url: str) -> dict[str, str]:
    """The SPEC §11 Entra variables for the state's first tenant and application."""
    tenant = state["tenants"][0]
    app = tenant["applications"][0]
    env = {
        "ENTRA_TENANT_ID": tenant["id"],
        "ENTRA_CLIENT_ID": app["appId"],
        "ENTRA_AUTHORITY_HOST": url,
        "GRAPH_BASE_URL": f"{url}/v1.0",
    }
    if app.get("secrets"):
        env["ENTRA_CLIENT_SECRET"] = app["secrets"][0]["secretText"]
    return env


def export_lines(env: dict[str, str]) -> str:
    """`export NAME=value` lines a POSIX shell can `eval`."""
    return "".join(f"export {key}={shlex.quote(value)}\n" for key, value in env.items())


def wait_until_signalled(emulators: Emulators) -> None:
    """Block until SIGINT/SIGTERM or until a child dies; then stop both."""
    stop = False

    def on_signal(signum: int, frame: object) -> None:
        nonlocal stop
        stop = True

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        children = [c for c in (emulators.huma, emulators.entra) if c is not None]
        while not stop and all(c.process.poll() is None for c in children):
            with contextlib.suppress(InterruptedError):
                time.sleep(0.2)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        emulators.stop()

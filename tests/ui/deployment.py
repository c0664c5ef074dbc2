"""A local deployment for the UI tests: a finished run, then `dagster-webserver` over its instance.

The job runs through the console script (`tests.console_deployment.console`, in a child process so
that the definitions are loaded from exactly the environment the web server gets, never from this
test process's earlier imports); the web server runs in its own process group, which is signalled
as a whole when it stops (`dagster-webserver` starts a code-server child of its own).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.console_deployment import ROOT as REPO_ROOT

_READY_TIMEOUT_SECONDS = 120
_STOP_GRACE_SECONDS = 10
_LOCATIONS_QUERY = """
{ workspaceOrError { __typename ... on Workspace {
    locationEntries { name loadStatus locationOrLoadError {
        __typename ... on PythonError { message } } } } } }
"""


@dataclasses.dataclass(frozen=True)
class Deployment:
    """The running web server and what it has to show."""

    url: str
    #: The code location's name, part of some of the UI's URLs.
    location: str
    #: The finished run of `sync_default`.
    run_id: str


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclasses.dataclass
class Webserver:
    """`dagster-webserver -w workspace.yaml` on loopback, started and stopped as a process group.

    Args:
        env: the environment of the server (the same `DAGSTER_HOME` as the finished run).
        log_path: where the server's output goes.
    """

    env: dict[str, str]
    log_path: Path
    port: int = dataclasses.field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = dataclasses.field(default=None, init=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> str:
        """Start the server and wait until its code location has loaded.

        Returns:
            The code location's name (it appears in the UI's URLs).
        """
        command = [sys.executable, "-m", "dagster_webserver", "-w", "workspace.yaml"]
        command += ["-h", "127.0.0.1", "-p", str(self.port)]
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command,
                cwd=REPO_ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            return self._wait_until_loaded()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """SIGTERM to the whole group, SIGKILL to what is left after a grace period."""
        if self.process is None:
            return
        group = self.process.pid  # start_new_session: the leader's pid is the group id
        _signal_group(group, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=_STOP_GRACE_SECONDS)
        # The code server may outlive the leader; nothing of the group is left running.
        _signal_group(group, signal.SIGKILL)
        self.process.wait()

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]

    def _wait_until_loaded(self) -> str:
        assert self.process is not None
        deadline = time.monotonic() + _READY_TIMEOUT_SECONDS
        with httpx.Client(base_url=self.url, timeout=10) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise AssertionError(
                        f"dagster-webserver exited with {self.process.returncode}:\n"
                        f"{self.log_tail()}"
                    )
                location = _loaded_location(client)
                if location is not None:
                    return location
                time.sleep(0.25)
        raise AssertionError(
            f"dagster-webserver did not load its code location within "
            f"{_READY_TIMEOUT_SECONDS} s:\n{self.log_tail()}"
        )


def _loaded_location(client: httpx.Client) -> str | None:
    """The name of the one loaded code location, or None while the server is not there yet.

    Raises:
        AssertionError: the code location failed to load (a broken `Definitions`).
    """
    try:
        if client.get("/server_info").status_code != 200:
            return None
        answer = client.post("/graphql", json={"query": _LOCATIONS_QUERY})
    except httpx.TransportError:
        return None
    entries = answer.json()["data"]["workspaceOrError"].get("locationEntries", [])
    if len(entries) != 1 or entries[0]["loadStatus"] != "LOADED":
        return None
    entry = entries[0]
    loaded = entry["locationOrLoadError"]["__typename"]
    assert loaded == "RepositoryLocation", (
        f"code location {entry['name']} failed to load: {entry['locationOrLoadError']}"
    )
    return entry["name"]


def _signal_group(group: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signum)

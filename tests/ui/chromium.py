"""Debian's Chromium for the UI tests: installed when missing, launched headless and quiet.

Playwright drives the system browser (`executable_path`); its own browser builds are never
downloaded (the test machines reach only package registries).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Playwright

CHROMIUM = Path("/usr/bin/chromium")
_APT_TIMEOUT_SECONDS = 900
#: Without the background-networking flags Chromium keeps trying to reach Google's services,
#: which on a closed network means a stream of failing connections.
LAUNCH_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def ensure_chromium(executable: Path = CHROMIUM) -> Path:
    """`executable`, installing Debian's `chromium` package with apt-get when it is missing.

    Fails the calling test (never skips it) when apt-get is not there or cannot install it.

    Returns:
        The path of the browser executable.
    """
    if executable.exists():
        return executable
    apt_get = shutil.which("apt-get")
    if apt_get is None:
        pytest.fail(
            f"the UI tests need Debian's Chromium at {executable}; it is missing and apt-get is "
            "not available to install it (install the 'chromium' package)",
            pytrace=False,
        )
    install = [apt_get, "install", "-y", "chromium"]
    # On a fresh machine the package lists may be empty: update them once, then try again.
    outcome = _apt(install)
    if outcome.returncode != 0:
        update = _apt([apt_get, "update"])
        outcome = _apt(install) if update.returncode == 0 else update
    if outcome.returncode != 0 or not executable.exists():
        pytest.fail(
            f"the UI tests need Debian's Chromium at {executable}; "
            f"`{' '.join(outcome.args)}` exited with {outcome.returncode}"
            f"{'' if executable.exists() else f' and {executable} is still missing'}:\n"
            f"{outcome.stdout[-2000:]}",
            pytrace=False,
        )
    return executable


def _apt(command: list[str]) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
    try:
        return subprocess.run(
            command,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=_APT_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as timeout:
        output = timeout.stdout.decode(errors="replace") if timeout.stdout else ""
        return subprocess.CompletedProcess(command, -1, f"timed out\n{output}")


def launch_context(playwright: Playwright, executable: Path, user_data_dir: Path) -> BrowserContext:
    """A headless Chromium with a fresh profile in `user_data_dir` and a fixed, large viewport."""
    return playwright.chromium.launch_persistent_context(
        user_data_dir,
        executable_path=executable,
        headless=True,
        args=list(LAUNCH_ARGS),
        viewport={"width": 1600, "height": 1200},
    )

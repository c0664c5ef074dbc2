"""The UI tests' world: a finished run of the `default` connection, the Dagster web server over its
instance, and a headless Chromium that opens its pages.

Once per session: a generated company loaded into both emulators (over TLS), one run of the job
with `huma-entra-sync run`, then `dagster-webserver` on a free loopback port with the same
environment and `DAGSTER_HOME`. Screenshots go to `test-artifacts/ui/` under the repository root,
or to the folder named by `UI_TEST_ARTIFACTS`.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect, sync_playwright

from emulators.data import write_world
from emulators.launcher import Emulators
from tests.console_deployment import console, deployment_environment, finished_run
from tests.ui.chromium import ensure_chromium, launch_context
from tests.ui.deployment import (
    REPO_ROOT,
    Deployment,
    Webserver,
)

ARTIFACTS_VARIABLE = "UI_TEST_ARTIFACTS"
WORLD_USERS = 40
WORLD_SEED = 5
#: The UI's first page load compiles its GraphQL queries against a cold server: be generous.
UI_TIMEOUT_MS = 60_000
#: Dagster shows a "Join the community" dialog on loopback until it is dismissed (the browser
#: remembers that in local storage); in a fresh profile it would cover every screenshot.
_DISMISS_COMMUNITY_DIALOG = "window.localStorage.setItem('communityNux', JSON.stringify('1'));"
#: Anything but the web server on loopback: the tests never let the page reach further.
_NOT_LOOPBACK = re.compile(r"^(?!http://127\.0\.0\.1:)(https?|wss?)://")
_FAILED = pytest.StashKey[bool]()


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where screenshots (and the web server's log) are kept after the session."""
    folder = Path(os.environ.get(ARTIFACTS_VARIABLE) or REPO_ROOT / "test-artifacts" / "ui")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# Module scope, not session: Playwright's sync API keeps an event loop running in the main thread
# for as long as it is open, and a Dagster run executed in-process afterwards on the same worker
# then cannot shut its own loop down (an unawaited coroutine, an error under -W error).
@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    """Headless Debian Chromium with a fresh profile, kept to loopback."""
    executable = ensure_chromium()
    expect.set_options(timeout=UI_TIMEOUT_MS)
    with sync_playwright() as playwright:
        context = launch_context(playwright, executable, tmp_path_factory.mktemp("chromium"))
        try:
            context.set_default_timeout(UI_TIMEOUT_MS)
            context.add_init_script(_DISMISS_COMMUNITY_DIALOG)
            context.route(_NOT_LOOPBACK, lambda route: route.abort())
            yield context
        finally:
            context.close()


@pytest.fixture(scope="module")
def deployment(
    tmp_path_factory: pytest.TempPathFactory, artifacts_dir: Path
) -> Iterator[Deployment]:
    folder = tmp_path_factory.mktemp("deployment")
    world = folder / "world"
    huma_state, entra_state = write_world(world, users=WORLD_USERS, seed=WORLD_SEED)
    with Emulators(state_dir=world, huma_state=huma_state, entra_state=entra_state) as emulators:
        env = deployment_environment(emulators.environment(), folder)
        run_id = finished_run(console("run", env=env), "default")
        server = Webserver(env=env, log_path=folder / "webserver.log")
        try:
            location = server.start()
            yield Deployment(url=server.url, location=location, run_id=run_id)
        finally:
            server.stop()
            shutil.copyfile(server.log_path, artifacts_dir / "webserver.log")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    if report.when == "call" and report.failed:
        item.stash[_FAILED] = True
    return report


@pytest.fixture
def page(
    browser: BrowserContext, artifacts_dir: Path, request: pytest.FixtureRequest
) -> Iterator[Page]:
    """A new tab; when the test fails, what it showed is kept as `FAILED-<test>.png`."""
    tab = browser.new_page()
    try:
        yield tab
        if request.node.stash.get(_FAILED, False):
            tab.screenshot(path=artifacts_dir / f"FAILED-{request.node.name}.png")
    finally:
        tab.close()

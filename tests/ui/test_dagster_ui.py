"""What Dagster's web UI shows a person after a nightly run, seen in a real browser.

Pins that `dagster-webserver -w workspace.yaml` loads the deployment's definitions and that, after
one run of the `default` connection against the emulators, its pages show: every asset of the
connection in the asset graph, materialized; the run, finished with Success, as a run of
`sync_default`; and the plan's guard checks, succeeded. Each page is kept as a screenshot (see
`conftest.py` for where), and each screenshot is checked to be a real picture of the page.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.pipelines.test_definitions import ASSETS as CONNECTION_ASSETS
from tests.ui.deployment import Deployment

SYNC_PLAN_CHECKS = ("mass_change_guard", "snapshot_guard")
GRAPH_VIEWPORT = {"width": 1600, "height": 2400}
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

Screenshot = Callable[[Page, str], None]
#: The first test's set-up may install Chromium (apt-get, up to 15 minutes), then runs the job and
#: starts the web server: more than the suite's default timeout.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) from a PNG file's header; fails the test when it is not a PNG."""
    head = path.read_bytes()[:24]
    assert head[:8] == _PNG_SIGNATURE, f"{path} is not a PNG"
    assert head[12:16] == b"IHDR", f"{path} is not a PNG"
    width, height = struct.unpack(">II", head[16:24])
    return width, height


@pytest.fixture(scope="module")
def blank_page_png_bytes(browser: BrowserContext, tmp_path_factory: pytest.TempPathFactory) -> int:
    """The size of a screenshot of an empty page: what a picture of nothing costs."""
    tab = browser.new_page()
    try:
        path = tmp_path_factory.mktemp("blank") / "blank.png"
        tab.set_content("<html><body></body></html>")
        tab.screenshot(path=path)
        return path.stat().st_size
    finally:
        tab.close()


@pytest.fixture
def screenshot(artifacts_dir: Path, blank_page_png_bytes: int) -> Screenshot:
    """Keeps what a tab shows as `<name>.png` in the artifacts folder, checked to be a PNG of the
    whole viewport with far more in it than an empty page."""

    def keep(tab: Page, name: str) -> None:
        path = artifacts_dir / f"{name}.png"
        tab.screenshot(path=path)
        viewport = tab.viewport_size
        assert viewport is not None
        assert png_size(path) == (viewport["width"], viewport["height"])
        assert path.stat().st_size > 2 * blank_page_png_bytes, f"{path} looks empty"

    return keep


def test_asset_graph_shows_every_asset_materialized(
    page: Page, deployment: Deployment, screenshot: Screenshot
) -> None:
    # The graph draws only the nodes near the viewport; a tall one fits the whole graph at the
    # zoom that shows each node's status, so the screenshot is of every node too.
    page.set_viewport_size(GRAPH_VIEWPORT)
    location = quote(deployment.location, safe="")
    page.goto(f"{deployment.url}/locations/{location}/asset-groups/default/lineage")

    for name in CONNECTION_ASSETS:
        title = page.locator(f'[data-tooltip="{name}"]')
        node = page.locator("foreignObject").filter(has=title)
        expect(node, f"the graph's node {name}").to_contain_text("Materialized")
        expect(title, f"the graph's node {name}").to_be_in_viewport()

    screenshot(page, "asset-graph")


def test_finished_run_shows_success_and_its_job(
    page: Page, deployment: Deployment, screenshot: Screenshot
) -> None:
    page.goto(f"{deployment.url}/runs/{deployment.run_id}")

    status = page.locator(".BaseTag").filter(has=page.locator('[aria-label="run_success"]'))
    expect(status, "the run's status").to_have_text("Success")
    run_of = page.locator(".BaseTag").filter(has_text="Run of")
    expect(run_of, "the run's job").to_contain_text("sync_default")
    expect(page.get_by_text(deployment.run_id[:8], exact=True), "the run's id").to_be_visible()

    screenshot(page, "run")


def test_sync_plan_checks_show_succeeded(
    page: Page, deployment: Deployment, screenshot: Screenshot
) -> None:
    page.goto(f"{deployment.url}/assets/default/sync_plan?view=checks")

    expect(page.get_by_text(f"Checks ({len(SYNC_PLAN_CHECKS)})", exact=True)).to_be_visible()
    for name in SYNC_PLAN_CHECKS:
        entry = page.locator(f'[title="{name}"] >> xpath=..').first
        expect(entry, f"the check {name}").to_contain_text("Succeeded")

    screenshot(page, "sync-plan-checks")

"""The Dagster instance the console script runs jobs in, shared with `dagster dev`.

Runs started from the command line show in the UI only when both use the same `DAGSTER_HOME`. When
it is not set, `var/dagster` under the current folder is used (made on first use, with telemetry
off), and `dagster dev` started from the same folder with the same variable shows those runs.
"""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from assets.run_options import CONNECTION_TAG
from resources.private_files import private_folder, tighten_tree

DEFAULT_DAGSTER_HOME = Path("var/dagster")
#: The first line of every `dagster.yaml` this module writes; a file starting otherwise is the
#: deployment's own and is never touched.
_MADE_HERE = "# Made by huma-entra-sync for local runs"
DAGSTER_YAML = f"""\
{_MADE_HERE}; a deployment points DAGSTER_HOME at its own instance.
telemetry:
  enabled: false
# One run per connection at a time: a second run of a connection (schedule, UI, sensor) waits in
# the queue while one is in progress. `dagster dev` and `dagster-daemon` apply it.
run_coordinator:
  module: dagster.core.run_coordinator
  class: QueuedRunCoordinator
concurrency:
  runs:
    tag_concurrency_limits:
      - key: {CONNECTION_TAG}
        value:
          applyLimitPerUniqueValue: true
        limit: 1
# A run whose worker died is marked failed instead of holding its connection's place forever.
run_monitoring:
  enabled: true
"""


def dagster_home() -> Path:
    """`DAGSTER_HOME`, set to the default (and prepared) when it was not set.

    Its `dagster.yaml` is written when missing, and brought up to date when an earlier release
    of this module wrote it.
    """
    if "DAGSTER_HOME" not in os.environ:
        home = DEFAULT_DAGSTER_HOME.resolve()
        os.environ["DAGSTER_HOME"] = str(home)
    home = private_folder(Path(os.environ["DAGSTER_HOME"]))
    # The IO manager pickles every snapshot frame in here (SPEC §12: owner-only).
    tighten_tree(home, what="the Dagster instance")
    config = home / "dagster.yaml"
    if not config.exists() or (
        config.read_text().startswith(_MADE_HERE) and config.read_text() != DAGSTER_YAML
    ):
        config.write_text(DAGSTER_YAML)
    return home


def dagster_instance() -> dg.DagsterInstance:
    """The persistent instance in `dagster_home()`."""
    dagster_home()
    return dg.DagsterInstance.get()

"""The Dagster instance the console script runs jobs in, shared with `dagster dev`.

Runs started from the command line show in the UI only when both use the same `DAGSTER_HOME`. When
it is not set, `var/dagster` under the current folder is used (made on first use, with telemetry
off), and `dagster dev` started from the same folder with the same variable shows those runs.
"""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from resources.private_files import private_folder, tighten_tree

DEFAULT_DAGSTER_HOME = Path("var/dagster")
_DAGSTER_YAML = """\
# Made by huma-entra-sync for local runs; a deployment points DAGSTER_HOME at its own instance.
telemetry:
  enabled: false
"""


def dagster_home() -> Path:
    """`DAGSTER_HOME`, set to the default (and prepared) when it was not set."""
    if "DAGSTER_HOME" not in os.environ:
        home = DEFAULT_DAGSTER_HOME.resolve()
        os.environ["DAGSTER_HOME"] = str(home)
    home = private_folder(Path(os.environ["DAGSTER_HOME"]))
    # The IO manager pickles every snapshot frame in here (SPEC §12: owner-only).
    tighten_tree(home, what="the Dagster instance")
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(_DAGSTER_YAML)
    return home


def dagster_instance() -> dg.DagsterInstance:
    """The persistent instance in `dagster_home()`."""
    dagster_home()
    return dg.DagsterInstance.get()

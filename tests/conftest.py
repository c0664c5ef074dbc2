"""Settings every test shares: Hypothesis draws the same examples on every run; slow tests first.

The suite runs in a random order (pytest-randomly reseeds `random` per test) and on several
workers at once, so a property test that drew new examples on each run, or shared its example
database between workers, would pass or fail by chance. The default profile derives each test's
examples from the test itself and keeps no database; `pytest --hypothesis-profile=explore` searches
afresh (and remembers failures in `.hypothesis/`) when you want Hypothesis to look for new bugs.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest
from hypothesis import settings

settings.register_profile("deterministic", derandomize=True, database=None, print_blob=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile("deterministic")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked `slow` go first, the random order kept otherwise.

    Each test file runs whole on one worker: a slow file that happened to come last would keep one
    worker busy for minutes while the others sit idle.
    """
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(autouse=True)
def _signal_dispositions_kept() -> Iterator[None]:
    """Each test leaves SIGINT and SIGTERM as it found them.

    A test that executes a job in process ends with SIGTERM given SIGINT's disposition (Dagster's
    doing: `pipelines.in_process`). With the suite started with SIGINT ignored (a background job
    of a shell without job control), every later test's child processes would ignore SIGTERM: a
    receiver that cannot be stopped, a compute-log `tail` that outlives its run.
    """
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    yield
    for sig, disposition in before.items():
        if disposition is not None and signal.getsignal(sig) is not disposition:
            signal.signal(sig, disposition)

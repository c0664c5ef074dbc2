"""Settings every test shares: Hypothesis draws the same examples on every run.

The suite runs in a random order (pytest-randomly reseeds `random` per test) and on several
workers at once, so a property test that drew new examples on each run, or shared its example
database between workers, would pass or fail by chance. The default profile derives each test's
examples from the test itself and keeps no database; `pytest --hypothesis-profile=explore` searches
afresh (and remembers failures in `.hypothesis/`) when you want Hypothesis to look for new bugs.
"""

from __future__ import annotations

from hypothesis import settings

settings.register_profile("deterministic", derandomize=True, database=None, print_blob=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile("deterministic")

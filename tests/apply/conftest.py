"""The apply step's world: the clients' emulators (see `tests/resources/conftest.py`)."""

from tests.resources.conftest import outside, outside_session, world  # noqa: F401 - fixtures

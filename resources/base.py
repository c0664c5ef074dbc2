"""What every Dagster resource of ours shares: secrets never shown in a repr, and the one client
a service's resource holds, closed after each run."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import dagster as dg
from pydantic import PrivateAttr


class ResourceWithSecrets(dg.ConfigurableResource):
    """A `ConfigurableResource` whose `SECRET_FIELDS` print as `<redacted>`.

    Dagster resolves `EnvVar`s into the resource's fields, and pydantic's default repr would then
    print the secret wherever the resource is logged or shown in an error.
    """

    SECRET_FIELDS: ClassVar[frozenset[str]] = frozenset()

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        for name, value in super().__repr_args__():
            yield name, ("<redacted>" if name in self.SECRET_FIELDS and value else value)


class ResourceWithClient(ResourceWithSecrets):
    """A service's resource: its `client()` makes one client on first use (one token cache, one
    pool of connections per resource instance), and the client is closed after each run."""

    _client: Any = PrivateAttr(default=None)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        self.close()

    def close(self) -> None:
        """Close the client's connections (Dagster does it after each run)."""
        if self._client is not None:
            self._client.close()
            self._client = None

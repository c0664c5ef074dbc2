"""What every Dagster resource of ours shares: secrets never shown in a repr."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import dagster as dg


class ResourceWithSecrets(dg.ConfigurableResource):
    """A `ConfigurableResource` whose `SECRET_FIELDS` print as `<redacted>`.

    Dagster resolves `EnvVar`s into the resource's fields, and pydantic's default repr would then
    print the secret wherever the resource is logged or shown in an error.
    """

    SECRET_FIELDS: ClassVar[frozenset[str]] = frozenset()

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        for name, value in super().__repr_args__():
            yield name, ("<redacted>" if name in self.SECRET_FIELDS and value else value)

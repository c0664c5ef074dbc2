"""The clients' world: both emulators over real TLS, loaded with a generated company.

The emulators run as child processes for the whole session; every test starts from the same
generated state, default settings and an empty request log. `SSL_CERT_FILE` points at the
emulators' CA bundle for the session, as SPEC §11 says clients are configured.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterator
from typing import Any

import orjson
import pytest

from emulators.admin_client import AdminClient
from emulators.data import World, generate_world
from emulators.graph.settings import GraphSettings
from emulators.launcher import Emulators
from emulators.settings import EmulatorSettings, settings_to_dict
from resources.graph import GraphResource

WORLD_USERS = 240
WORLD_SEED = 11
GRAPH_DEFAULTS = settings_to_dict(GraphSettings())


@dataclasses.dataclass
class Outside:
    """The running emulators and the world they were loaded with."""

    emulators: Emulators
    world: World

    @property
    def huma(self) -> AdminClient:
        return self.emulators.admin("huma")

    @property
    def entra(self) -> AdminClient:
        return self.emulators.admin("entra")

    @property
    def tenant(self) -> dict[str, Any]:
        return self.world.entra["tenants"][0]

    @property
    def env(self) -> dict[str, str]:
        return self.emulators.environment()

    def huma_settings(self, **faults: Any) -> None:
        self.huma.update_settings({"faults": faults})

    def entra_settings(self, **faults: Any) -> None:
        self.entra.update_settings({"faults": faults})


@pytest.fixture
def graph_resource() -> Iterator[Callable[..., GraphResource]]:
    """Makes `GraphResource`s and closes them after the test, as Dagster would after a run."""
    made: list[GraphResource] = []

    def make(**config: Any) -> GraphResource:
        made.append(GraphResource(**config))
        return made[-1]

    yield make
    for resource in made:
        resource.close()


@pytest.fixture(scope="session")
def world() -> World:
    return generate_world(users=WORLD_USERS, seed=WORLD_SEED)


@pytest.fixture(scope="session")
def outside_session(world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Outside]:
    state_dir = tmp_path_factory.mktemp("emulators")
    huma_state = state_dir / "huma-state.json"
    huma_state.write_bytes(orjson.dumps(world.huma))
    entra_state = state_dir / "entra-state.json"
    entra_state.write_bytes(orjson.dumps(world.entra))
    with Emulators(
        state_dir=state_dir, huma_state=huma_state, entra_state=entra_state
    ) as emulators:
        previous = os.environ.get("SSL_CERT_FILE")
        os.environ["SSL_CERT_FILE"] = str(emulators.ca_bundle)
        try:
            yield Outside(emulators, world)
        finally:
            if previous is None:
                os.environ.pop("SSL_CERT_FILE", None)
            else:
                os.environ["SSL_CERT_FILE"] = previous


def reset(outside: Outside) -> Outside:
    """The emulators back to the generated world, default settings and empty request logs."""
    defaults = settings_to_dict(EmulatorSettings())
    outside.huma.update_settings(defaults)
    outside.huma.load_state(outside.world.huma)
    outside.huma.clear_requests()
    outside.entra.update_settings(GRAPH_DEFAULTS)
    outside.entra.load_state(outside.world.entra)
    outside.entra.clear_requests()
    return outside


@pytest.fixture
def outside(outside_session: Outside) -> Outside:
    """The emulators, reset to the generated world with default settings."""
    return reset(outside_session)


def graph_credentials(outside: Outside, **overrides: Any) -> dict[str, Any]:
    """`GraphResource` configuration for the world's tenant and app."""
    tenant = outside.tenant
    app = tenant["applications"][0]
    return {
        "tenant_id": tenant["id"],
        "client_id": app["appId"],
        "client_secret": app["secrets"][0]["secretText"],
        "authority_host": outside.emulators.entra_url,
        "graph_base_url": f"{outside.emulators.entra_url}/v1.0",
    } | overrides


def huma_credentials(outside: Outside) -> dict[str, str]:
    key = outside.world.huma["apiKeys"][0]
    return {
        "base_url": outside.emulators.huma_url,
        "client_id": key["clientId"],
        "client_secret": key["clientSecret"],
    }

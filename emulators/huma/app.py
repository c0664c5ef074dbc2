"""The Huma emulator: Huma's Open API (v1.53.2) for users, over the shared emulator core.

API routes (see `auth`, `api`): `POST /auth/oauth/token`, `POST /auth/oauth/revoke`,
`GET|POST /users`, `GET|PATCH /users/{id}`, `GET /users/{userId}/positions`,
`GET /users/{id}/supervisor`, `GET /users/{id}/subordinates`; `GET /groups`, `GET /groups/{id}`,
`POST|DELETE /users/{id}/groups` (see `groups`).
Control routes under `/_emulator` (see `control`): what Huma's administrators do in its UI.
State: the `huma-emulator/1` document of `emulators/README.md`.
Profile webhooks (see `webhooks`): sent on every change to a user, listed under `/_emulator`.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.routing import BaseRoute, Route

from emulators.core import Emulator
from emulators.huma import errors, records
from emulators.huma.api import user_routes
from emulators.huma.auth import REVOKE_PATH, TOKEN_PATH, TokenIssuer
from emulators.huma.control import control_routes
from emulators.huma.groups import group_routes
from emulators.huma.render import Renderer
from emulators.huma.store import Organization, UserStore
from emulators.huma.webhooks import (
    HumaEmulatorSettings,
    WebhookSender,
    check_webhook_changes,
    webhook_routes,
)

if TYPE_CHECKING:
    from starlette.responses import Response
    from starlette.types import Scope

    from emulators.faults import Fault
    from emulators.settings import EmulatorSettings

STATE_FORMAT = "huma-emulator/1"


@dataclasses.dataclass
class HumaWorld:
    """One loaded state: the organisation, its users and their renderer."""

    org: Organization
    store: UserStore
    renderer: Renderer


def build_world(state: Mapping[str, Any]) -> HumaWorld:
    """A world from a `huma-emulator/1` document; ValueError when it is malformed."""
    if not isinstance(state, Mapping) or state.get("format") != STATE_FORMAT:
        raise ValueError(f"the state must be a {STATE_FORMAT!r} document")
    organization = state.get("organization") or {}
    org = Organization(
        id=records.check_uuid(organization.get("id"), "organization id"),
        name=str(organization.get("name") or ""),
        api_keys=_by_id(map(records.check_api_key, state.get("apiKeys") or []), "clientId"),
        groups=_by_id(map(records.check_group, state.get("groups") or []), "id"),
        job_titles=_by_id(map(records.check_job_title, state.get("jobTitles") or []), "id"),
    )
    # Checked one at a time into the store's compact records: the checked dicts are not all
    # held at once beside the state.
    store = UserStore(
        records.check_user(u, org.groups, org.job_titles) for u in state.get("users") or []
    )
    return HumaWorld(org, store, Renderer(store, org))


def _by_id(items: Any, key: str) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = {}
    for item in items:
        if item[key] in result:
            raise ValueError(f"{key} {item[key]} appears twice")
        result[item[key]] = item
    return result


def empty_state() -> dict[str, Any]:
    return {
        "format": STATE_FORMAT,
        "organization": {"id": str(uuid.uuid4()), "name": "Emulated organisation"},
        "apiKeys": [],
        "groups": [],
        "jobTitles": [],
        "users": [],
    }


class HumaEmulator(Emulator):
    """Huma's Open API for users, positions and tokens."""

    name = "huma"

    settings: HumaEmulatorSettings

    def __init__(self, settings: EmulatorSettings | None = None) -> None:
        super().__init__(settings)
        self.tokens = TokenIssuer(self)
        self.webhooks = WebhookSender(lambda: self.settings.webhooks, self.clock)
        self.world = self._watched(build_world(empty_state()))

    @classmethod
    def default_settings(cls) -> HumaEmulatorSettings:
        return HumaEmulatorSettings()

    def update_settings(self, changes: Mapping[str, Any]) -> None:
        check_webhook_changes(changes)
        super().update_settings(changes)
        self.webhooks.wake()

    def clock_moved(self) -> None:
        self.webhooks.wake()

    def _watched(self, world: HumaWorld) -> HumaWorld:
        """`world`, its user changes sent as profile webhooks (`emulators.huma.webhooks`)."""
        world.store.on_change = self.webhooks.store_changed
        return world

    def api_routes(self) -> list[BaseRoute]:
        async def token(request: Request) -> Response:
            return await self.tokens.token_endpoint(request, self.world.org)

        async def revoke(request: Request) -> Response:
            return await self.tokens.revoke_endpoint(request, self.world.org)

        return [
            Route(TOKEN_PATH, token, methods=["POST"]),
            Route(REVOKE_PATH, revoke, methods=["POST"]),
            *user_routes(self),
            *group_routes(self),
        ]

    def control_routes(self) -> list[BaseRoute]:
        return [*control_routes(self), *webhook_routes(self)]

    def load_state(self, state: Mapping[str, Any]) -> None:
        # Tokens survive a load: they stay valid while their API key exists and is active.
        self.world = self._watched(build_world(state))

    def export_state(self, *, users: bool = True) -> dict[str, Any]:
        org = self.world.org
        return {
            "format": STATE_FORMAT,
            "organization": {"id": org.id, "name": org.name},
            "apiKeys": list(org.api_keys.values()),
            "groups": list(org.groups.values()),
            "jobTitles": list(org.job_titles.values()),
            "users": list(self.world.store) if users else [],
        }

    def is_auth_path(self, path: str) -> bool:
        return path in (TOKEN_PATH, REVOKE_PATH)

    def fault_response(self, fault: Fault, scope: Scope) -> Response:
        headers = None
        if fault.status == 429:
            retry_after = self.settings.faults.throttle_retry_after
            headers = {"Retry-After": self.clock.retry_after_header(retry_after)}
        return errors.spring_error(fault.status, scope["path"], headers=headers)

    def error_response(self, status: int, scope: Scope) -> Response:
        path = scope["path"]
        if status in (404, 405) and not (path.startswith("/_emulator") or self.is_auth_path(path)):
            # Spring Security authenticates before routing: without a valid token, an unknown
            # path is a 401 like any other.
            _, refusal = self.tokens.check(Request(scope), self.world.org)
            if refusal is not None:
                return refusal
        return errors.spring_error(status, path)

"""A small client of an emulator's `/_emulator` admin endpoints, for tests, the demo and benchmarks.

Standard library only (the emulators stay independent of the product and its HTTP client), and
it verifies TLS against the emulators' CA bundle like any other client.
"""

from __future__ import annotations

import ssl
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import orjson


class AdminClient:
    """Reads and changes one emulator's state, request log and settings."""

    def __init__(self, base_url: str, ca_bundle: Path, *, timeout: float = 120.0) -> None:
        if urllib.parse.urlsplit(base_url).scheme != "https":
            raise ValueError(f"an emulator is served over https, not at {base_url!r}")
        self._base = base_url.rstrip("/") + "/_emulator"
        self._context = ssl.create_default_context(cafile=str(ca_bundle))
        self._timeout = timeout

    def state(self, *, users: bool = True) -> dict[str, Any]:
        """The emulator's whole state (its state-file format); without `users`, every list of
        users empty (the organisation, tenants, keys and applications of a large state)."""
        return self._call("GET", "/state" if users else "/state?users=false")

    def load_state(self, state: dict[str, Any]) -> None:
        """Replace the emulator's state."""
        self._call("PUT", "/state", state)

    def requests(
        self, *, since: int = 0, method: str | None = None, path_prefix: str | None = None
    ) -> list[dict[str, Any]]:
        """Request-log entries after `since`, optionally filtered."""
        query = {"since": since, "method": method, "path_prefix": path_prefix}
        query = {k: v for k, v in query.items() if v is not None}
        return self._call("GET", "/requests?" + urllib.parse.urlencode(query))["requests"]

    def clear_requests(self) -> None:
        self._call("DELETE", "/requests")

    def settings(self) -> dict[str, Any]:
        return self._call("GET", "/settings")

    def update_settings(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Change settings while running (nested keys, as in `emulators.settings`)."""
        return self._call("PATCH", "/settings", changes)

    def clock(self) -> dict[str, Any]:
        """The emulated clock: `now` (emulated seconds), `scale` and `frozen`."""
        return self._call("GET", "/clock")

    def advance_clock(self, seconds: float) -> dict[str, Any]:
        """Move emulated time on as if `seconds` real seconds had passed (see `emulators.clock`)."""
        return self._call("POST", "/clock/advance", {"seconds": seconds})

    def held(self) -> int:
        """How many requests the hold (`faults.hold_after_writes`) keeps waiting right now."""
        return self._call("GET", "/held")["held"]

    # What Huma's administrators do in its UI (Huma emulator only; see `emulators/README.md`).

    def set_huma_teams(self, user_id: str, team_ids: list[str]) -> dict[str, Any]:
        """Make `team_ids` the Huma user's teams (other memberships stay); the stored record."""
        return self._call("PUT", f"/users/{user_id}/teams", {"teams": team_ids})

    def set_huma_location(self, user_id: str, location_id: str | None) -> dict[str, Any]:
        """Give the Huma user this one location, or none; the stored record."""
        return self._call("PUT", f"/users/{user_id}/location", {"location": location_id})

    def set_huma_preferred_name(self, user_id: str, name: str | None) -> dict[str, Any]:
        """Set or clear the Huma user's preferred name; the stored record."""
        return self._call("PUT", f"/users/{user_id}/preferred-name", {"preferredName": name})

    def set_huma_supervisor(self, user_id: str, supervisor_id: str | None) -> dict[str, Any]:
        """Set or clear the Huma user's supervisor; the stored record."""
        return self._call("PUT", f"/users/{user_id}/supervisor", {"supervisor": supervisor_id})

    def call(self, method: str, path: str, body: Any = None) -> Any:
        """Any other `/_emulator` endpoint (an emulator's control routes)."""
        return self._call(method, path, body)

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else orjson.dumps(body)
        # S310 (a `file:` URL would be opened too): the base URL is checked to be https in __init__.
        request = urllib.request.Request(self._base + path, data=data, method=method)  # noqa: S310
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(  # noqa: S310 - https, see above
                request, context=self._context, timeout=self._timeout
            ) as response:
                payload = response.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")
            raise RuntimeError(f"{method} {path} failed with {exc.code}: {detail}") from None
        return orjson.loads(payload) if payload else None

    # Huma's profile webhooks (Huma emulator only; see `emulators/huma/webhooks.py`).

    def register_webhook(
        self,
        url: str | None,
        *,
        secret: str | None = None,
        token: str | None = None,
        ca_file: Path | None = None,
        **sending: Any,
    ) -> dict[str, Any]:
        """Send the Huma emulator's profile webhooks to `url` (None: stop sending), signed with
        `secret`, with `token` as bearer, verifying the receiver with `ca_file`; `sending` sets
        the retry and queue settings (`max_attempts`, `backoff_initial_seconds`, …)."""
        webhooks = {"url": url, "secret": secret, "token": token}
        webhooks["ca_file"] = None if ca_file is None else str(ca_file)
        return self.update_settings({"webhooks": webhooks | sending})

    def webhook_deliveries(self) -> list[dict[str, Any]]:
        """The Huma emulator's webhook deliveries, oldest first, with status and attempts."""
        return self._call("GET", "/webhooks")["deliveries"]

    def send_webhook_export(self) -> dict[str, Any]:
        """Have the Huma emulator send a `users-export` of every user; the delivery queued."""
        return self._call("POST", "/webhooks/export")

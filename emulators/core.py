"""What every emulator shares: settings, clock, fault dice, request log and the admin endpoints.

An emulator subclasses `Emulator`, supplies its API routes, its state loader and exporter and its
error envelopes, and gets an ASGI app with fault injection, a request log and these admin endpoints
(never faulted, never logged, for tests and the demo; the product never calls them):

| Method and path | What it does |
|---|---|
| `GET /_emulator/state` | the current state, in the emulator's state-file format |
| `PUT /_emulator/state` | replace the state with the body (same format) |
| `GET /_emulator/requests?since=N&method=M&path_prefix=P` | the request log after entry N |
| `DELETE /_emulator/requests` | clear the request log |
| `GET /_emulator/settings`, `PATCH /_emulator/settings` | read or change settings while running |
| `GET /_emulator/clock` | emulated time: `now`, `scale`, `frozen` |
| `POST /_emulator/clock/advance` | move it on as if `{"seconds": s}` real seconds had passed |
| `GET /_emulator/held` | how many requests a hold (`faults.hold_after_writes`) keeps waiting |

plus whatever `control_routes()` adds under `/_emulator` (e.g. deactivating a Huma user, which
Huma's API cannot do but its administrators can).
"""

from __future__ import annotations

import abc
import contextlib
import gc
import logging
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from emulators.clock import Clock
from emulators.faults import FaultInjector, FaultMiddleware
from emulators.requestlog import RequestLog, RequestLogMiddleware
from emulators.settings import EmulatorSettings, apply_changes, settings_to_dict

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Scope

    from emulators.faults import Fault

logger = logging.getLogger(__name__)


@contextlib.contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a large state is built.

    Building a million-user state makes millions of objects at once; the collector would rescan
    them again and again (about half the load time). Reference counting still frees garbage.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class JSONResponse(Response):
    """A JSON response encoded with orjson (several times faster than the standard library)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


class Emulator(abc.ABC):
    """Base of the Huma and Entra/Graph emulators."""

    #: Short name used on the command line and in messages ("huma", "entra").
    name: ClassVar[str]

    def __init__(self, settings: EmulatorSettings | None = None) -> None:
        self.settings = settings if settings is not None else self.default_settings()
        self.clock = Clock(self.settings.time_scale, frozen=self.settings.time_frozen)
        self.faults = FaultInjector(self.settings.faults)
        self.log = RequestLog()

    # -- what an emulator supplies -------------------------------------------------------------

    @classmethod
    def default_settings(cls) -> EmulatorSettings:
        return EmulatorSettings()

    @abc.abstractmethod
    def api_routes(self) -> list[BaseRoute]:
        """The service's own endpoints."""

    def control_routes(self) -> list[BaseRoute]:
        """Extra admin endpoints, mounted under `/_emulator`."""
        return []

    @abc.abstractmethod
    def load_state(self, state: Mapping[str, Any]) -> None:
        """Replace the whole state with `state` (the emulator's documented state-file format).

        Its callers (`PUT /_emulator/state`, `emulators.serve`) pause the cyclic collector around
        the parse and the load (see `cyclic_gc_paused`).

        Raises:
            ValueError: when the state is malformed; the old state is kept then.
        """

    @abc.abstractmethod
    def export_state(self, *, users: bool = True) -> dict[str, Any]:
        """The whole state in the format `load_state` reads; without `users`, every list of
        users empty (what a client's settings need of a large organisation, without it all)."""

    @abc.abstractmethod
    def fault_response(self, fault: Fault, scope: Scope) -> Response:
        """The service's answer to an injected 429 or 5xx."""

    @abc.abstractmethod
    def error_response(self, status: int, scope: Scope) -> Response:
        """The service's answer to an unknown path (404), a wrong method (405) or a crash (500)."""

    def is_auth_path(self, path: str) -> bool:
        """Whether `path` is a token endpoint (bodies carry secrets; faults only if asked)."""
        return False

    # -- shared behaviour ----------------------------------------------------------------------

    def faults_apply(self, path: str) -> bool:
        """Whether the middleware rolls the fault dice for a request to `path`."""
        return self.hold_applies(path)

    def hold_applies(self, path: str) -> bool:
        """Whether a hold (`faults.hold_after_writes`) may keep a request to `path` waiting.

        Any API request the dice may hit, taken whole, even where an emulator rolls the dice per
        item itself (Graph's `$batch` counts as one write).
        """
        if path.startswith("/_emulator"):
            return False
        return self.settings.faults.include_auth or not self.is_auth_path(path)

    def clock_moved(self) -> None:
        """Called after `POST /_emulator/clock/advance` moved emulated time on: work that waits on
        the clock (a frozen one above all) looks again. Nothing waits on it by default."""
        return

    def update_settings(self, changes: Mapping[str, Any]) -> None:
        """Change settings while running; raises ValueError (changing nothing) on a bad key."""
        apply_changes(self.settings, changes)
        self.clock.scale = self.settings.time_scale
        self.clock.frozen = self.settings.time_frozen

    def build_app(self) -> ASGIApp:
        """The ASGI app: API and admin routes, wrapped in fault injection and the request log."""
        admin = Mount("/_emulator", routes=[*self._admin_routes(), *self.control_routes()])

        async def on_http_error(request: Request, exc: Exception) -> Response:
            status = exc.status_code if isinstance(exc, HTTPException) else 500
            if status == 500:
                logger.exception("%s emulator crashed on %s", self.name, request.url.path)
            return self.error_response(status, request.scope)

        app = Starlette(
            routes=[*self.api_routes(), admin],
            exception_handlers={HTTPException: on_http_error, Exception: on_http_error},
        )
        return RequestLogMiddleware(FaultMiddleware(app, self), self)

    def _admin_routes(self) -> list[BaseRoute]:
        async def get_state(request: Request) -> Response:
            return JSONResponse(
                self.export_state(users=request.query_params.get("users") != "false")
            )

        async def put_state(request: Request) -> Response:
            body = await request.body()
            try:
                with cyclic_gc_paused():
                    self.load_state(orjson.loads(body))
            except (ValueError, orjson.JSONDecodeError) as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
            return Response(status_code=204)

        async def get_requests(request: Request) -> Response:
            q = request.query_params
            entries = self.log.entries(
                since=int(q.get("since", 0)),
                method=q.get("method"),
                path_prefix=q.get("path_prefix"),
            )
            return JSONResponse({"requests": entries})

        async def clear_requests(request: Request) -> Response:
            self.log.clear()
            return Response(status_code=204)

        async def get_settings(request: Request) -> Response:
            return JSONResponse(settings_to_dict(self.settings))

        async def patch_settings(request: Request) -> Response:
            try:
                self.update_settings(orjson.loads(await request.body()))
            except (ValueError, orjson.JSONDecodeError) as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
            return JSONResponse(settings_to_dict(self.settings))

        def clock_view() -> JSONResponse:
            clock = self.clock
            return JSONResponse({"now": clock.now(), "scale": clock.scale, "frozen": clock.frozen})

        async def get_clock(request: Request) -> Response:
            return clock_view()

        async def advance_clock(request: Request) -> Response:
            try:
                seconds = orjson.loads(await request.body())["seconds"]
                if isinstance(seconds, bool) or not isinstance(seconds, int | float):
                    raise ValueError(f"'seconds' takes a number, got {seconds!r}")
                self.clock.advance(seconds)
                self.clock_moved()
            except (ValueError, KeyError, TypeError, orjson.JSONDecodeError) as exc:
                return JSONResponse(
                    {"error": f"advance takes {{'seconds': s}}: {exc}"}, status_code=400
                )
            return clock_view()

        async def get_held(request: Request) -> Response:
            return JSONResponse({"held": self.faults.held})

        return [
            Route("/state", get_state, methods=["GET"]),
            Route("/state", put_state, methods=["PUT"]),
            Route("/requests", get_requests, methods=["GET"]),
            Route("/requests", clear_requests, methods=["DELETE"]),
            Route("/settings", get_settings, methods=["GET"]),
            Route("/settings", patch_settings, methods=["PATCH"]),
            Route("/clock", get_clock, methods=["GET"]),
            Route("/clock/advance", advance_clock, methods=["POST"]),
            Route("/held", get_held, methods=["GET"]),
        ]

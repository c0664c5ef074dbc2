"""A toy emulator on the shared core, served over TLS in a thread, to test the core alone."""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from emulators.core import Emulator, JSONResponse
from emulators.faults import Fault
from emulators.serve import listening_socket
from emulators.settings import EmulatorSettings, settings_to_dict
from emulators.tls import ensure_certificates


class ToyEmulator(Emulator):
    """A list of item names behind `GET|POST /items` and a fake token endpoint."""

    name = "toy"

    def __init__(self) -> None:
        super().__init__()
        self.items: list[str] = []

    def api_routes(self) -> list[BaseRoute]:
        async def list_items(request: Request) -> Response:
            return JSONResponse(self.items)

        async def add_item(request: Request) -> Response:
            self.items.append((await request.json())["name"])
            return JSONResponse({"ok": True}, status_code=201)

        async def token(request: Request) -> Response:
            await request.body()
            return JSONResponse({"access_token": "t"})

        return [
            Route("/items", list_items, methods=["GET"]),
            Route("/items", add_item, methods=["POST"]),
            Route("/token", token, methods=["POST"]),
        ]

    def load_state(self, state: Mapping[str, Any]) -> None:
        self.items = list(state["items"])

    def export_state(self, *, users: bool = True) -> dict[str, Any]:
        return {"items": list(self.items)}  # a toy without users

    def fault_response(self, fault: Fault, scope: Any) -> Response:
        if fault.status == 429:
            retry_after = self.clock.retry_after_header(self.settings.faults.throttle_retry_after)
            return JSONResponse(
                {"toy_error": "throttled"}, status_code=429, headers={"Retry-After": retry_after}
            )
        return JSONResponse({"toy_error": fault.status}, status_code=fault.status)

    def error_response(self, status: int, scope: Any) -> Response:
        return JSONResponse({"toy_error": status}, status_code=status)

    def is_auth_path(self, path: str) -> bool:
        return path == "/token"


@dataclass
class ServedToy:
    emulator: ToyEmulator
    url: str
    ca_bundle: Path


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedToy]:
    tls = ensure_certificates(tmp_path_factory.mktemp("toy") / "tls")
    emulator = ToyEmulator()
    sock = listening_socket("127.0.0.1", 0)
    config = uvicorn.Config(
        emulator.build_app(),
        ssl_certfile=str(tls.server_cert),
        ssl_keyfile=str(tls.server_key),
        log_config=None,
        lifespan="off",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    yield ServedToy(emulator, f"https://127.0.0.1:{sock.getsockname()[1]}", tls.ca_bundle)
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def reset_toy(toy: ServedToy) -> None:
    toy.emulator.items = []
    toy.emulator.update_settings(settings_to_dict(EmulatorSettings()))
    toy.emulator.log.clear()


@pytest.fixture
def client(toy: ServedToy, reset_toy: None) -> Iterator[httpx.Client]:
    verify = ssl.create_default_context(cafile=toy.ca_bundle)
    with httpx.Client(base_url=toy.url, verify=verify, timeout=10) as client:
        yield client

"""The core's parts on their own: settings validation, the emulated clock, the fault dice, the CA.

Pins: a bad settings change is refused whole; emulated time is continuous when the scale changes
and `Retry-After` is whole real seconds, at least one; fault shares follow the configured rates
and a seed makes them repeatable; the local CA is made once, its server certificate verifies for
the loopback names, private keys are owner-only, and the bundle also holds the system's CAs;
the admin client refuses any URL but https.
"""

from __future__ import annotations

import socket
import ssl
import stat
import threading
import time

import pytest

from emulators.admin_client import AdminClient
from emulators.clock import Clock
from emulators.faults import FaultInjector, FaultKind
from emulators.settings import EmulatorSettings, FaultSettings, apply_changes, settings_to_dict
from emulators.tls import ensure_certificates


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        pytest.param({"nope": 1}, "unknown setting 'nope'", id="unknown-top-level-key"),
        pytest.param({"faults": {"error_rat": 1}}, "faults.error_rat", id="unknown-nested-key"),
        pytest.param({"time_scale": "fast"}, "time_scale", id="wrong-type"),
        pytest.param({"faults": {"drop_phase": "never"}}, "drop_phase", id="not-in-literal"),
        pytest.param({"faults": 3}, "takes an object", id="section-not-an-object"),
        pytest.param({"faults": {"include_auth": 1}}, "include_auth", id="int-is-not-bool"),
    ],
)
def test_bad_settings_are_refused_and_change_nothing(changes: dict, message: str) -> None:
    settings = EmulatorSettings()
    before = settings_to_dict(settings)

    with pytest.raises(ValueError, match=message):
        apply_changes(settings, {"token_lifetime_seconds": 5, **changes})

    assert settings_to_dict(settings) == before


def test_good_settings_are_coerced_and_applied() -> None:
    settings = EmulatorSettings()

    apply_changes(settings, {"time_scale": 10, "faults": {"error_statuses": [503], "seed": None}})

    assert settings.time_scale == 10.0
    assert settings.faults.error_statuses == (503,)
    assert settings_to_dict(settings)["faults"]["error_statuses"] == [503]


def test_the_clock_stays_continuous_when_its_scale_changes() -> None:
    clock = Clock(scale=1000)
    time.sleep(0.01)
    before = clock.now()
    clock.scale = 1

    assert clock.now() >= before >= 10.0
    assert clock.now() - before < 1.0


@pytest.mark.parametrize(
    ("scale", "emulated", "header"),
    [
        pytest.param(1, 10, "10", id="real-time"),
        pytest.param(1, 2.2, "3", id="rounded-up"),
        pytest.param(150, 150, "1", id="scaled-window"),
        pytest.param(1000, 1, "1", id="never-below-one"),
    ],
)
def test_retry_after_is_whole_real_seconds(scale: float, emulated: float, header: str) -> None:
    assert Clock(scale).retry_after_header(emulated) == header


def test_fault_shares_follow_the_rates_and_repeat_with_a_seed() -> None:
    settings = FaultSettings(throttle_rate=0.2, error_rate=0.1, drop_rate=0.05, seed=42)
    injector = FaultInjector(settings)
    draws = [injector.draw() for _ in range(20_000)]
    again = FaultInjector(settings)

    kinds = [d.kind if d else None for d in draws]
    assert kinds[:200] == [d.kind if d else None for d in (again.draw() for _ in range(200))]
    assert kinds.count(FaultKind.THROTTLE) / len(kinds) == pytest.approx(0.2, abs=0.015)
    assert kinds.count(FaultKind.ERROR) / len(kinds) == pytest.approx(0.1, abs=0.015)
    drops = kinds.count(FaultKind.DROP_BEFORE) + kinds.count(FaultKind.DROP_AFTER)
    assert drops / len(kinds) == pytest.approx(0.05, abs=0.01)
    assert kinds.count(None) / len(kinds) == pytest.approx(0.65, abs=0.02)


def test_no_rates_means_no_faults() -> None:
    injector = FaultInjector(FaultSettings())

    assert all(injector.draw() is None for _ in range(1000))


def test_the_local_ca_is_made_once_and_verifies_the_server(tmp_path) -> None:
    files = ensure_certificates(tmp_path / "tls")
    ca_before = files.ca_cert.read_bytes()
    server_before = files.server_cert.read_bytes()

    again = ensure_certificates(tmp_path / "tls")

    assert again.ca_cert.read_bytes() == ca_before
    assert again.server_cert.read_bytes() == server_before
    assert stat.S_IMODE(files.ca_key.stat().st_mode) == 0o600
    assert stat.S_IMODE(files.server_key.stat().st_mode) == 0o600
    bundle = files.ca_bundle.read_text()
    assert bundle.startswith(ca_before.decode())
    assert bundle.count("BEGIN CERTIFICATE") > 1  # the system's CAs follow ours


@pytest.mark.parametrize("server_name", ["localhost", "127.0.0.1"])
def test_the_server_certificate_is_trusted_through_the_bundle(tmp_path, server_name: str) -> None:
    files = ensure_certificates(tmp_path / "tls")
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(files.server_cert, files.server_key)
    client_context = ssl.create_default_context(cafile=files.ca_bundle)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def accept() -> None:
        conn, _ = listener.accept()
        with server_context.wrap_socket(conn, server_side=True) as tls_conn:
            tls_conn.recv(1)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    with (
        socket.create_connection(("127.0.0.1", port)) as raw,
        client_context.wrap_socket(raw, server_hostname=server_name) as tls,
    ):
        assert tls.version() is not None
        tls.sendall(b"x")
    thread.join(timeout=5)
    listener.close()


def test_the_admin_client_talks_to_an_emulator_over_https_only(tmp_path) -> None:
    files = ensure_certificates(tmp_path / "tls")

    with pytest.raises(ValueError, match="served over https"):
        AdminClient("file:///etc", files.ca_bundle)
    with pytest.raises(ValueError, match="served over https"):
        AdminClient("http://127.0.0.1:1", files.ca_bundle)
    AdminClient("https://127.0.0.1:1", files.ca_bundle)

"""The clients' TLS trust is read once per CA bundle and follows the bundle when it changes.

Pins, against a TLS server whose certificate one local CA vouches for: clients made while
`SSL_CERT_FILE` holds the same bundle share one verifying context (reading a bundle cost each
client about 20 ms); a bundle replaced by another CA's (renamed over it, or rewritten in place at
once) is trusted by the next client made, which refuses the server the old CA vouched for; a
bundle restored is trusted again; a bundle that cannot be read is an error, never the system's
store in its place.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from emulators.tls import TlsFiles, ensure_certificates
from resources.http import new_http_client, tls_context
from tests.resources.scripted_tls_server import answer, scripted

OK = answer(200, b'{"ok": true}', "Content-Type: application/json")


@pytest.fixture(scope="module")
def vouched(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """The CA that vouches for the scripted server."""
    return ensure_certificates(tmp_path_factory.mktemp("vouched"))


@pytest.fixture(scope="module")
def other(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """A CA that vouches for nothing here."""
    return ensure_certificates(tmp_path_factory.mktemp("other"))


@pytest.fixture
def bundle(vouched: TlsFiles, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`SSL_CERT_FILE`: a bundle of this test's own, holding the vouching CA."""
    path = tmp_path / "bundle.pem"
    path.write_bytes(vouched.ca_bundle.read_bytes())
    monkeypatch.setenv("SSL_CERT_FILE", str(path))
    return path


@pytest.fixture
def server(vouched: TlsFiles) -> Iterator[str]:
    with scripted(lambda _: OK, vouched) as running:
        yield running.url


def fetch(url: str) -> int:
    """A GET by a client made now, as every client of the product is made."""
    with new_http_client(base_url=url, timeout_seconds=5.0) as client:
        return client.get("/ping").status_code


def test_clients_made_with_one_bundle_share_one_verifying_context(bundle: Path) -> None:
    first, second = tls_context(), tls_context()

    assert first is second
    assert first.verify_mode == ssl.CERT_REQUIRED
    assert first.check_hostname is True


@pytest.mark.parametrize("how", ["renamed over it", "rewritten in place"])
def test_a_bundle_replaced_is_the_trust_of_the_next_client(
    how: str, bundle: Path, other: TlsFiles, server: str
) -> None:
    assert fetch(server) == 200
    replacement = other.ca_bundle.read_bytes()
    if how == "renamed over it":
        staged = bundle.with_suffix(".new")
        staged.write_bytes(replacement)
        staged.replace(bundle)
    else:  # at once: same file, and perhaps the same size and time stamps
        with bundle.open("r+b") as file:
            file.write(replacement)
            file.truncate()

    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        fetch(server)


def test_a_bundle_restored_is_trusted_again(
    bundle: Path, vouched: TlsFiles, other: TlsFiles, server: str
) -> None:
    bundle.write_bytes(other.ca_bundle.read_bytes())
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        fetch(server)

    bundle.write_bytes(vouched.ca_bundle.read_bytes())

    assert fetch(server) == 200


def test_a_bundle_that_cannot_be_read_is_an_error_not_the_systems_store(
    bundle: Path,
) -> None:
    tls_context()
    bundle.unlink()

    with pytest.raises(FileNotFoundError):
        tls_context()

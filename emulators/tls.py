"""A local certificate authority, made on first start, so the emulators serve real HTTPS.

Clients trust it the way they would trust a corporate CA: through `SSL_CERT_FILE`, pointed at
`ca-bundle.pem`, which holds the local CA *and* the system's CAs (so a shell that evaluated the
emulators' environment can still reach real HTTPS sites). Verification is never turned off.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import fcntl
import ipaddress
import os
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

SERVER_NAMES = ("localhost",)
SERVER_ADDRESSES = ("127.0.0.1", "::1")
_CA_NAME = "huma-entra-sync local emulator CA"
_RENEW_BEFORE = dt.timedelta(days=30)


@dataclasses.dataclass(frozen=True)
class TlsFiles:
    """Where the CA and the server certificate are kept."""

    directory: Path

    @property
    def ca_cert(self) -> Path:
        return self.directory / "ca.pem"

    @property
    def ca_key(self) -> Path:
        return self.directory / "ca-key.pem"

    @property
    def server_cert(self) -> Path:
        return self.directory / "server.pem"

    @property
    def server_key(self) -> Path:
        return self.directory / "server-key.pem"

    @property
    def ca_bundle(self) -> Path:
        """The file to point `SSL_CERT_FILE` at."""
        return self.directory / "ca-bundle.pem"


def ensure_certificates(directory: Path) -> TlsFiles:
    """Make the CA, the server certificate and the bundle in `directory` unless they are usable.

    Safe to call from several processes at once (a file lock serialises the first start).
    """
    files = TlsFiles(directory)
    directory.mkdir(parents=True, exist_ok=True)
    with _locked(directory / ".lock"):
        if not _valid(files.ca_cert):
            ca_key = ec.generate_private_key(ec.SECP256R1())
            _write_private(files.ca_key, ca_key)
            _write(files.ca_cert, _ca_certificate(ca_key))
            files.server_cert.unlink(missing_ok=True)
        if not _valid(files.server_cert):
            ca_key = serialization.load_pem_private_key(files.ca_key.read_bytes(), password=None)
            ca_cert = x509.load_pem_x509_certificate(files.ca_cert.read_bytes())
            server_key = ec.generate_private_key(ec.SECP256R1())
            _write_private(files.server_key, server_key)
            _write(files.server_cert, _server_certificate(server_key, ca_cert, ca_key))
        _write_text(files.ca_bundle, files.ca_cert.read_text() + _system_cas(files.ca_bundle))
    return files


@contextlib.contextmanager
def _locked(path: Path):
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _valid(cert_path: Path) -> bool:
    if not cert_path.exists():
        return False
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    return cert.not_valid_after_utc - dt.datetime.now(dt.UTC) > _RENEW_BEFORE


def _ca_certificate(key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, _CA_NAME)])
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )


def _server_certificate(
    key: ec.EllipticCurvePrivateKey, ca_cert: x509.Certificate, ca_key
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    names = [x509.DNSName(n) for n in SERVER_NAMES]
    names += [x509.IPAddress(ipaddress.ip_address(a)) for a in SERVER_ADDRESSES]
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )


def _system_cas(own_bundle: Path) -> str:
    """The PEM text of the CAs this machine already trusts (never our own bundle again)."""
    candidates = [os.environ.get("SSL_CERT_FILE"), ssl.get_default_verify_paths().cafile]
    for candidate in candidates:
        if not candidate:
            continue
        path = Path(candidate)
        if path.is_file() and path.resolve() != own_bundle.resolve():
            return "\n" + path.read_text()
    return ""


def _write(path: Path, cert: x509.Certificate) -> None:
    _write_text(path, cert.public_bytes(serialization.Encoding.PEM).decode())


def _write_private(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    _write_text(path, pem.decode(), mode=0o600)


def _write_text(path: Path, text: str, mode: int = 0o644) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    tmp.replace(path)

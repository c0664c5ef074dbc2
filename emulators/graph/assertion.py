"""Checking a certificate client assertion (`client_assertion_type=...jwt-bearer`) as Entra does.

The JWT must name a registered certificate of the app in its `x5t#S256` (SHA-256) or `x5t`
(SHA-1) header, be signed RS256 or PS256 with that certificate's key, have `aud` = the tenant's
token endpoint, `iss` = `sub` = the client id, and be inside `nbf`/`exp`.
"""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from emulators.graph import jose

_DOCS = (
    "Review the documentation at "
    "https://learn.microsoft.com/entra/identity-platform/certificate-credentials ."
)
_KEYS_HINT = (
    "Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured "
    "keys for app Id '{app}'. Review the documentation at "
    "https://docs.microsoft.com/en-us/graph/deployments to determine the corresponding service "
    "endpoint and https://docs.microsoft.com/en-us/graph/api/application-get?view=graph-rest-1.0"
    "&tabs=http to build a query request URL, such as "
    "'https://graph.microsoft.com/beta/applications/{app}'"
)
#: Clock skew Entra tolerates on `nbf`/`exp` (seconds).
_SKEW = 300


@dataclasses.dataclass(frozen=True)
class AssertionRejected(Exception):
    """Why Entra refuses the assertion: HTTP status, OAuth error, AADSTS code and message."""

    status: int
    error: str
    code: int
    message: str


def _rejected(code: int, message: str, status: int = 401, error: str = "invalid_client"):
    return AssertionRejected(status, error, code, message)


def _fmt(moment: datetime) -> str:
    return moment.strftime("%m/%d/%Y %H:%M:%S")


def check_assertion(
    assertion: str, *, app: dict[str, Any], client_id: str, audiences: set[str]
) -> None:
    """Accept the assertion or raise `AssertionRejected` with Entra's code and message.

    Args:
        audiences: the token-endpoint URLs that count as this tenant's (by id and by domain).
    """
    try:
        header, payload, signing_input, signature = jose.parse(assertion)
    except jose.MalformedToken:
        raise _rejected(
            50027, "JWT token is invalid or malformed.", 400, "invalid_request"
        ) from None
    algorithm = header.get("alg")
    if algorithm not in jose.SUPPORTED_ALGORITHMS:
        raise _rejected(
            5002738,
            f"Invalid JWT token. '{algorithm}' is not a supported signature algorithm. "
            "Supported signing algorithms are: 'RS256, PS256'",
            400,
            "invalid_request",
        )
    thumbprint, certificate, registration = _find_certificate(header, app)
    if certificate is None:
        if thumbprint is None:
            raise _rejected(
                50027,
                "Invalid JWT token. No certificate thumbprint specified in token header.",
                400,
                "invalid_request",
            )
        raise _rejected(
            700027,
            "The certificate with identifier used to sign the client assertion is not registered "
            "on application. [Reason - The key was not found., Thumbprint of key used by client: "
            f"'{thumbprint}', {_KEYS_HINT.format(app=client_id)}]",
        )
    start, end = certificate.not_valid_before_utc, certificate.not_valid_after_utc
    found = f"Found key 'Start={_fmt(start)}, End={_fmt(end)}'"
    if _expired(certificate, registration):
        raise _rejected(
            700027,
            "Client assertion contains an invalid signature. [Reason - The key used is expired., "
            f"Thumbprint of key used by client: '{thumbprint}', {found}]",
        )
    if not jose.verify(certificate.public_key(), algorithm, signing_input, signature):
        raise _rejected(
            700027,
            "Client assertion contains an invalid signature. [Reason - The provided signature "
            f"value did not match the expected signature value., Thumbprint of key used by "
            f"client: '{thumbprint}', {found}]",
        )
    if payload.get("iss") != client_id or payload.get("sub") != client_id:
        raise _rejected(
            700021,
            f"Client assertion application identifier doesn't match 'client_id' parameter. {_DOCS}",
        )
    if payload.get("aud") not in audiences:
        raise _rejected(
            700023, f"Client assertion audience claim does not match Realm issuer. {_DOCS}"
        )
    _check_lifetime(payload)


def _find_certificate(header: dict[str, Any], app: dict[str, Any]):
    wanted_sha256 = header.get("x5t#S256")
    wanted_sha1 = header.get("x5t")
    if not isinstance(wanted_sha256, str) and not isinstance(wanted_sha1, str):
        return None, None, None
    # MSAL (through PyJWT) keeps the base64 padding; the JOSE spec drops it. Entra takes both.
    wanted_sha256 = wanted_sha256.rstrip("=") if isinstance(wanted_sha256, str) else None
    wanted_sha1 = wanted_sha1.rstrip("=") if isinstance(wanted_sha1, str) else None
    shown = jose.b64url_decode(wanted_sha256 or wanted_sha1).hex().upper()
    for registration in app.get("certificates") or []:
        certificate = x509.load_pem_x509_certificate(registration["pem"].encode())
        if (
            wanted_sha256
            and jose.b64url_encode(certificate.fingerprint(hashes.SHA256())) == wanted_sha256
        ):
            return shown, certificate, registration
        # `x5t` is a SHA-1 thumbprint by definition (RFC 7515); it names a key, it protects nothing.
        sha1 = hashes.SHA1()  # noqa: S303 - see above
        if wanted_sha1 and jose.b64url_encode(certificate.fingerprint(sha1)) == wanted_sha1:
            return shown, certificate, registration
    return shown, None, None


def _expired(certificate: x509.Certificate, registration: dict[str, Any]) -> bool:
    now = datetime.now(UTC)
    end = registration.get("endDateTime")
    if end and datetime.fromisoformat(end.replace("Z", "+00:00")) <= now:
        return True
    return certificate.not_valid_after_utc <= now


def _check_lifetime(payload: dict[str, Any]) -> None:
    now = time.time()
    nbf = payload.get("nbf", payload.get("iat", now))
    exp = payload.get("exp")
    if not isinstance(exp, int | float) or not isinstance(nbf, int | float):
        raise _rejected(50027, "JWT token is invalid or malformed.", 400, "invalid_request")
    if now + _SKEW < nbf or now - _SKEW >= exp:

        def iso(t: float) -> str:
            return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")

        raise _rejected(
            700024,
            f"Client assertion is not within its valid time range. Current time: {iso(now)}, "
            f"assertion valid from {iso(nbf)}, expiry time of assertion {iso(exp)}. {_DOCS}",
        )

"""Entra ID's OAuth error bodies: `{"error", "error_description": "AADSTSnnnn: ...", ...}`.

The description ends with Trace ID, Correlation ID and Timestamp lines separated by CRLF, and the
body repeats the code, time and ids, exactly as login.microsoftonline.com answers.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request

from emulators.core import JSONResponse
from emulators.graph.discovery import request_origin

TENANT_NOT_FOUND = (
    "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are "
    "signing into the correct cloud. Check with your subscription administrator, this may happen "
    "if there are no active subscriptions for the tenant."
)
MISSING_PARAMETER = "The request body must contain the following parameter: '{name}'."
APP_NOT_FOUND = (
    "Application with identifier '{app}' was not found in the directory '{directory}'. This can "
    "happen if the application has not been installed by the administrator of the tenant or "
    "consented to by any user in the tenant. You may have sent your authentication request to "
    "the wrong tenant."
)
WRONG_SECRET = (
    "Invalid client secret provided. Ensure the secret being sent in the request is the client "  # noqa: S105 - a message
    "secret value, not the client secret ID, for a secret added to app '{app}'."
)
EXPIRED_SECRET = (
    "The provided client secret keys for app '{app}' are expired. Visit the Azure portal to "  # noqa: S105 - a message
    "create new keys for your app: https://aka.ms/NewClientSecret, or consider using "
    "certificate credentials for added security: https://aka.ms/certCreds."
)
NO_CREDENTIAL = (
    "The request body must contain the following parameter: 'client_assertion' or 'client_secret'."
)
SCOPE_NOT_DEFAULT = (
    "The provided value for scope {scope} is not valid. Client credential flows must have a "
    "scope value with /.default suffixed to the resource identifier (application ID URI)."
)
SCOPE_INVALID = (
    "The provided value for the input parameter 'scope' is not valid. The scope {scope} is not "
    "valid."
)
RESOURCE_NOT_FOUND = (
    "The resource principal named {resource} was not found in the tenant named {directory}. This "
    "can happen if the application has not been installed by the administrator of the tenant or "
    "consented to by any user in the tenant. You might have sent your authentication request to "
    "the wrong tenant."
)
UNSUPPORTED_GRANT = "The app requested an unsupported grant type '{grant}'."
POST_ONLY = "The endpoint only accepts POST, OPTIONS requests. Received a GET request."
TRANSIENT = "A transient error has occurred. Please try again."

# The delegated flows (device code, refresh token); see `emulators.graph.delegated`.
DEVICE_PENDING = "OAuth 2.0 device flow error. Authorization is pending. Continue polling."
DEVICE_EXPIRED = (
    "The provided value for the input parameter 'device_code' is not valid. This device code has "
    "expired."
)
DEVICE_DECLINED = "User declined to consent to access the app."
DEVICE_UNKNOWN = "The provided value for the input parameter 'device_code' is not valid."
PUBLIC_CLIENT_WITH_CREDENTIAL = (
    "Client is public so neither 'client_assertion' nor 'client_secret' should be presented."
)
MALFORMED = "Invalid request. Request is malformed or invalid."
GRANT_INVALID = "Provided grant is invalid or malformed."
GRANT_REVOKED = (
    "The provided grant has expired due to it being revoked, a fresh auth token is needed. The "
    "user might have changed or reset their password. The grant was issued on '{issued}' and the "
    "TokensValidFrom date (before which tokens are not valid) for this user is '{valid_from}'."
)
GRANT_INACTIVE = (
    "The refresh token has expired due to inactivity. The token was issued on {issued} and was "
    "inactive for {inactive}."
)
USER_NOT_FOUND = (
    "The user account {{EUII Hidden}} does not exist in the {tenant} directory. To sign into this "
    "application, the account must be added to the directory."
)
USER_DISABLED = "The user account is disabled."
NO_CONSENT = (
    "The user or administrator has not consented to use the application with ID '{app}' named "
    "'{name}'. Send an interactive authorization request for this user and resource."
)
ADMIN_CONSENT_REQUIRED = "The grant requires admin permission."
UNKNOWN_SCOPE = (
    "The application '{app}' asked for scope '{scope}' that doesn't exist on the resource "
    "'00000003-0000-0000-c000-000000000000'. Contact the app vendor."
)


def aadsts_response(
    request: Request,
    status: int,
    error: str,
    code: int,
    message: str,
    *,
    suberror: str | None = None,
) -> JSONResponse:
    """An Entra ID error answer; the correlation id echoes the client's `client-request-id`.

    `suberror` (e.g. `consent_required`) is the hint Entra adds to some `invalid_grant` answers.
    """
    now = datetime.now(UTC)
    timestamp = now.strftime("%Y-%m-%d %H:%M:%SZ")
    trace_id = str(uuid.uuid4())
    correlation_id = request.headers.get("client-request-id") or str(uuid.uuid4())
    description = (
        f"AADSTS{code}: {message}\r\nTrace ID: {trace_id}\r\n"
        f"Correlation ID: {correlation_id}\r\nTimestamp: {timestamp}"
    )
    body = {
        "error": error,
        "error_description": description,
        "error_codes": [code],
        "timestamp": timestamp,
        "trace_id": trace_id,
        "correlation_id": correlation_id,
        "error_uri": f"{request_origin(request)}/error?code={code}",
    }
    if suberror:
        body["suberror"] = suberror
    headers = {"x-ms-request-id": trace_id, "client-request-id": correlation_id}
    return JSONResponse(body, status_code=status, headers=headers)


def parse_time(value: Any) -> float | None:
    """A Graph DateTimeOffset as Unix time (any number of fraction digits), or None."""
    if not isinstance(value, str) or not value:
        return None
    text = value.replace("Z", "+00:00")
    if "." in text:
        head, _, tail = text.partition(".")
        digits = "".join(c for c in tail if c.isdigit())
        zone = tail[len(digits) :]
        text = f"{head}.{(digits + '000000')[:6]}{zone}"
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None


def entra_time(moment: float) -> str:
    """Entra's timestamps in messages: seven fraction digits, UTC."""
    stamp = datetime.fromtimestamp(moment, UTC)
    return f"{stamp:%Y-%m-%dT%H:%M:%S}.{stamp.microsecond:06d}0Z"


def timespan(seconds: float) -> str:
    """A .NET TimeSpan as Entra prints it: `d.hh:mm:ss`."""
    whole = int(seconds)
    days, rest = divmod(whole, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{days}.{hours:02d}:{minutes:02d}:{secs:02d}"

"""Entra ID's OAuth error bodies: `{"error", "error_description": "AADSTSnnnn: ...", ...}`.

The description ends with Trace ID, Correlation ID and Timestamp lines separated by CRLF, and the
body repeats the code, time and ids, exactly as login.microsoftonline.com answers.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from starlette.requests import Request

from emulators.core import JSONResponse

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
    "Invalid client secret provided. Ensure the secret being sent in the request is the client "
    "secret value, not the client secret ID, for a secret added to app '{app}'."
)
EXPIRED_SECRET = (
    "The provided client secret keys for app '{app}' are expired. Visit the Azure portal to "
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


def aadsts_response(
    request: Request, status: int, error: str, code: int, message: str
) -> JSONResponse:
    """An Entra ID error answer; the correlation id echoes the client's `client-request-id`."""
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
        "error_uri": f"{request.url.scheme}://{request.url.netloc}/error?code={code}",
    }
    headers = {"x-ms-request-id": trace_id, "client-request-id": correlation_id}
    return JSONResponse(body, status_code=status, headers=headers)

"""Graph's error envelope and the errors the users, domains and batch endpoints raise.

Every error body is `{"error": {"code", "message", "innerError": {"date", "request-id",
"client-request-id"}}}` (plus `details` where Graph gives them); handlers raise `GraphError` and
the dispatcher turns it into that body with the request's ids.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

RESOURCE_NOT_FOUND = (
    "Resource '{key}' does not exist or one of its queried reference-property objects are not "
    "present."
)
INSUFFICIENT_PRIVILEGES = "Insufficient privileges to complete the operation."
READ_ONLY = "Property '{name}' is read-only and cannot be set."
UNKNOWN_PROPERTY = (
    "The property '{name}' does not exist on type 'microsoft.graph.user'. Make sure to only use "
    "property names that are defined by the type or mark the type as open type."
)
INVALID_VALUE = "Invalid value specified for property '{name}' of resource 'User'."
ON_PREMISES_MASTERED = (
    "Unable to update the specified properties for on-premises mastered Directory Sync objects "
    "or objects currently undergoing migration."
)
DOMAIN_INVALID = (
    "The domain portion of the userPrincipalName property is invalid. You must use one of the "
    "verified domain names in your organization."
)
CONFLICT = "Another object with the same value for property {name} already exists."
PASSWORD_COMPLEXITY = (
    "The specified password does not comply with password complexity requirements. Please "  # noqa: S105 - a message
    "provide a different password."
)
REQUIRED_MISSING = "Property value is required but is empty or missing."
BAD_JSON = (
    "Unable to read JSON request payload. Please ensure Content-Type header is set and payload "
    "is of valid JSON format."
)


class GraphError(Exception):
    """An error answer: raise it anywhere below the dispatcher."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        details: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        inner: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers or {}
        self.inner = inner or {}


def bad_request(message: str, *, code: str = "Request_BadRequest", **kw: Any) -> GraphError:
    return GraphError(400, code, message, **kw)


def not_found(key: str) -> GraphError:
    return GraphError(404, "Request_ResourceNotFound", RESOURCE_NOT_FOUND.format(key=key))


def denied() -> GraphError:
    return GraphError(403, "Authorization_RequestDenied", INSUFFICIENT_PRIVILEGES)


def conflict(name: str) -> GraphError:
    return bad_request(
        CONFLICT.format(name=name), details=[{"target": name, "code": "ObjectConflict"}]
    )


def invalid_value(name: str) -> GraphError:
    return bad_request(
        INVALID_VALUE.format(name=name), details=[{"target": name, "code": "InvalidValue"}]
    )


def graph_date() -> str:
    """The `innerError.date` format: UTC, seconds, no zone suffix."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def error_body(
    error: GraphError, *, request_id: str, client_request_id: str | None
) -> dict[str, Any]:
    inner: dict[str, Any] = {**error.inner, "date": graph_date(), "request-id": request_id}
    inner["client-request-id"] = client_request_id or request_id
    body: dict[str, Any] = {"code": error.code, "message": error.message}
    if error.details:
        body["details"] = error.details
    body["innerError"] = inner
    return {"error": body}


#: Graph's codes for server-side failures (concepts/errors.md).
_FAULT_CODES = {
    500: ("generalException", "An unspecified error has occurred."),
    502: ("UnknownError", "Bad Gateway."),
    503: (
        "serviceNotAvailable",
        "The service is temporarily unavailable for maintenance or is overloaded. You may "
        "repeat the request after a delay, which may be specified in a Retry-After header.",
    ),
    504: (
        "gatewayTimeout",
        "The server, while acting as a proxy, did not receive a timely response.",
    ),
}


def server_error(status: int) -> GraphError:
    """The error of an injected 5xx."""
    code, message = _FAULT_CODES.get(
        status, ("generalException", "An unspecified error has occurred.")
    )
    return GraphError(status, code, message)


def throttled(retry_after: str) -> GraphError:
    """A 429 as Graph's throttling page shows it."""
    return GraphError(
        429,
        "TooManyRequests",
        "Please retry again later.",
        headers={"Retry-After": retry_after},
        inner={"code": "429", "message": "Please retry after", "status": "429"},
    )


def redacted(body: Any) -> Any:
    """A request body as the request log may keep it: never a password."""
    if isinstance(body, dict) and isinstance(body.get("passwordProfile"), dict):
        return {**body, "passwordProfile": {**body["passwordProfile"], "password": "<redacted>"}}
    return body

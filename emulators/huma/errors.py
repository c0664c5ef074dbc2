"""Huma's error bodies, as its published Open API spec (v1.53.2) declares them.

- 400 `InvalidFieldFormatResponse`:
  `{"errorCode": "field:invalid-format", "errorMessage": "Invalid field Format", "fields": [...]}`
- 401 `InvalidTokenResponse`: `{"error": "invalid_token", "error_description": "..."}`
- 404 `NotFoundErrorResponse`: `{"errorCode": "object:not-found", "errorMessage":
  "Object not found", "interpolations": {"type": ..., "id": ...}}`
- 5xx, 429 and unknown paths, `StandardServerErrorResponse`: Spring Boot's
  `{timestamp, status, error, message, path}`

Huma's service is Spring Boot (springdoc generated the spec); anything the spec does not declare
(an unknown path, a wrong method, a throttled request) gets Spring Boot's default error body.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from http import HTTPStatus

from emulators.core import JSONResponse

INVALID_FORMAT = "field:invalid-format"
NOT_FOUND = "object:not-found"


def invalid_fields(fields: Iterable[str]) -> JSONResponse:
    """400: one or more request fields (query, path or body) are malformed or not allowed."""
    return JSONResponse(
        {
            "errorCode": INVALID_FORMAT,
            "errorMessage": "Invalid field Format",
            "fields": list(dict.fromkeys(fields)),
        },
        status_code=400,
    )


def not_found(object_type: str, object_id: str) -> JSONResponse:
    """404: the object named by the path (or a reference in the body) does not exist."""
    return JSONResponse(
        {
            "errorCode": NOT_FOUND,
            "errorMessage": "Object not found",
            "interpolations": {"type": object_type, "id": object_id},
        },
        status_code=404,
    )


def invalid_token(description: str, *, error: str = "invalid_token") -> JSONResponse:
    """401 with an OAuth2 error body and the RFC 6750 challenge header."""
    return JSONResponse(
        {"error": error, "error_description": description},
        status_code=401,
        headers={"WWW-Authenticate": f'Bearer error="{error}"'},
    )


def spring_error(
    status: int, path: str, *, message: str = "", headers: dict[str, str] | None = None
) -> JSONResponse:
    """Spring Boot's default error body (`StandardServerErrorResponse` in the spec)."""
    reason = HTTPStatus(status).phrase
    now = datetime.now(UTC)
    return JSONResponse(
        {
            "timestamp": now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z",
            "status": status,
            "error": reason,
            "message": message or reason,
            "path": path,
        },
        status_code=status,
        headers=headers,
    )

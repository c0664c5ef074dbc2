"""Typed errors of the outside systems, carrying what an administrator needs and no secrets.

Every error names the service, the HTTP status, the service's own error code and message, and the
request id to quote to the vendor's support. `AuthenticationError` adds the action a person must
take (a new client secret, a missing consent, a wrong tenant id). `error_body` reads an error
answer's JSON for every client, and `huma_error_fields` reads Huma's error envelope (its API and
its token endpoint answer in the same shapes).
"""

from __future__ import annotations

import dataclasses
import urllib.parse
from collections.abc import Iterable
from typing import Any

import httpx


class RemoteError(Exception):
    """An outside system answered with an error, or could not be reached.

    Attributes:
        service: "huma", "graph" or "entra" (the authority).
        status: the HTTP status, or None when no answer arrived.
        code: the service's error code (`Request_BadRequest`, `field:invalid-format`, …).
        message: the service's error message.
        request_id: the service's request id, when it gave one.
    """

    def __init__(
        self,
        service: str,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
    ) -> None:
        self.service = service
        self.status = status
        self.code = code
        self.message = message
        self.request_id = request_id
        super().__init__(self._describe())

    def _describe(self) -> str:
        status = f" {self.status}" if self.status is not None else ""
        code = f" {self.code}" if self.code else ""
        request_id = f" (request id {self.request_id})" if self.request_id else ""
        return f"{self.service} answered{status}{code}: {self.message}{request_id}"


class RemoteUnavailable(RemoteError):
    """The service kept failing (5xx, throttling or broken connections) after every retry."""


class AuthenticationError(RemoteError):
    """The credentials or the consent are wrong; a person must act.

    Attributes:
        action: what to do about it, in words an administrator can follow.
    """

    def __init__(self, service: str, message: str, *, action: str, **details: object) -> None:
        self.action = action
        super().__init__(service, message, **details)  # type: ignore[arg-type]

    def _describe(self) -> str:
        return f"{super()._describe()} — {self.action}"


class SnapshotIncomplete(RemoteError):
    """A full snapshot could not be read consistently; planning on it would be unsafe."""


class UntrustedAnswer(RemoteError):
    """An answer would have us send credentials elsewhere or read without end: not followed.

    A link or redirect to another origin than the configured one, a link that repeats, more
    pages than the first one announced, an absurd total. Nothing was sent where it pointed.
    """


#: What stands in an error answer where it quoted a credential of the request.
REDACTED = "[redacted]"


def error_body(response: httpx.Response) -> dict[str, Any]:
    """The JSON object of an error answer; empty when the body is not JSON or not an object
    (a proxy's HTML page, an empty 503). A credential the request carried (its bearer token, a
    client secret in its form) is replaced by `REDACTED` wherever the answer quotes it back, so
    that no error made from the answer carries it."""
    try:
        body = response.json()
    except ValueError:  # not JSON, or not UTF-8 (UnicodeDecodeError is a ValueError)
        return {}
    return _without(body, _credentials(response)) if isinstance(body, dict) else {}


def without_credentials(value: Any, response: httpx.Response, *, also: Iterable[str] = ()) -> Any:
    """`value` (an answer's decoded JSON, or a part of it: a `$batch` item's body) with every
    credential the request of `response` carried, and each of `also` (a password the request's
    body set), replaced by `REDACTED` wherever it is quoted."""
    return _without(value, [*_credentials(response), *(secret for secret in also if secret)])


def _credentials(response: httpx.Response) -> list[str]:
    """The credentials the request of `response` carried, when it is known."""
    try:
        request = response.request
        form = request.content if b"secret" in request.content else b""
    except (RuntimeError, httpx.RequestNotRead):  # no request, or one streamed
        return []
    _, _, token = request.headers.get("authorization", "").partition(" ")
    fields = urllib.parse.parse_qs(form.decode("utf-8", "replace"))
    return [c for c in (token, *fields.get("client_secret", ())) if c]


def _without(value: Any, credentials: list[str]) -> Any:
    if not credentials:
        return value
    if isinstance(value, str):
        for credential in credentials:
            value = value.replace(credential, REDACTED)
        return value
    if isinstance(value, dict):
        return {k: _without(v, credentials) for k, v in value.items()}
    if isinstance(value, list):
        return [_without(v, credentials) for v in value]
    return value


@dataclasses.dataclass(frozen=True)
class HumaErrorFields:
    """What Huma said about a refused request.

    Attributes:
        code: `errorCode` of the API's envelope, or `error` of the OAuth one.
        message: its message, with the fields it objected to appended.
        fields: the fields it objected to, when it said.
    """

    code: str | None
    message: str
    fields: tuple[str, ...]


def huma_error_fields(response: httpx.Response) -> HumaErrorFields:
    """Code, message and fields of a Huma error answer (the API's `errorCode`/`errorMessage`
    envelope or the token endpoint's OAuth `error`/`error_description`)."""
    body = error_body(response)
    code = body.get("errorCode") or body.get("error")
    message = (
        body.get("errorMessage")
        or body.get("error_description")
        or body.get("message")
        or _without(response.reason_phrase, _credentials(response))
    )
    fields = tuple(str(f) for f in body.get("fields") or ())
    if fields:
        message = f"{message} (fields: {', '.join(fields)})"
    return HumaErrorFields(code, message, fields)

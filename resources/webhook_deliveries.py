"""One delivery of Huma's profile webhook, checked: who sent it (signature, token) and what it says.

Huma signs each delivery with the webhook's client secret in the `huma-hmac-sha256` header and,
when an access token is configured, sends it as a bearer token (api-facts A.6). Huma's page does not
say how the signature is encoded. Accepted, each compared in constant time with the HMAC-SHA256 of
the raw body (the secret's UTF-8 bytes as key): lower- or upper-case hex (64 characters, the common
choice and what the emulator sends), or standard base64 of the 32 bytes (the other common choice).
Either encodes the same 256-bit MAC, so accepting both costs no strength. The body is checked over
the bytes as received, never over a re-serialised copy.

The body is `{"topic": …, "users": [{"id": …, "email": …, …}, …]}`; the topic must equal the
`huma-topic` header, each user must carry a UUID `id` (Huma's ids, `resources.remote_ids`) and an
email of a plausible shape. Other fields are ignored: the run that takes the event re-reads the
users from Huma, the event is never the truth.

A refusal carries the HTTP status and a reason that never quotes the body, the signature or a
secret (the receiver logs it).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import hmac
import re
from collections.abc import Mapping
from typing import Any

import orjson

from resources.remote_ids import huma_id_problem
from resources.webhook_events import TOPICS, EventUser

SIGNATURE_HEADER = "huma-hmac-sha256"
TOPIC_HEADER = "huma-topic"

#: An address is one `@` between a non-empty local part and a dotted domain, without spaces or
#: control characters, at most 320 characters (RFC 3696's limit of 64 + 1 + 255).
_EMAIL = re.compile(r"[^@\s\x00-\x1f\x7f]{1,64}@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+")
_MAX_EMAIL = 320


class Refused(Exception):
    """A delivery the receiver does not store; `reason` is safe to log (quotes nothing sent)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclasses.dataclass(frozen=True)
class Delivery:
    """An accepted delivery: its topic, the users it names, its identity (the body's SHA-256)."""

    topic: str
    users: tuple[EventUser, ...]
    digest: str


def signature(body: bytes, secret: str) -> str:
    """The `huma-hmac-sha256` value of `body`: hex of its HMAC-SHA256 with `secret`."""
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def check_sender(
    body: bytes, headers: Mapping[str, str], *, secret: str, token: str | None
) -> None:
    """Refuse a delivery not signed with `secret` (or without the bearer `token`, when one is set).

    Raises:
        Refused: 401, naming what was missing or wrong.
    """
    if token is not None:
        scheme, _, given = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not given.strip():
            raise Refused(401, "no bearer token")
        if not hmac.compare_digest(given.strip().encode(), token.encode()):
            raise Refused(401, "wrong bearer token")
    sent = headers.get(SIGNATURE_HEADER)
    if sent is None or not sent.strip():
        raise Refused(401, f"unsigned (no {SIGNATURE_HEADER} header)")
    given_mac = _decoded_mac(sent.strip())
    expected = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()
    # compare_digest on the decoded bytes: the time taken does not depend on where they differ.
    if given_mac is None or not hmac.compare_digest(given_mac, expected):
        raise Refused(401, "bad signature")


def _decoded_mac(value: str) -> bytes | None:
    """The 32 bytes a signature header encodes (hex or base64), or None."""
    if len(value) == 64:
        try:
            return bytes.fromhex(value)
        except ValueError:
            return None
    try:
        decoded = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    return decoded if len(decoded) == hashlib.sha256().digest_size else None


def read_delivery(body: bytes, headers: Mapping[str, str]) -> Delivery:
    """The delivery in a signed body.

    Raises:
        Refused: 400 for malformed JSON, a missing or disagreeing topic, a user without a UUID id
            or an email; 422 for a topic that is not one of Huma's four user topics.
    """
    header_topic = headers.get(TOPIC_HEADER)
    if not header_topic:
        raise Refused(400, f"no {TOPIC_HEADER} header")
    if header_topic not in TOPICS:
        raise Refused(422, "unknown topic")
    try:
        document = orjson.loads(body)  # a 100,000-user export parses in a third of json's time
    except orjson.JSONDecodeError:
        raise Refused(400, "the body is not JSON") from None
    if not isinstance(document, dict):
        raise Refused(400, "the body is not a JSON object")
    if document.get("topic") != header_topic:
        raise Refused(400, f"the body's topic is not the {TOPIC_HEADER} header's")
    users = document.get("users")
    if not isinstance(users, list):
        raise Refused(400, "the body has no users list")
    return Delivery(
        topic=header_topic,
        users=tuple(_user(user, position) for position, user in enumerate(users)),
        digest=hashlib.sha256(body).hexdigest(),
    )


def _user(user: Any, position: int) -> EventUser:
    if not isinstance(user, dict):
        raise Refused(400, f"user {position} is not an object")
    huma_id, email = user.get("id"), user.get("email")
    if huma_id_problem(huma_id) is not None:
        raise Refused(400, f"user {position} has no UUID id")
    if not isinstance(email, str) or len(email) > _MAX_EMAIL or not _EMAIL.fullmatch(email):
        raise Refused(400, f"user {position} has no email address")
    return EventUser(huma_id=huma_id.lower(), email=email)

"""The little JOSE the emulator needs, on `cryptography` alone: compact JWTs signed RS256/PS256."""

from __future__ import annotations

import base64
import binascii
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

SUPPORTED_ALGORITHMS = ("RS256", "PS256")


class MalformedToken(ValueError):
    """Not a compact JWT with JSON header and payload."""


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise MalformedToken("not base64url") from exc


def parse(token: str) -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
    """Header, payload, signing input and signature of a compact JWT.

    Raises:
        MalformedToken: when it is not three base64url parts with JSON objects.
    """
    parts = token.split(".")
    if len(parts) != 3:
        raise MalformedToken("a JWT has three parts")
    try:
        header = orjson.loads(b64url_decode(parts[0]))
        payload = orjson.loads(b64url_decode(parts[1]))
    except orjson.JSONDecodeError as exc:
        raise MalformedToken("header or payload is not JSON") from exc
    if not isinstance(header, dict) or not isinstance(payload, dict):
        raise MalformedToken("header and payload must be JSON objects")
    return header, payload, f"{parts[0]}.{parts[1]}".encode("ascii"), b64url_decode(parts[2])


def _padding(algorithm: str) -> padding.AsymmetricPadding:
    if algorithm == "PS256":
        # PyJWT (what MSAL signs with) uses a salt as long as the digest; AUTO accepts any.
        return padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO)
    return padding.PKCS1v15()


def verify(public_key: Any, algorithm: str, signing_input: bytes, signature: bytes) -> bool:
    """Whether `signature` is `algorithm`'s signature of `signing_input` under an RSA key."""
    if algorithm not in SUPPORTED_ALGORITHMS or not isinstance(public_key, rsa.RSAPublicKey):
        return False
    try:
        public_key.verify(signature, signing_input, _padding(algorithm), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


def sign_rs256(private_key: rsa.RSAPrivateKey, header: dict, payload: dict) -> str:
    signing_input = f"{b64url_encode(orjson.dumps(header))}.{b64url_encode(orjson.dumps(payload))}"
    signature = private_key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{b64url_encode(signature)}"

"""Huma's OAuth2 client-credentials flow as an `httpx.Auth`: one token, cached, renewed in time.

The token is fetched at `POST /auth/oauth/token` and reused until shortly before it expires. A 401
on an API call (Huma revoked or expired the token early) triggers exactly one fresh token and one
resend. Threads share the token; only one of them fetches a new one.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Generator

import httpx

from resources.errors import AuthenticationError, UntrustedAnswer, huma_error_fields
from resources.http import is_bearer_token, send_with_retries
from resources.retrying import RetryPolicy

logger = logging.getLogger(__name__)

_KEY_ACTION = (
    "check HUMA_CLIENT_ID and HUMA_CLIENT_SECRET; if the key was deleted, deactivated or its "
    "secret lost, add a new API key under System settings → Open API in Huma and update both"
)


class HumaTokenAuth(httpx.Auth):
    """Bearer tokens from Huma's token endpoint, for every request of an `httpx.Client`."""

    def __init__(
        self,
        *,
        token_client: httpx.Client,
        client_id: str,
        client_secret: str,
        retry: RetryPolicy,
        renew_margin_seconds: float = 60.0,
    ) -> None:
        self._token_client = token_client
        self._client_id = client_id
        self._client_secret = client_secret
        self._retry = retry
        self._renew_margin = renew_margin_seconds
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at = 0.0

    def __repr__(self) -> str:
        return f"HumaTokenAuth(client_id={self._client_id!r})"

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        token = self.token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            logger.info("Huma answered 401 to a valid-looking token; fetching a new one")
            request.headers["Authorization"] = f"Bearer {self.token(stale=token)}"
            yield request

    def token(self, stale: str | None = None) -> str:
        """A valid access token: the cached one, or a new one when it is near expiry.

        Args:
            stale: a token Huma refused; a new one is fetched unless another thread already did.
        """
        with self._lock:
            usable = self._token is not None and time.monotonic() < self._expires_at
            if usable and self._token != stale:
                return self._token  # type: ignore[return-value]
            self._token, lifetime = self._fetch()
            # Renew a margin before expiry (never more than half the lifetime early).
            self._expires_at = time.monotonic() + max(lifetime - self._renew_margin, lifetime / 2)
            return self._token

    def _fetch(self) -> tuple[str, float]:
        response = send_with_retries(
            lambda: self._token_client.post(
                "/auth/oauth/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": self._client_id,
                    "client_secret": self._client_secret,
                },
            ),
            service="huma",
            what="POST /auth/oauth/token",
            policy=self._retry,
            # Asking for a token twice is harmless: it is a read for our purposes.
            idempotent=True,
        )
        if response.status_code != 200:
            raise _token_error(response)
        return _token_and_lifetime(response)


def _token_and_lifetime(response: httpx.Response) -> tuple[str, float]:
    """The access token and its lifetime in seconds from a 200 of the token endpoint.

    Raises:
        UntrustedAnswer: the answer is not a token answer; the message never quotes the body.
    """
    try:
        body = response.json()
    except ValueError:  # not JSON, or not UTF-8
        body = None
    token = body.get("access_token") if isinstance(body, dict) else None
    if token is None:
        problem = "no access_token"
    elif not is_bearer_token(token):
        problem = "an access_token that is not a bearer token"
    else:
        try:
            lifetime = float(body["expires_in"])
        except (KeyError, TypeError, ValueError):
            lifetime = math.nan
        if 0 < lifetime < math.inf:
            return token, lifetime
        problem = "an expires_in that is not a positive number of seconds"
    raise UntrustedAnswer("huma", f"POST /auth/oauth/token answered {problem}: not used")


def _token_error(response: httpx.Response) -> AuthenticationError:
    error = huma_error_fields(response)
    return AuthenticationError(
        "huma",
        f"the API key was refused: {error.message}",
        action=_KEY_ACTION,
        status=response.status_code,
        code=error.code,
    )

"""Access tokens for Microsoft Graph from Entra ID, through MSAL.

One `msal.ConfidentialClientApplication` per (authority, app, credential) per process, so MSAL's
token cache does its job: the "service to service" type of Huma's help page (the "with user
account" type is `resources.graph_user_auth`). The app is built, reaches the authority and has
its refusals explained the same way for both kinds (`resources.entra_msal`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import threading
from typing import Any

import httpx
import msal

from resources.entra_msal import (
    ENTRA_ACTIONS,
    authority_url,
    forget_access_token,
    msal_app,
    msal_refusal,
)
from resources.errors import RemoteError

logger = logging.getLogger(__name__)

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
MICROSOFT_AUTHORITY_HOST = "https://login.microsoftonline.com"

#: Where the client secret is set, when nobody said otherwise (SPEC §11's variable).
SECRET_SETTING = "ENTRA_CLIENT_SECRET"  # noqa: S105 - the variable's name, not a secret
_DEFAULT_ACTION = "check ENTRA_TENANT_ID, ENTRA_CLIENT_ID and the client secret or certificate"


@dataclasses.dataclass(frozen=True)
class ClientCertificate:
    """A certificate credential: PEM private key and the certificate's SHA-1 thumbprint (hex)."""

    private_key_pem: str
    thumbprint: str

    def __repr__(self) -> str:
        return f"ClientCertificate(thumbprint={self.thumbprint!r})"


_APPS: dict[tuple[str, str, str], msal.ConfidentialClientApplication] = {}
_APPS_LOCK = threading.Lock()


class GraphTokenProvider:
    """Client-credentials tokens for Graph, cached by MSAL until shortly before they expire."""

    def __init__(
        self,
        *,
        tenant_id: str,
        client_id: str,
        client_secret: str | None = None,
        certificate: ClientCertificate | None = None,
        authority_host: str = MICROSOFT_AUTHORITY_HOST,
        timeout_seconds: float = 30.0,
        secret_setting: str = SECRET_SETTING,
    ) -> None:
        """`secret_setting` names where a person sets the client secret (the environment
        variable the connection reads it from), for the messages that say to replace it."""
        if (client_secret is None) == (certificate is None):
            raise ValueError("give exactly one of a client secret or a client certificate")
        self.tenant_id = tenant_id
        self.client_id = client_id
        self.authority = authority_url(authority_host, tenant_id)
        credential: Any = client_secret
        if certificate is not None:
            credential = {
                "private_key": certificate.private_key_pem,
                "thumbprint": certificate.thumbprint,
            }
        self._credential = credential
        self._key = (
            self.authority,
            client_id,
            hashlib.sha256(repr(credential).encode()).hexdigest(),
        )
        self._authority_host = authority_host
        self._timeout = timeout_seconds
        self._secret_setting = secret_setting

    def _application(self) -> msal.ConfidentialClientApplication:
        """The process's MSAL app for this authority, app and credential (made on first use).

        Raises:
            AuthenticationError: the authority refused discovery (an unknown tenant, mostly).
        """
        with _APPS_LOCK:
            app = _APPS.get(self._key)
            if app is None:
                app = msal_app(
                    msal.ConfidentialClientApplication,
                    client_id=self.client_id,
                    authority=self.authority,
                    authority_host=self._authority_host,
                    timeout_seconds=self._timeout,
                    client_credential=self._credential,
                )
                _APPS[self._key] = app
            return app

    def __repr__(self) -> str:
        return f"GraphTokenProvider(authority={self.authority!r}, client_id={self.client_id!r})"

    def token(self) -> str:
        """A valid access token for Graph (from MSAL's cache when it has one).

        Raises:
            AuthenticationError: Entra ID refused the credentials; the message says what to do.
            RemoteError: Entra ID could not be reached or failed.
        """
        app = self._application()
        try:
            result = app.acquire_token_for_client(scopes=[GRAPH_SCOPE])
        except httpx.HTTPError as exc:
            raise RemoteError("entra", f"token request failed: {type(exc).__name__}") from None
        if "access_token" in result:
            return result["access_token"]
        raise msal_refusal(
            result,
            "Entra ID refused the token request",
            actions=ENTRA_ACTIONS,
            default=_DEFAULT_ACTION,
            secret_setting=self._secret_setting,
        )

    def forget(self, token: str) -> None:
        """Drop `token` from MSAL's cache (Graph refused it before its expiry)."""
        forget_access_token(self._application().token_cache, token)

"""Graph access "with user account": the integration acts as the person who signed in.

Huma's help page offers this beside "service to service": "The authorization is connected to the
user who sets this up. If the user loses the User Administration role in Microsoft Azure, the
integration will stop working." Here that person signs in once with `huma-entra-sync login`
(OAuth 2.0 device code: a code to enter in any browser, fit for a server without one), and MSAL's
token cache, kept in a file only its owner can read (`TokenCacheFile`), holds the refresh token
from then on. Every run gets its access token silently, refreshed when it expires, until the
refresh token is revoked (a password reset, "revoke sessions") or unused for 90 days: then the
person signs in again.

The app registration must allow public client flows (Authentication, Advanced settings) and hold
the delegated Microsoft Graph permission User.ReadWrite.All with admin consent (or a Global
Administrator consents while signing in); the person needs the User Administrator or Global
Administrator role for the integration to write.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
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
from resources.errors import AuthenticationError, RemoteError
from resources.graph_auth import MICROSOFT_AUTHORITY_HOST
from resources.token_cache_file import TokenCacheFile

#: MSAL adds `openid profile offline_access` (an account and a refresh token).
GRAPH_USER_SCOPES = ("https://graph.microsoft.com/User.ReadWrite.All",)
LOGIN_AGAIN = "run `huma-entra-sync login` again"
_CONSENT = (
    "grant admin consent for the delegated Microsoft Graph permission User.ReadWrite.All in the "
    "app registration's API permissions (or let a Global Administrator sign in), then "
    + LOGIN_AGAIN
)
#: AADSTS codes of the delegated flows -> what to do.
_ACTIONS = {
    7000218: "turn on 'Allow public client flows' in the app registration (Authentication, "
    "Advanced settings), then " + LOGIN_AGAIN,
    65001: _CONSENT,
    90094: _CONSENT,
    50057: "the signed-in account is disabled: " + LOGIN_AGAIN + " as an enabled administrator",
    50034: "the signed-in account no longer exists: " + LOGIN_AGAIN + " as another administrator",
    50173: "the sign-in was revoked (a password change or revoked sessions): " + LOGIN_AGAIN,
    700082: "the sign-in expired after a long time unused: " + LOGIN_AGAIN,
    70020: "the code expired before anyone signed in: " + LOGIN_AGAIN + " and sign in in time",
    65004: "the sign-in was declined: " + LOGIN_AGAIN + " and approve it",
    700016: ENTRA_ACTIONS[700016],
    90002: ENTRA_ACTIONS[90002],
}


@dataclasses.dataclass
class _Session:
    """One token cache file's MSAL app in this process, and the lock its users share."""

    store: TokenCacheFile
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)
    app: msal.PublicClientApplication | None = None


#: One session per (authority, app, cache file) per process, like `graph_auth`'s MSAL apps: the
#: cache is read and written under one lock, and MSAL's HTTP client lives as long as the process.
_SESSIONS: dict[tuple[str, str, Path], _Session] = {}
_SESSIONS_LOCK = threading.Lock()


def default_token_cache_path(tenant_id: str, client_id: str) -> Path:
    """Where `login` keeps the cache by default: the user's config folder, one file per app."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "huma-entra-sync" / f"{tenant_id}-{client_id}.json"


class DelegatedTokenProvider:
    """Access tokens for Graph on behalf of the person who signed in (thread-safe)."""

    def __init__(
        self,
        *,
        tenant_id: str,
        client_id: str,
        cache_path: Path | str,
        authority_host: str = MICROSOFT_AUTHORITY_HOST,
        timeout_seconds: float = 30.0,
    ) -> None:
        self.tenant_id = tenant_id
        self.client_id = client_id
        self.authority = authority_url(authority_host, tenant_id)
        self.cache_path = Path(cache_path)
        self._authority_host = authority_host
        self._timeout = timeout_seconds
        key = (self.authority, client_id, self.cache_path.absolute())
        with _SESSIONS_LOCK:
            self._session = _SESSIONS.setdefault(key, _Session(TokenCacheFile(self.cache_path)))
        self._store = self._session.store
        self._lock = self._session.lock

    def __repr__(self) -> str:
        return (
            f"DelegatedTokenProvider(authority={self.authority!r}, client_id={self.client_id!r}, "
            f"cache_path={str(self.cache_path)!r})"
        )

    def login(self, show: Callable[[str], None]) -> str:
        """Sign a person in with a device code, once; blocks until they did (or it expired).

        Args:
            show: called with Entra's instructions ("To sign in, use a web browser to open the
                page ... and enter the code ... to authenticate.").

        Returns:
            The signed-in user's name (userPrincipalName); the cache holds only that account.

        Raises:
            AuthenticationError: Entra refused, the person declined, or the code expired.
            RemoteError: Entra ID could not be reached or failed.
        """
        with self._lock:
            self._store.reload_if_changed()
            app = self._application()
            try:
                flow = app.initiate_device_flow(scopes=list(GRAPH_USER_SCOPES))
                if "user_code" not in flow:
                    raise _error(flow, "Entra ID refused to start a sign-in")
                show(flow["message"])
                result = app.acquire_token_by_device_flow(flow)
            except (httpx.HTTPError, ValueError) as exc:
                raise RemoteError("entra", f"sign-in failed: {type(exc).__name__}") from None
            if result.get("error") == "authorization_pending":  # MSAL stopped at expiry
                result = {
                    "error": "expired_token",
                    "error_codes": [70020],
                    "error_description": "the code expired before anyone signed in",
                }
            if "access_token" not in result:
                raise _error(result, "the sign-in did not complete")
            oid = result.get("id_token_claims", {}).get("oid")
            for account in app.get_accounts():
                if account.get("local_account_id") != oid:
                    app.remove_account(account)  # one person per cache: the latest to sign in
            self._store.save()
            return str(result.get("id_token_claims", {}).get("preferred_username", ""))

    def token(self) -> str:
        """A valid access token for the signed-in person (refreshed silently when needed).

        Raises:
            AuthenticationError: nobody signed in, or the sign-in no longer works; the action
                says to run `huma-entra-sync login` again.
            RemoteError: Entra ID could not be reached or failed.
        """
        with self._lock:
            self._store.reload_if_changed()
            app = self._application()
            accounts = app.get_accounts()
            if not accounts:
                raise AuthenticationError(
                    "entra",
                    f"nobody has signed in: the token cache {self.cache_path} holds no account",
                    action=LOGIN_AGAIN,
                )
            try:
                result = app.acquire_token_silent_with_error(
                    list(GRAPH_USER_SCOPES), account=accounts[0]
                )
            except httpx.HTTPError as exc:
                raise RemoteError("entra", f"token refresh failed: {type(exc).__name__}") from None
            finally:
                self._store.save()
        if result and "access_token" in result:
            return result["access_token"]
        if not result:
            raise AuthenticationError(
                "entra", "the token cache holds no refresh token", action=LOGIN_AGAIN
            )
        raise _error(result, "Entra ID refused to refresh the sign-in")

    def forget(self, token: str) -> None:
        """Drop `token` from the cache (Graph refused it before its expiry)."""
        with self._lock:
            forget_access_token(self._store.cache, token)
            self._store.save()

    def _application(self) -> msal.PublicClientApplication:
        """The session's MSAL app, made on first use (callers hold the session's lock)."""
        if self._session.app is None:
            try:
                self._session.app = msal_app(
                    msal.PublicClientApplication,
                    client_id=self.client_id,
                    authority=self.authority,
                    authority_host=self._authority_host,
                    timeout_seconds=self._timeout,
                    token_cache=self._store.cache,
                )
            except httpx.HTTPError as exc:  # discovery happens when the app is made
                raise RemoteError("entra", f"discovery failed: {type(exc).__name__}") from None
        return self._session.app


def _error(result: Mapping[str, Any], what: str) -> AuthenticationError:
    return msal_refusal(result, what, actions=_ACTIONS, default=LOGIN_AGAIN)

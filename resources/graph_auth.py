"""Access tokens for Microsoft Graph from Entra ID, through MSAL.

One `msal.ConfidentialClientApplication` per (authority, app, credential) per process, so MSAL's
token cache does its job: the "service to service" type of Huma's help page (the "with user
account" type is `resources.graph_user_auth`). MSAL talks over our own httpx-based client
(`MsalHttpClient`), because MSAL's default `requests` session ignores `SSL_CERT_FILE` (and prefers
`REQUESTS_CA_BUNDLE` from the environment over the `verify=` it is given): with ours, MSAL trusts
exactly what every other client of the product trusts. MSAL's error dicts become
`AuthenticationError`s that say what to do.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import threading
import urllib.parse
from collections.abc import Mapping
from typing import Any

import httpx
import msal

from resources.errors import AuthenticationError, RemoteError
from resources.http import new_http_client, require_https, same_origin_link

logger = logging.getLogger(__name__)

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
MICROSOFT_AUTHORITY_HOST = "https://login.microsoftonline.com"

#: Where the client secret is set, when nobody said otherwise (SPEC §11's variable).
SECRET_SETTING = "ENTRA_CLIENT_SECRET"  # noqa: S105 - the variable's name, not a secret
#: AADSTS codes an administrator can act on -> what to do (client credentials); `{secret}` is
#: where the connection's client secret is set.
ENTRA_ACTIONS = {
    7000215: "the client secret is wrong: copy the secret's *value* (not its id) from the app "
    "registration's Certificates & secrets into {secret}, or create a new one",
    7000222: "the client secret has expired: create a new client secret in the app registration "
    "(Certificates & secrets) and update {secret}",
    700016: "no such application in this tenant: check ENTRA_CLIENT_ID (the Application (client) "
    "ID) and ENTRA_TENANT_ID",
    90002: "no such tenant: check ENTRA_TENANT_ID (the Directory (tenant) ID on the app's "
    "overview page)",
    700027: "the certificate assertion was refused: upload the certificate to the app registration "
    "and check its thumbprint",
    700024: "the certificate assertion is not valid now: check the machine's clock and the "
    "certificate's dates",
}
_AUTHORITY_NAME = "the Entra authority host (ENTRA_AUTHORITY_HOST)"
_DEFAULT_ACTION = "check ENTRA_TENANT_ID, ENTRA_CLIENT_ID and the client secret or certificate"


def authority_url(authority_host: str, tenant_id: str) -> str:
    """The tenant's authority on `authority_host`, which must be `https` (SPEC §12).

    Raises:
        InsecureUrl: the host is not an `https` URL (MSAL would refuse it with a misleading
            error, and credentials are never sent in clear text).
    """
    require_https(authority_host, _AUTHORITY_NAME)
    return f"{authority_host.rstrip('/')}/{tenant_id}"


def discovery_refused(authority: str, exc: ValueError) -> AuthenticationError:
    """The error for MSAL's `ValueError` when the authority refuses instance discovery (an unknown
    tenant, mostly), with what an administrator should check."""
    return AuthenticationError(
        "entra",
        f"the authority {authority} refused discovery: {str(exc).splitlines()[0]}",
        action=ENTRA_ACTIONS[90002],
    )


@dataclasses.dataclass(frozen=True)
class ClientCertificate:
    """A certificate credential: PEM private key and the certificate's SHA-1 thumbprint (hex)."""

    private_key_pem: str
    thumbprint: str

    def __repr__(self) -> str:
        return f"ClientCertificate(thumbprint={self.thumbprint!r})"


class MsalHttpClient:
    """MSAL's `http_client` interface (`get`, `post`) over httpx and our TLS trust, for one
    authority: MSAL follows endpoints the authority's discovery document names, and the client
    secret goes only to the configured authority's origin (SPEC §12)."""

    def __init__(self, timeout_seconds: float, authority_host: str) -> None:
        self._http = new_http_client(timeout_seconds=timeout_seconds)
        self._authority = httpx.URL(require_https(authority_host, _AUTHORITY_NAME))

    def get(self, url: str, params: Any = None, headers: Any = None, **_: Any) -> httpx.Response:
        return self._http.get(self._checked(url), params=params, headers=headers)

    def post(
        self, url: str, params: Any = None, data: Any = None, headers: Any = None, **_: Any
    ) -> httpx.Response:
        url = self._checked(url)
        if isinstance(data, Mapping):
            return self._http.post(url, params=params, data=dict(data), headers=headers)
        return self._http.post(url, params=params, content=data, headers=headers)

    def _checked(self, url: str) -> str:
        return same_origin_link(url, self._authority, service="entra", what="the authority")

    def close(self) -> None:
        self._http.close()


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
            if app is not None:
                return app
            http_client = MsalHttpClient(self._timeout, self._authority_host)
            try:
                app = msal.ConfidentialClientApplication(
                    self.client_id,
                    client_credential=self._credential,
                    authority=self.authority,
                    http_client=http_client,
                    # Instance discovery asks Microsoft about the host: only for Microsoft's own.
                    instance_discovery=is_microsoft_host(self._authority_host),
                )
            except ValueError as exc:  # MSAL's way of saying discovery failed
                http_client.close()
                raise discovery_refused(self.authority, exc) from None
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
        raise _authentication_error(result, self._secret_setting)

    def forget(self, token: str) -> None:
        """Drop `token` from MSAL's cache (Graph refused it before its expiry)."""
        cache = self._application().token_cache
        for item in list(cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN)):
            if item.get("secret") == token:
                cache.remove_at(item)


def is_microsoft_host(authority_host: str) -> bool:
    """Whether MSAL may ask Microsoft about this authority host (instance discovery)."""
    host = urllib.parse.urlparse(authority_host).hostname or ""
    return host == "login.microsoftonline.com" or host.endswith(".microsoftonline.com")


def _authentication_error(result: Mapping[str, Any], secret_setting: str) -> AuthenticationError:
    codes = result.get("error_codes") or []
    action = next((ENTRA_ACTIONS[c] for c in codes if c in ENTRA_ACTIONS), _DEFAULT_ACTION)
    action = action.replace("{secret}", secret_setting)
    description = str(result.get("error_description") or result.get("error") or "")
    first_line = description.splitlines()[0] if description else "no description"
    return AuthenticationError(
        "entra",
        f"Entra ID refused the token request: {first_line}",
        action=action,
        code=result.get("error"),
        request_id=result.get("correlation_id"),
    )

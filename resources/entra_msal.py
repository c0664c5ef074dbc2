"""MSAL for both kinds of Entra auth: one way to build the app, to reach the authority, and to
say what an MSAL refusal means.

MSAL talks over our own httpx-based client (`MsalHttpClient`), because MSAL's default `requests`
session ignores `SSL_CERT_FILE` (and prefers `REQUESTS_CA_BUNDLE` from the environment over the
`verify=` it is given): with ours, MSAL trusts exactly what every other client of the product
trusts, and the credentials go only to the configured authority's origin (SPEC §12). MSAL's
error dicts become `AuthenticationError`s that say what to do (`msal_refusal`).
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from typing import Any, TypeVar

import httpx
import msal

from resources.errors import AuthenticationError
from resources.http import new_http_client, require_https, same_origin_link

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


_App = TypeVar("_App", bound=msal.ClientApplication)


def msal_app(
    kind: type[_App],
    *,
    client_id: str,
    authority: str,
    authority_host: str,
    timeout_seconds: float,
    **options: Any,
) -> _App:
    """An MSAL app of `kind` (confidential or public) for both kinds of Entra auth: it talks
    through `MsalHttpClient`, and asks Microsoft about the host (instance discovery) only for
    Microsoft's own hosts.

    Args:
        options: `kind`'s own (`client_credential`, `token_cache`).

    Raises:
        AuthenticationError: the authority refused discovery (an unknown tenant, mostly).
        httpx.HTTPError: the authority could not be reached (discovery happens here).
    """
    http_client = MsalHttpClient(timeout_seconds, authority_host)
    try:
        return kind(
            client_id,
            authority=authority,
            http_client=http_client,
            instance_discovery=is_microsoft_host(authority_host),
            **options,
        )
    except ValueError as exc:  # MSAL's way of saying discovery failed
        http_client.close()
        raise discovery_refused(authority, exc) from None
    except BaseException:
        http_client.close()
        raise


def forget_access_token(cache: msal.TokenCache, token: str) -> None:
    """Drop the access token `token` from an MSAL cache (Graph refused it before its expiry)."""
    for item in list(cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN)):
        if item.get("secret") == token:
            cache.remove_at(item)


def is_microsoft_host(authority_host: str) -> bool:
    """Whether MSAL may ask Microsoft about this authority host (instance discovery)."""
    host = urllib.parse.urlparse(authority_host).hostname or ""
    return host == "login.microsoftonline.com" or host.endswith(".microsoftonline.com")


def msal_refusal(
    result: Mapping[str, Any],
    what: str,
    *,
    actions: Mapping[int, str],
    default: str,
    secret_setting: str = "",
) -> AuthenticationError:
    """The `AuthenticationError` for an MSAL error dict, for both kinds of Entra auth.

    Args:
        result: MSAL's answer (`error`, `error_description`, `error_codes`, `correlation_id`).
        what: what was refused ("Entra ID refused the token request").
        actions: AADSTS code -> what to do; `{secret}` in one becomes `secret_setting` (where
            the client secret is set).
        default: what to do when no code of `result` is in `actions`.
    """
    codes = result.get("error_codes") or []
    action = next((actions[c] for c in codes if c in actions), default)
    action = action.replace("{secret}", secret_setting)
    description = str(result.get("error_description") or result.get("error") or "")
    first_line = description.splitlines()[0] if description else "no description"
    return AuthenticationError(
        "entra",
        f"{what}: {first_line}",
        action=action,
        code=result.get("error"),
        request_id=result.get("correlation_id"),
    )

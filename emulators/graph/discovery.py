"""Entra's OpenID Connect discovery document (`/{tenant}/v2.0/.well-known/openid-configuration`).

Every endpoint is on the origin the client used; MSAL reads `token_endpoint`,
`authorization_endpoint`, `device_authorization_endpoint` and `issuer` from it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from starlette.requests import Request


def request_origin(request: Request) -> str:
    """The origin (scheme, host and port) the client used: where answers point their URLs."""
    return f"{request.url.scheme}://{request.url.netloc}"


def issuer(origin: str, tenant_id: str) -> str:
    """The `issuer` of a tenant's discovery document (and of the ID tokens it issues)."""
    return f"{origin}/{tenant_id}/v2.0"


def openid_configuration(origin: str, tenant_id: str) -> dict[str, Any]:
    """Entra's v2.0 discovery document for one tenant, on `origin`."""
    base = f"{origin}/{tenant_id}"
    return {
        "token_endpoint": f"{base}/oauth2/v2.0/token",
        "token_endpoint_auth_methods_supported": [
            "client_secret_post",
            "private_key_jwt",
            "client_secret_basic",
        ],
        "jwks_uri": f"{base}/discovery/v2.0/keys",
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": issuer(origin, tenant_id),
        "request_uri_parameter_supported": False,
        "userinfo_endpoint": "https://graph.microsoft.com/oidc/userinfo",
        "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
        "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
        "http_logout_supported": True,
        "frontchannel_logout_supported": True,
        "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
        "claims_supported": [
            *("sub", "iss", "aud", "exp", "iat", "auth_time", "acr", "nonce"),
            *("preferred_username", "name", "tid", "ver", "at_hash", "c_hash", "email"),
        ],
        "kerberos_endpoint": f"{base}/kerberos",
        "tenant_region_scope": "EU",
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": "graph.microsoft.com",
        "rbac_url": "https://pas.windows.net",
    }

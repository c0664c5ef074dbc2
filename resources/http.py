"""HTTP plumbing both clients share: TLS trust, where credentials may go, timeouts, and retries
under the one policy of `resources.retrying` (which honours `Retry-After`).

Credentials go only to the configured origin (SPEC §12): every configured URL is `https`, a link
in an answer is followed only on the configured origin (`same_origin_link`), and a redirect is
never followed: it stops the request with an `UntrustedAnswer` before anything is sent there.

Retries are for answers that say "try again" (429, 503 and, for idempotent reads, 500, 502, 504
and broken connections). A write whose answer was lost, or that a gateway answered 504 (it stopped
waiting: the service may have carried the write out), is never resent blindly: the caller is told
the outcome is unknown (`OutcomeUnknown`, a transport error) and decides after re-reading the
target.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import ssl
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import httpx
import orjson

from resources.answer_limits import ACCEPT_ENCODING, bound_answers
from resources.errors import UntrustedAnswer
from resources.http_logs import keep_answers_out_of_logs
from resources.retrying import (
    OUTCOME_UNKNOWN_STATUSES,
    RETRY_STATUSES,
    RETRY_STATUSES_FOR_READS,
    RetryPolicy,
    TryAgain,
    retry,
    retry_after_seconds,
)

logger = logging.getLogger(__name__)

USER_AGENT = "huma-entra-sync/0.1"
#: What a bearer token is made of (RFC 6750 §2.1 `b64token`).
_BEARER_TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")


#: Each bundle's context, with the digest of the bytes it was read from (`tls_context`).
_TLS_CONTEXTS: dict[str, tuple[bytes, ssl.SSLContext]] = {}
_TLS_CONTEXTS_LOCK = threading.Lock()


def tls_context() -> ssl.SSLContext:
    """A verifying TLS context that trusts `SSL_CERT_FILE` when it is set (SPEC §11), else the
    system's store.

    Verification is never turned off: there is deliberately no parameter to do so.

    One context per bundle content, shared by every client of the process: reading a bundle of
    a hundred authorities costs about 20 ms at rest and more on a busy machine, which each client
    paid before (a Graph step made two, its client's and MSAL's). The bundle's bytes are hashed
    on each call (well under a millisecond), so a client made after a CA rotation, however
    quick, trusts the new bundle. No caller changes the context; httpx sets its ALPN to
    HTTP/1.1, which every client speaks.

    Raises:
        OSError: `SSL_CERT_FILE` names a file that cannot be read.
    """
    cafile = os.environ.get("SSL_CERT_FILE") or None
    # The system's bundle file; None when there is none (only a directory of hashed files, which
    # OpenSSL reads as it needs them). A missing `SSL_CERT_FILE` fails below, never falls back.
    bundle = cafile or ssl.get_default_verify_paths().cafile
    if bundle is None:
        return ssl.create_default_context()
    content = hashlib.sha256(Path(bundle).read_bytes()).digest()
    with _TLS_CONTEXTS_LOCK:
        known = _TLS_CONTEXTS.get(bundle)
        if known is not None and known[0] == content:
            return known[1]
        context = ssl.create_default_context(cafile=cafile)
        _TLS_CONTEXTS[bundle] = (content, context)
        return context


def is_bearer_token(token: object) -> bool:
    """Whether `token` can be sent as a bearer token. A token from an answer is checked before it
    goes into an `Authorization` header: one that cannot (a line break, a space, a non-ASCII
    character) would be refused by the HTTP layer with an error that quotes it."""
    return isinstance(token, str) and _BEARER_TOKEN.fullmatch(token) is not None


class OutcomeUnknown(httpx.TransportError):
    """A write answered by a gateway that stopped waiting for the service (504): it may or may
    not have been carried out, exactly like a write whose answer was lost. A transport error, so
    that every caller settling lost answers by re-reading settles this one the same way."""


class InsecureUrl(ValueError):
    """A configured URL that would carry credentials in clear text (not `https`)."""


def require_https(url: str, name: str) -> str:
    """`url` when it is an `https` URL with a host; else `InsecureUrl` naming the setting.

    Args:
        url: the configured URL.
        name: what a person configures it as (`HUMA_BASE_URL`, a connections-file key).
    """
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        parsed = None
    if parsed is None or parsed.scheme != "https" or not parsed.host:
        shown = f"{parsed.scheme}://{parsed.host}" if parsed is not None else "an unreadable URL"
        raise InsecureUrl(
            f"{name} must be an https:// URL (credentials are never sent in clear text); "
            f"it is {shown}"
        )
    return url


def origin(url: str | httpx.URL) -> tuple[str, str, int | None]:
    """The origin of `url`: scheme, host and port (None for the scheme's default port)."""
    parsed = httpx.URL(url)
    return parsed.scheme, parsed.host, parsed.port


def _shown(url: str | httpx.URL) -> str:
    scheme, host, port = origin(url)
    return f"{scheme}://{host}" + (f":{port}" if port is not None else "")


def same_origin_link(link: str, configured: httpx.URL, *, service: str, what: str) -> str:
    """`link` when its origin is `configured`'s; else `UntrustedAnswer`, and nothing is sent.

    Args:
        link: a URL the service's answer names (`@odata.nextLink`).
        configured: the client's configured base URL.
        service / what: for the error (the service's name, the answer that named the link).
    """
    try:
        foreign = origin(link) != origin(configured)
    except httpx.InvalidURL:
        foreign = True
    if foreign:
        raise UntrustedAnswer(
            service,
            f"{what} links to another origin ({_shown(link) if '://' in link else link!r}) than "
            f"the configured {_shown(configured)}: not followed, nothing was sent there",
        )
    return link


def refuse_redirect(response: httpx.Response) -> None:
    """A response hook: a redirect stops the request; its target never sees our credentials."""
    if response.is_redirect:
        target = response.headers.get("location", "")
        raise UntrustedAnswer(
            response.request.url.host,
            f"{response.request.method} {response.request.url.path} was redirected to "
            f"{target!r}: redirects are never followed, nothing was sent there",
            status=response.status_code,
        )


def new_http_client(
    *, base_url: str = "", timeout_seconds: float, max_connections: int = 10, **kwargs: object
) -> httpx.Client:
    """An `httpx.Client` with explicit timeouts, a bounded pool, our TLS trust, an `https`
    `base_url` (when one is given), no redirects followed, answers read within the limits
    of `resources.answer_limits`, and no word of an answer in httpx's logs
    (`resources.http_logs`).

    `kwargs` go to `httpx.Client` (`auth`, and `transport` for `httpx.MockTransport` fakes).

    Raises:
        InsecureUrl: `base_url` is not `https`.
    """
    if base_url:
        require_https(base_url, "the base URL")
    keep_answers_out_of_logs()
    return httpx.Client(
        base_url=base_url,
        # Credentials never follow a redirect: an answer that points elsewhere is an error.
        follow_redirects=False,
        event_hooks={"response": [refuse_redirect, bound_answers(timeout_seconds)]},
        timeout=httpx.Timeout(timeout_seconds, connect=min(timeout_seconds, 10.0)),
        limits=httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        ),
        verify=tls_context(),
        headers={
            "User-Agent": USER_AGENT,
            "Accept": "application/json",
            "Accept-Encoding": ACCEPT_ENCODING,
        },
        **kwargs,  # type: ignore[arg-type]
    )


class RetryHooks(Protocol):
    """Optional callbacks around each attempt (Graph's pacer uses them)."""

    def before_attempt(self) -> None:
        """Called before each attempt; may block."""

    def after_response(self, response: httpx.Response, retry_in: float | None) -> None:
        """Called with every response; `retry_in` is the wait before a retry, if one follows."""


def send_with_retries(
    send: Callable[[], httpx.Response],
    *,
    service: str,
    what: str,
    policy: RetryPolicy,
    idempotent: bool,
    sleep: Callable[[float], None] = time.sleep,
    hooks: RetryHooks | None = None,
) -> httpx.Response:
    """Send a request until it gets an answer that is not "try again", within `policy`
    (`resources.retrying`).

    Args:
        send: sends the request once and returns the response (status not checked).
        service: the service's name, for errors and logs.
        what: a short description of the request for logs ("GET /users page 3"), no secrets.
        idempotent: whether repeating the request cannot change the outcome (reads); for
            non-idempotent requests, a broken connection is raised at once as `httpx.TransportError`
            because the request may have been applied.
        hooks: callbacks around each attempt, e.g. to pace requests to a quota.

    Returns:
        The first response whose status is not a retryable one (it may be a 4xx or 5xx).

    Raises:
        RemoteUnavailable: when every attempt was throttled, failed or broke.
        httpx.TransportError: a non-idempotent request lost its connection, or was answered
            504 (`OutcomeUnknown`): its outcome is unknown.
    """
    retryable = RETRY_STATUSES_FOR_READS if idempotent else RETRY_STATUSES

    def attempt() -> httpx.Response:
        if hooks is not None:
            hooks.before_attempt()
        return send()

    def judge(outcome: httpx.Response | Exception) -> TryAgain | None:
        if isinstance(outcome, httpx.TransportError):
            return TryAgain(f"{type(outcome).__name__}: {outcome}") if idempotent else None
        if isinstance(outcome, Exception):
            return None
        if outcome.status_code not in retryable:
            if hooks is not None:
                hooks.after_response(outcome, None)
            return None
        return TryAgain(f"HTTP {outcome.status_code}", retry_after_seconds(outcome.headers))

    def on_wait(outcome: httpx.Response | Exception, delay: float) -> None:
        if hooks is not None and isinstance(outcome, httpx.Response):
            hooks.after_response(outcome, delay)

    response = retry(
        attempt, judge, policy=policy, service=service, what=what, sleep=sleep, on_wait=on_wait
    )
    if not idempotent and response.status_code in OUTCOME_UNKNOWN_STATUSES:
        raise OutcomeUnknown(
            f"{what} was answered {response.status_code} by a gateway that stopped waiting: "
            "it may have been carried out"
        )
    return response


def decoded_json(response: httpx.Response) -> Any:
    """An answer's JSON body, decoded by orjson (a third of `json`'s time on a large body), or as
    `response.json()` decodes it where orjson refuses (JSON in UTF-16 or UTF-32). ValueError when
    it is not JSON."""
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return response.json()

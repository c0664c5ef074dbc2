"""`SmtpResource`: sends a message through the company's mail relay (STARTTLS, login, retries
under the policy of `resources.retrying`).

Only sending lives here: what the report says is `assets`' business (a pure render). A failed send
raises `RemoteError` after its retries; the caller records it, and the run's results stand.

The password and the report never cross the network in clear text (SPEC §12): a relay that does
not offer STARTTLS is a final error, sent nothing, and `starttls=False` is only for a relay on
this machine (loopback).
"""

from __future__ import annotations

import base64
import functools
import ipaddress
import logging
import smtplib
import socket
import ssl
from collections.abc import Callable
from email.message import EmailMessage
from typing import ClassVar

from resources.base import ResourceWithSecrets
from resources.errors import REDACTED, RemoteError
from resources.http import tls_context
from resources.retrying import RetryPolicy, TryAgain, retry

logger = logging.getLogger(__name__)

_TRANSIENT = (
    smtplib.SMTPServerDisconnected,
    smtplib.SMTPConnectError,
    ConnectionError,
    socket.timeout,
)


class _NoStartTls(Exception):
    """The relay's EHLO did not offer STARTTLS."""


#: Errors no retry can mend (a relay's extensions, its certificate and its recipients' rules do
#: not come and go).
_FINAL = (
    _NoStartTls,
    smtplib.SMTPNotSupportedError,
    ssl.SSLError,
    smtplib.SMTPRecipientsRefused,
)


class SmtpResource(ResourceWithSecrets):
    """An SMTP relay. STARTTLS (verified against `SSL_CERT_FILE` when set) unless `starttls` is
    off, which only a loopback relay may be; login when a username is given."""

    SECRET_FIELDS: ClassVar[frozenset[str]] = frozenset({"password"})

    #: Empty: no relay configured (reports are then only kept as files).
    host: str = ""
    port: int = 587
    username: str | None = None
    password: str | None = None
    starttls: bool = True
    timeout_seconds: float = 30.0
    max_attempts: int = 3

    def send(self, *, message: EmailMessage) -> None:
        """Send `message` to the recipients in its headers.

        Raises:
            RemoteError: the relay refused the message, or kept failing after the retries.
        """
        if not self.starttls and not _is_loopback(self.host):
            raise RemoteError(
                "smtp",
                f"starttls is off, so only a relay on this machine (loopback) may be used, not "
                f"{self.host!r}: the report and the password would cross the network in clear text",
            )
        policy = RetryPolicy(max_attempts=self.max_attempts, base_delay=1.0, max_delay=10.0)
        try:
            retry(
                lambda: self._send_once(message),
                functools.partial(_judge, shown=self._shown),
                policy=policy,
                service="smtp",
                what="sending the report",
            )
        except smtplib.SMTPResponseException as exc:  # a 5xx answer is final
            problem = f"{exc.smtp_code} {self._shown(exc.smtp_error)}"
            raise RemoteError(
                "smtp", f"the relay refused the message: {problem}", status=exc.smtp_code
            ) from None
        except _NoStartTls:  # a relay's extensions do not come and go: final
            raise RemoteError(
                "smtp",
                f"the relay {self.host}:{self.port} does not offer STARTTLS: nothing was "
                "sent, since the password and the report would travel in clear text",
            ) from None
        except smtplib.SMTPNotSupportedError as exc:  # e.g. no AUTH: final as well
            raise RemoteError(
                "smtp", f"the relay cannot do what is needed: {self._shown(str(exc))}"
            ) from None
        except ssl.SSLError as exc:  # an untrusted or wrong certificate is not transient
            raise RemoteError("smtp", f"TLS with the relay failed: {exc}") from None
        except smtplib.SMTPRecipientsRefused as exc:
            raise RemoteError(
                "smtp", f"the relay refused the recipients {sorted(exc.recipients)}"
            ) from None

    def _shown(self, error: bytes | str) -> str:
        """The relay's words, with the password in every form the login sent it (as it is, and
        the base64 of `AUTH LOGIN` and `AUTH PLAIN`) replaced by `REDACTED`: a relay may quote
        back what it was sent."""
        text = error.decode("utf-8", "replace") if isinstance(error, bytes) else str(error)
        if not self.password:
            return text
        sent = (f"\0{self.username or ''}\0{self.password}", self.password)
        for credential in (*(base64.b64encode(s.encode()).decode() for s in sent), self.password):
            text = text.replace(credential, REDACTED)
        return text

    def _send_once(self, message: EmailMessage) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout_seconds) as smtp:
            smtp.ehlo()
            if self.starttls:
                if not smtp.has_extn("starttls"):
                    raise _NoStartTls
                smtp.starttls(context=tls_context())
                smtp.ehlo()
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(message)


def _judge(outcome: object, *, shown: Callable[[bytes | str], str]) -> TryAgain | None:
    """What a send came to: done (sent, or a final error), or worth another try: a 4xx answer
    (the relay's "not now") or a lost connection. `shown` makes the relay's words safe to
    log."""
    if isinstance(outcome, smtplib.SMTPResponseException):
        if 400 <= outcome.smtp_code < 500:
            return TryAgain(f"{outcome.smtp_code} {shown(outcome.smtp_error)}")
        return None
    if isinstance(outcome, _FINAL):
        return None
    if isinstance(outcome, (*_TRANSIENT, smtplib.SMTPException)):
        return TryAgain(f"{type(outcome).__name__}: {shown(str(outcome))}")
    return None


def _is_loopback(host: str) -> bool:
    """Whether `host` names this machine's loopback interface (by name or address)."""
    if host.casefold() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False

"""A local mail server for the demo and the tests: STARTTLS required, login required, real sockets.

It stands in for the company's mail relay. Every message it accepts is kept in memory (for tests)
and, when a folder is given, written there as an `.eml` file (for a person running the demo).
The certificate comes from the same local CA as the other emulators (`emulators.tls`).
"""

from __future__ import annotations

import dataclasses
import email
import email.policy
import logging
import os
import ssl
import threading
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from emulators.serve import listening_socket
from emulators.tls import ensure_certificates


@dataclasses.dataclass(frozen=True)
class ReceivedMail:
    """One accepted message: the envelope and the parsed message."""

    sender: str
    recipients: tuple[str, ...]
    message: EmailMessage


class _LegacyLoginNotice(logging.Filter):
    # aiosmtpd itself sets its deprecated `Session.login_data` after every successful login and
    # warns about it; the warning is about aiosmtpd's own code, not ours.
    def filter(self, record: logging.LogRecord) -> bool:
        return "login_data is deprecated" not in record.getMessage()


logging.getLogger("mail.log").addFilter(_LegacyLoginNotice())


class _Handler:
    def __init__(self, server: MailServer) -> None:
        self._server = server

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self._server.refuse_with is not None:
            return self._server.refuse_with
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        self._server.accept(
            ReceivedMail(envelope.mail_from, tuple(envelope.rcpt_tos), message)  # type: ignore[arg-type]
        )
        return "250 Message accepted for delivery"


class MailServer:
    """An SMTP server on loopback that demands STARTTLS and `username`/`password`.

    Use as a context manager; `port` is chosen by the system unless given.
    """

    def __init__(
        self,
        *,
        tls_dir: Path,
        username: str,
        password: str,
        host: str = "127.0.0.1",
        port: int = 0,
        mailbox_dir: Path | None = None,
    ) -> None:
        self.host = host
        self._requested_port = port
        self._username = username
        self._password = password
        self._mailbox_dir = mailbox_dir
        self._tls = ensure_certificates(tls_dir)
        self._lock = threading.Lock()
        self.received: list[ReceivedMail] = []
        #: When set, an SMTP reply (`554 5.7.1 …`) given to every message instead of taking it.
        self.refuse_with: str | None = None
        self.port = 0
        self._controller: Controller | None = None

    @property
    def ca_bundle(self) -> Path:
        """The bundle a client must trust to verify this server (`SSL_CERT_FILE`)."""
        return self._tls.ca_bundle

    def accept(self, mail: ReceivedMail) -> None:
        with self._lock:
            self.received.append(mail)
            number = len(self.received)
        if self._mailbox_dir is not None:
            # Mail carries people's names and values: readable by the owner only, as a mailbox is.
            self._mailbox_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            path = self._mailbox_dir / f"{number:04d}.eml"
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(mail.message.as_bytes())

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == self._username
            and auth_data.password.decode() == self._password
        )
        return AuthResult(success=ok, handled=False)

    def start(self) -> MailServer:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self._tls.server_cert, self._tls.server_key)
        # Bind first so that port 0 gives a known free port, then hand the port to aiosmtpd.
        probe = listening_socket(self.host, self._requested_port)
        self.port = probe.getsockname()[1]
        probe.close()
        self._controller = Controller(
            _Handler(self),
            hostname=self.host,
            port=self.port,
            tls_context=context,
            require_starttls=True,
            auth_required=True,
            auth_require_tls=True,
            authenticator=self._authenticate,
            ready_timeout=10,
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> MailServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

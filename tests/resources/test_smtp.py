"""The SMTP resource against a real mail server on loopback that demands STARTTLS and a login.

Pins: a message arrives over STARTTLS with login, with its recipients, subject and both parts;
a wrong password is a clear, final error without the password in it; a relay that cannot be
reached is retried and then reported; the resource's repr never shows the password; a relay that
does not offer STARTTLS is a final error, and nothing (no login, no message) is sent to it; a
relay without STARTTLS is only allowed on loopback.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

from emulators.serve import listening_socket
from emulators.smtp import MailServer
from resources.errors import RemoteError
from resources.smtp import SmtpResource

PASSWORD = "relay-password-Xq81"


@pytest.fixture(scope="module")
def mail_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MailServer]:
    tls_dir = tmp_path_factory.mktemp("smtp") / "tls"
    with MailServer(tls_dir=tls_dir, username="reports", password=PASSWORD) as server:
        yield server


@pytest.fixture
def trusted_ca(mail_server: MailServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(mail_server.ca_bundle))


def _message() -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = "Huma ↔ Entra ID: 3 changes applied"
    message["From"] = "sync@fjordline.no"
    message["To"] = "it-admin@fjordline.no, hr@fjordline.no"
    message.set_content("plain text body")
    message.add_alternative("<p>html body</p>", subtype="html")
    return message


@pytest.mark.usefixtures("trusted_ca")
def test_a_message_arrives_over_starttls_with_login(mail_server: MailServer) -> None:
    before = len(mail_server.received)
    relay = SmtpResource(
        host=mail_server.host, port=mail_server.port, username="reports", password=PASSWORD
    )

    relay.send(message=_message())

    [mail] = mail_server.received[before:]
    assert mail.recipients == ("it-admin@fjordline.no", "hr@fjordline.no")
    assert mail.message["Subject"] == "Huma ↔ Entra ID: 3 changes applied"
    parts = {p.get_content_type(): p.get_content().strip() for p in mail.message.iter_parts()}
    assert parts == {"text/plain": "plain text body", "text/html": "<p>html body</p>"}


@pytest.mark.usefixtures("trusted_ca")
def test_a_wrong_password_is_a_final_error_without_the_password(mail_server) -> None:
    relay = SmtpResource(
        host=mail_server.host,
        port=mail_server.port,
        username="reports",
        password="wrong-password-77",
    )

    with pytest.raises(RemoteError) as refused:
        relay.send(message=_message())

    assert refused.value.status == 535
    assert "wrong-password-77" not in str(refused.value)
    assert "wrong-password-77" not in repr(relay)


def test_an_untrusted_certificate_is_refused(mail_server, monkeypatch) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    relay = SmtpResource(
        host=mail_server.host,
        port=mail_server.port,
        username="reports",
        password=PASSWORD,
        max_attempts=1,
    )

    with pytest.raises(RemoteError, match="CERTIFICATE_VERIFY_FAILED"):
        relay.send(message=_message())


def test_an_unreachable_relay_is_retried_then_reported() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed once we leave: nothing listens there
    relay = SmtpResource(host="127.0.0.1", port=port, max_attempts=2, timeout_seconds=2)

    with pytest.raises(RemoteError, match="after 2 attempts"):
        relay.send(message=_message())


def test_the_password_never_shows_in_a_repr() -> None:
    relay = SmtpResource(host="smtp.example", username="reports", password=PASSWORD)

    assert PASSWORD not in repr(relay)
    assert PASSWORD not in str(relay)
    assert os.environ.get("SMTP_PASSWORD") != PASSWORD


class _Collector:
    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.greetings = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses) -> list[str]:
        self.greetings += 1
        session.host_name = hostname
        return responses

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append(envelope.content)
        return "250 OK"


@pytest.fixture
def plain_relay() -> Iterator[tuple[Controller, _Collector]]:
    """A relay on loopback that offers no STARTTLS (and no AUTH)."""
    probe = listening_socket("127.0.0.1", 0)
    port = probe.getsockname()[1]
    probe.close()
    collector = _Collector()
    controller = Controller(collector, hostname="127.0.0.1", port=port, ready_timeout=10)
    controller.start()
    yield controller, collector
    controller.stop()


def test_a_relay_without_starttls_is_a_final_error_and_gets_nothing(plain_relay) -> None:
    controller, collector = plain_relay
    relay = SmtpResource(
        host="127.0.0.1",
        port=controller.port,
        username="reports",
        password=PASSWORD,
        max_attempts=3,
    )

    with pytest.raises(RemoteError, match="does not offer STARTTLS") as refused:
        relay.send(message=_message())

    assert "attempts" not in str(refused.value)
    assert collector.greetings == 1  # not retried
    assert collector.messages == []


def test_without_starttls_only_a_loopback_relay_is_used(plain_relay) -> None:
    controller, collector = plain_relay

    SmtpResource(host="127.0.0.1", port=controller.port, starttls=False).send(message=_message())
    with pytest.raises(RemoteError, match="loopback"):
        SmtpResource(host="smtp.example", port=controller.port, starttls=False).send(
            message=_message()
        )

    assert len(collector.messages) == 1

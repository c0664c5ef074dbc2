"""A mail relay that quotes the login back leaves no credential in an error or a log.

A broken or hostile relay may answer `AUTH` with an error that repeats what it was sent: the
password, or the base64 of `AUTH PLAIN`/`AUTH LOGIN` (which is the password, barely wrapped).
Pins, against a scripted relay on loopback (plain text is allowed only there): a final refusal
(535) and a "not now" (454, retried, then given up) both end in a `RemoteError` that keeps the
relay's code and words but none of those forms of the password, and no log record holds them.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import socket
import threading
from collections.abc import Iterator
from email.message import EmailMessage

import pytest

from resources.errors import REDACTED, RemoteError
from resources.smtp import SmtpResource

USER = "reports"
PASSWORD = "relay-pw-3e9Qz"
PLAIN = base64.b64encode(f"\0{USER}\0{PASSWORD}".encode()).decode()
LOGIN = base64.b64encode(PASSWORD.encode()).decode()


@contextlib.contextmanager
def quoting_relay(code: int) -> Iterator[int]:
    """A relay on loopback that offers AUTH PLAIN only and answers every AUTH with `code`, quoting
    what it was sent (base64 and decoded); yields its port."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn, conn.makefile("rb") as lines:
                conn.sendall(b"220 relay ready\r\n")
                for line in lines:
                    verb = line.split(b" ", 1)[0].upper().strip()
                    if verb == b"EHLO":
                        conn.sendall(b"250-relay\r\n250 AUTH PLAIN\r\n")
                    elif verb == b"AUTH":
                        sent = line.split()[-1]
                        decoded = base64.b64decode(sent).replace(b"\0", b" ")
                        conn.sendall(b"%d auth %s (%s) refused\r\n" % (code, sent, decoded))
                    elif verb == b"QUIT":
                        conn.sendall(b"221 bye\r\n")
                        break
                    else:
                        conn.sendall(b"250 ok\r\n")

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()


@pytest.mark.parametrize("code", [535, 454], ids=["refused", "not-now"])
def test_a_relay_quoting_the_login_back_is_not_quoted_on(caplog, monkeypatch, code: int) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setattr("time.sleep", lambda _: None)
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "a@example.no", "b@example.no", "s"
    message.set_content("report")

    with quoting_relay(code) as port, pytest.raises(RemoteError) as raised:
        SmtpResource(
            host="127.0.0.1",
            port=port,
            username=USER,
            password=PASSWORD,
            starttls=False,
            max_attempts=2,
        ).send(message=message)

    shown = str(raised.value) + caplog.text
    assert str(code) in str(raised.value)
    assert REDACTED in str(raised.value)
    for secret in (PASSWORD, PLAIN, LOGIN):
        assert secret not in shown

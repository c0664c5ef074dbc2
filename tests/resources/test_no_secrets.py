"""No secret ever leaves in a log record, an exception or a repr.

A run's worth of client work at DEBUG level on every logger (httpx, httpcore and MSAL included):
both snapshots, Huma and Graph writes, a refused key, a refused secret, a refused SMTP login, a
lost answer. Every record's message, arguments and traceback, every exception's text and
traceback, and the repr of every resource and client are scanned for the client secrets, the SMTP
password and the access tokens the run used: none may appear.
"""

from __future__ import annotations

import logging
import traceback
from email.message import EmailMessage

import httpx
import pytest

from emulators.smtp import MailServer
from resources.errors import AuthenticationError, RemoteError
from resources.graph import GraphResource
from resources.graph_auth import GraphTokenProvider
from resources.graph_batch import GraphWrite
from resources.huma import HumaResource
from resources.smtp import SmtpResource
from tests.resources.conftest import Outside, graph_credentials, huma_credentials

SMTP_PASSWORD = "smtp-Secret-Passw0rd"


def _record_texts(records: list[logging.LogRecord]) -> list[str]:
    texts = []
    for record in records:
        texts.append(record.getMessage())
        texts.append(repr(record.args))
        if record.exc_info:
            texts.append("".join(traceback.format_exception(*record.exc_info)))
        if record.exc_text:
            texts.append(record.exc_text)
    return texts


def _exception_texts(error: BaseException) -> list[str]:
    return [str(error), repr(error), "".join(traceback.format_exception(error))]


def test_a_run_leaks_no_secret(outside: Outside, caplog, tmp_path, monkeypatch) -> None:
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    huma = HumaResource(**huma_credentials(outside))
    graph = GraphResource(**graph_credentials(outside))
    try:
        huma_snapshot = huma.snapshot()
        entra_snapshot = graph.snapshot()
        graph.verified_domains(users=entra_snapshot.users)
        first = outside.world.huma["users"][0]
        huma.update_user(huma_id=first["id"], changes={"employmentId": "S-1"})
        member = entra_snapshot.users.filter(entra_snapshot.users["user_type"] == "Member").row(
            0, named=True
        )
        graph.write(
            writes=[
                GraphWrite("w1", "PATCH", f"/users/{member['entra_id']}", {"jobTitle": "Lead"}),
                GraphWrite("w2", "PATCH", f"/users/{member['entra_id']}", {"employeeId": "X" * 20}),
            ]
        )
        outside.huma_settings(drop_rate=1.0, drop_phase="after")
        with pytest.raises(httpx.TransportError) as lost:
            huma.update_user(huma_id=first["id"], changes={"employmentId": "S-2"})
        texts += _exception_texts(lost.value)
        outside.huma_settings(drop_rate=0)
        # The same MSAL application (one per process and credential) hands out the cached token.
        credentials = graph_credentials(outside)
        graph_token = GraphTokenProvider(
            tenant_id=credentials["tenant_id"],
            client_id=credentials["client_id"],
            client_secret=credentials["client_secret"],
            authority_host=credentials["authority_host"],
        ).token()
        tokens = [huma.client().auth.token(), graph_token]
    finally:
        texts += [repr(huma), str(huma), repr(graph), str(graph)]
        if huma._client is not None:
            texts += [repr(huma.client()), repr(huma.client().auth)]
        huma.close()
        graph.close()

    wrong_huma = HumaResource(**huma_credentials(outside) | {"client_secret": WRONG_UUID})
    with pytest.raises(AuthenticationError) as refused_huma:
        wrong_huma.snapshot()
    wrong_huma.close()
    wrong_graph = GraphResource(**graph_credentials(outside, client_secret=WRONG_SECRET))
    with pytest.raises(AuthenticationError) as refused_graph:
        wrong_graph.snapshot()
    wrong_graph.close()
    texts += _exception_texts(refused_huma.value) + _exception_texts(refused_graph.value)
    texts += [repr(wrong_huma), repr(wrong_graph)]

    with MailServer(tls_dir=tmp_path / "tls", username="reports", password=SMTP_PASSWORD) as mail:
        monkeypatch.setenv("SSL_CERT_FILE", str(mail.ca_bundle))
        relay = SmtpResource(
            host=mail.host,
            port=mail.port,
            username="reports",
            password=SMTP_PASSWORD + "-wrong",
            max_attempts=1,
        )
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = "a@b.no", "c@d.no", "x"
        with pytest.raises(RemoteError) as refused_smtp:
            relay.send(message=message)
        texts += [*_exception_texts(refused_smtp.value), repr(relay), str(relay)]

    texts += _record_texts(caplog.records)
    secrets = {
        "Huma client secret": huma_credentials(outside)["client_secret"],
        "Entra client secret": graph_credentials(outside)["client_secret"],
        "wrong Huma secret": WRONG_UUID,
        "wrong Entra secret": WRONG_SECRET,
        "SMTP password": SMTP_PASSWORD,
        **{f"access token {i}": token for i, token in enumerate(tokens)},
    }
    # The scan saw a real run.
    assert huma_snapshot.users.height
    assert len(caplog.records) > 20
    everything = "\n".join(texts)
    leaked = [name for name, secret in secrets.items() if secret and secret in everything]
    assert leaked == []


WRONG_UUID = "0a0a0a0a-0000-4000-8000-00000000beef"
WRONG_SECRET = "definitely-not-the-secret-Q9"

"""No secret ever leaves in a log record, an exception or a repr, nor anywhere a run writes.

A run's worth of client work at DEBUG level on every logger (httpx, httpcore and MSAL included):
both snapshots, Huma and Graph writes, a refused key, a refused secret, a refused SMTP login, a
lost answer. Every record's message, arguments and traceback, every exception's text and
traceback, and the repr of every resource and client are scanned for the client secrets, the SMTP
password and the access tokens the run used: none may appear.

Then a whole run of the console script, as cron starts it, with its report mailed through a relay
that wants a password: the history database (its bytes, and every table and view as text), the
report files, the mails, the Dagster instance (its event log and run storage as SQL text, the IO
manager's pickles, and the bytes of every file in it), the emulators' request logs and the
command's output are scanned for the client secrets, the SMTP password and any bearer token (the
Graph emulator's are JWTs). Every place scanned must exist and hold what a run puts there (a
person's email, the run's id), so the scan cannot pass by looking at nothing.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import traceback
from email.message import EmailMessage
from pathlib import Path

import duckdb
import httpx
import orjson
import pytest

from emulators.smtp import MailServer
from resources.errors import AuthenticationError, RemoteError
from resources.graph import GraphResource
from resources.graph_auth import GraphTokenProvider
from resources.graph_batch import GraphWrite
from resources.huma import HumaResource
from resources.smtp import SmtpResource
from tests.console_deployment import (  # noqa: F401 - the fixture
    Deployment,
    console,
    deployment,
    finished_run,
)
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


#: An access token as the Graph emulator issues them (a JWT), or an authorization header's value.
BEARER = re.compile(rb"eyJ[\w-]{8,}\.eyJ[\w-]{8,}|Bearer\s+[\w.~+/-]{16,}")
REPORT_SECTION = """\
    report:
      recipients: [it-admin@acme.example]
      sender: huma-entra-sync@acme.example
"""


def test_a_pipeline_run_keeps_no_secret_anywhere_it_writes(
    deployment: Deployment,  # noqa: F811 - the fixture
    tmp_path: Path,
) -> None:
    outside, folder = deployment.outside, deployment.folder
    with MailServer(
        tls_dir=tmp_path / "relay-tls",
        username="reports",
        password=SMTP_PASSWORD,
        mailbox_dir=tmp_path / "mail",
    ) as mail:
        # One bundle trusts the emulators and the relay (each has its own local CA here).
        bundle = tmp_path / "ca-bundle.pem"
        bundle.write_text(outside.emulators.ca_bundle.read_text() + mail.ca_bundle.read_text())
        env = deployment.environment()
        connections = folder / "connections.yaml"
        connections.write_text(connections.read_text() + REPORT_SECTION, encoding="utf-8")
        done = console(
            "run",
            env=env
            | {
                "SSL_CERT_FILE": str(bundle),
                "SMTP_HOST": mail.host,
                "SMTP_PORT": str(mail.port),
                "SMTP_USERNAME": "reports",
                "SMTP_PASSWORD": SMTP_PASSWORD,
            },
        )
        run_id = finished_run(done, "acme")
        assert "email: sent to 1 recipient" in done.stdout

    places = {
        "history database, bytes": [(folder / "history.duckdb").read_bytes()],
        "history database, every table and view": [_duckdb_text(folder / "history.duckdb")],
        "report files": _file_bytes(folder / "reports"),
        "mails": _file_bytes(tmp_path / "mail"),
        "Dagster event log and run storage": [
            _sqlite_text(db) for db in sorted((folder / "dagster").rglob("*.db"))
        ],
        "Dagster IO manager's storage": _file_bytes(folder / "dagster" / "storage"),
        "Dagster instance, every file": _file_bytes(folder / "dagster"),
        "Huma emulator's request log": [orjson.dumps(e) for e in outside.huma.requests()],
        "Graph emulator's request log": [orjson.dumps(e) for e in outside.entra.requests()],
        "the command's output": [(done.stdout + done.stderr).encode()],
    }
    secrets = {
        "Huma client secret": huma_credentials(outside)["client_secret"],
        "Entra client secret": graph_credentials(outside)["client_secret"],
        "SMTP password": SMTP_PASSWORD,
    }
    person = _someone_the_run_wrote_about(folder / "history.duckdb").encode()
    found = {
        (place, name)
        for place, contents in places.items()
        for content in contents
        for name, secret in secrets.items()
        if secret.encode() in content
    } | {(place, "a bearer token") for place, contents in places.items() if _bearer(contents)}
    logging.getLogger(__name__).info(
        "searched %d places: %s", len(places), {p: sum(map(len, c)) for p, c in places.items()}
    )

    assert found == set()
    # Each place held what a run writes there, and the scan could read it.
    empty = [place for place, contents in places.items() if not any(contents)]
    assert empty == []
    expected = {
        "history database, every table and view": person,
        "Dagster IO manager's storage": person,  # in the pickled frames
        "Dagster event log and run storage": run_id.encode(),
    }
    unseen = [p for p, value in expected.items() if not any(value in c for c in places[p])]
    assert unseen == []


def _bearer(contents: list[bytes]) -> bool:
    return any(BEARER.search(content) for content in contents)


def _file_bytes(folder: Path) -> list[bytes]:
    return [path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()]


def _duckdb_text(path: Path) -> bytes:
    """Every row of every table and view, as text (the file itself may compress strings)."""
    with duckdb.connect(str(path), read_only=True) as conn:
        tables = conn.execute("SELECT table_name FROM information_schema.tables").fetchall()
        rows = [repr(conn.execute(f'SELECT * FROM "{name}"').fetchall()) for (name,) in tables]
    return "\n".join(rows).encode()


def _sqlite_text(path: Path) -> bytes:
    """A SQLite database as the SQL that would rebuild it."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return "\n".join(conn.iterdump()).encode()
    finally:
        conn.close()


def _someone_the_run_wrote_about(history: Path) -> str:
    """The email of a person whose Entra account the run updated."""
    with duckdb.connect(str(history), read_only=True) as conn:
        [(email,)] = conn.execute(
            "SELECT email_key FROM sync_plan WHERE action = 'update_entra' ORDER BY email_key "
            "LIMIT 1"
        ).fetchall()
    return email

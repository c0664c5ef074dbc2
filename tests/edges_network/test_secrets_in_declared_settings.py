"""A secret written in the connections file by mistake is refused without being quoted.

Pins: wherever a secret lands by mistake (literally under its own key, under a misspelt key, in a
section that does not take it, as the "name" of its `*_env` variable, as a number, or on a line
the YAML parser cannot read) the file is refused with a `ConnectionsError` that names the place
and never the value, and nothing of it reaches a log record. A `*_env` key takes only an
environment variable's name.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from pipelines.connections import ConnectionsError, load_connections

#: Shaped like an Entra client secret (they hold `~`, `.` and `-`).
SECRET = "Qx8Q~v3.Rk-9sZ_aLm0pT7yW2bN"
NUMERIC_SECRET = "804215977315"

FILE = """
connections:
  acme:
    huma:
      client_id: the-client
{huma}
    entra:
      tenant_id: 5b3c0000-0000-4000-8000-000000000001
      client_id: 7a1d0000-0000-4000-8000-000000000002
      client_secret_env: ACME_ENTRA_SECRET
{extra}
"""


@pytest.mark.parametrize(
    ("huma", "extra", "place"),
    [
        pytest.param(f"      client_secret: {SECRET}", "", "huma", id="literal"),
        pytest.param(
            f"      client_secret_env: ACME_SECRET\n      clientsecret: {SECRET}",
            "",
            "huma",
            id="misspelt-key",
        ),
        pytest.param(
            "      client_secret_env: ACME_SECRET",
            f"    policy:\n      client_secret: {SECRET}",
            "policy",
            id="in-the-policy",
        ),
        pytest.param(f"      client_secret_env: {SECRET}", "", "client_secret_env", id="as-name"),
        pytest.param(
            f"      client_secret_env: {NUMERIC_SECRET}", "", "client_secret_env", id="number"
        ),
        pytest.param(
            f"      client_secret_env: ACME_SECRET\n      webhook_token_env: Bearer {SECRET}",
            "",
            "webhook_token_env",
            id="token-as-name",
        ),
        pytest.param(f"      client_secret: {SECRET}: x", "", "line 6", id="unreadable-line"),
    ],
)
def test_a_secret_written_by_mistake_is_refused_unquoted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, huma: str, extra: str, place: str
) -> None:
    caplog.set_level(logging.DEBUG)
    path = tmp_path / "connections.yaml"
    path.write_text(FILE.format(huma=huma, extra=extra))

    with pytest.raises(ConnectionsError) as refused:
        load_connections(path, environ={})

    message = str(refused.value)
    assert place in message
    assert SECRET not in message
    assert NUMERIC_SECRET not in message
    assert not [r for r in caplog.records if SECRET in r.getMessage()]

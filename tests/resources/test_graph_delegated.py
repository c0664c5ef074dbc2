"""The "with user account" type: one device-code sign-in, then silent tokens from a private file.

Pins: `login` shows Entra's message and keeps one account in a token cache created 0600 in a
folder created 0700; a fresh provider, or a `GraphResource(auth_type="user_account")` in a new
process, takes a snapshot from that file without prompting; an access token MSAL counts as
expired is refreshed silently (a refresh-token grant, no device flow, the rotated token written
back), a valid one is reused and the file left alone; no account, a revoked sign-in and refused
sign-ins raise `AuthenticationError`s naming `huma-entra-sync login` and what else to do; when
the person loses the User Administrator role, writes come back 403 with the role in the action
while reads go on; `huma-entra-sync login` prints Entra's message and where the cache is; tokens
and codes never reach logs, reprs or errors.
"""

from __future__ import annotations

import json
import logging
import os
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cli.main import main as cli_main
from resources.errors import AuthenticationError
from resources.graph import GraphResource
from resources.graph_batch import GraphWrite
from resources.graph_client import raise_for_graph
from resources.graph_user_auth import DelegatedTokenProvider
from tests.resources.conftest import Outside
from tests.resources.delegated_sign_in import (
    TIME_SCALE,
    Person,
    UserAccountWorld,
    prepare_user_account,
    token_grants,
)

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


@pytest.fixture
def account(outside: Outside) -> UserAccountWorld:
    return prepare_user_account(outside)


@pytest.fixture
def cache_path(tmp_path: Path) -> Path:
    return tmp_path / "config" / "huma-entra-sync" / "tokens.json"


def _provider(outside: Outside, world: UserAccountWorld, path: Path) -> DelegatedTokenProvider:
    return DelegatedTokenProvider(
        tenant_id=world.tenant_id,
        client_id=world.client_id,
        cache_path=path,
        authority_host=outside.emulators.entra_url,
    )


@pytest.fixture
def graph_as_user(
    outside: Outside, account: UserAccountWorld
) -> Iterator[Callable[[Path], GraphResource]]:
    """Makes `GraphResource(auth_type="user_account")`s, closed after the test as after a run."""
    made: list[GraphResource] = []

    def make(path: Path) -> GraphResource:
        made.append(
            GraphResource(
                tenant_id=account.tenant_id,
                client_id=account.client_id,
                auth_type="user_account",
                token_cache_path=str(path),
                authority_host=outside.emulators.entra_url,
                graph_base_url=f"{outside.emulators.entra_url}/v1.0",
            )
        )
        return made[-1]

    yield make
    for resource in made:
        resource.close()


def _login(outside: Outside, world: UserAccountWorld, path: Path) -> str:
    return _provider(outside, world, path).login(Person(outside, world).show)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _refresh_secret(path: Path) -> str:
    [item] = json.loads(path.read_text())["RefreshToken"].values()
    return item["secret"]


def test_login_once_keeps_a_private_cache(outside, account, cache_path) -> None:
    person = Person(outside, account)
    provider = _provider(outside, account, cache_path)
    watcher = person.watch()
    user = provider.login(person.messages.append)  # the person signs in from elsewhere
    watcher.join()

    assert user == account.admin["userPrincipalName"]
    [message] = person.messages
    assert message.startswith("To sign in, use a web browser to open the page https://")
    assert message.endswith("to authenticate.")
    assert DEVICE_GRANT in token_grants(outside)
    assert _mode(cache_path) == 0o600
    assert _mode(cache_path.parent) == 0o700
    assert [a["username"] for a in json.loads(cache_path.read_text())["Account"].values()] == [user]


def test_a_new_process_takes_a_snapshot_from_the_cache(outside, account, cache_path) -> None:
    _login(outside, account, cache_path)
    outside.entra.clear_requests()
    script = (
        "import sys\n"
        "from resources.graph import GraphResource\n"
        "resource = GraphResource(tenant_id=sys.argv[1], client_id=sys.argv[2],\n"
        "    auth_type='user_account', token_cache_path=sys.argv[3], authority_host=sys.argv[4],\n"
        "    graph_base_url=sys.argv[4] + '/v1.0')\n"
        "print(resource.snapshot().users.height)\n"
    )
    entra = outside.emulators.entra_url
    done = subprocess.run(
        [sys.executable, "-c", script, account.tenant_id, account.client_id, cache_path, entra],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "SSL_CERT_FILE": str(outside.emulators.ca_bundle)},
        stdin=subprocess.DEVNULL,
        check=False,
    )

    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout) == len(outside.tenant["users"])
    assert token_grants(outside) == []  # the cached access token was still valid


def test_a_valid_token_is_reused_and_the_file_left_alone(outside, account, cache_path) -> None:
    _login(outside, account, cache_path)
    before = cache_path.stat().st_mtime_ns
    outside.entra.clear_requests()
    provider = _provider(outside, account, cache_path)

    assert provider.token() == provider.token()
    assert token_grants(outside) == []
    assert cache_path.stat().st_mtime_ns == before


def test_an_expired_token_is_refreshed_silently(
    outside, account, cache_path, graph_as_user
) -> None:
    # MSAL counts an access token with under 5 minutes left as expired.
    outside.entra.update_settings({"token_lifetime_seconds": 60 * TIME_SCALE})
    _login(outside, account, cache_path)
    first_refresh_token = _refresh_secret(cache_path)
    outside.entra.clear_requests()

    snapshot = graph_as_user(cache_path).snapshot()

    assert snapshot.users.height == len(outside.tenant["users"])
    # Only refreshes (one per request here: a 60-second token is "expired" to MSAL at once).
    grants = token_grants(outside)
    assert grants
    assert set(grants) == {"refresh_token"}
    assert _refresh_secret(cache_path) != first_refresh_token  # the rotated one was kept
    assert _mode(cache_path) == 0o600


def test_without_a_sign_in_the_action_is_to_log_in(outside, account, tmp_path) -> None:
    provider = _provider(outside, account, tmp_path / "nobody.json")
    with pytest.raises(AuthenticationError) as raised:
        provider.token()
    assert "huma-entra-sync login" in raised.value.action


def test_a_revoked_sign_in_asks_for_login_again(outside, account, cache_path) -> None:
    outside.entra.update_settings({"token_lifetime_seconds": 60 * TIME_SCALE})
    _login(outside, account, cache_path)
    upn = account.admin["userPrincipalName"]
    outside.entra.call("POST", f"/tenants/{account.tenant_id}/users/{upn}/revoke-sign-in-sessions")

    with pytest.raises(AuthenticationError) as raised:
        _provider(outside, account, cache_path).token()

    error = raised.value
    assert (error.service, error.code) == ("entra", "invalid_grant")
    assert "AADSTS50173" in error.message
    assert "revoked" in error.action
    assert "huma-entra-sync login" in error.action


@pytest.mark.parametrize(
    ("public_client", "decision", "lifetime", "code", "hint"),
    [
        pytest.param(False, "approve", 900, "invalid_client", "public client flows", id="no-pcf"),
        pytest.param(True, "decline", 900, "authorization_declined", "declined", id="declined"),
        pytest.param(True, None, 2, "expired_token", "expired", id="nobody-signs-in"),
    ],
)
def test_refused_sign_ins_say_what_to_do(
    outside, cache_path, public_client, decision, lifetime, code, hint
) -> None:
    world = prepare_user_account(outside, public_client=public_client)
    outside.entra.update_settings({"device_code_lifetime_seconds": lifetime})
    person = Person(outside, world, decision=decision or "approve")
    show = person.show if decision else person.messages.append

    with pytest.raises(AuthenticationError) as raised:
        _provider(outside, world, cache_path).login(show)

    assert raised.value.code == code
    assert hint in raised.value.action
    assert "huma-entra-sync login" in raised.value.action
    assert not cache_path.exists()


def test_losing_the_role_stops_writes_but_not_reads(
    outside, account, cache_path, graph_as_user
) -> None:
    _login(outside, account, cache_path)
    resource = graph_as_user(cache_path)
    target = f"/users/{account.other['id']}"
    [before] = resource.write(writes=[GraphWrite("t1", "PATCH", target, {"jobTitle": "Mate"})])
    assert before.ok
    upn = account.admin["userPrincipalName"]
    outside.entra.call("PATCH", f"/tenants/{account.tenant_id}/users/{upn}", {"directoryRoles": []})

    [after] = resource.write(writes=[GraphWrite("t2", "PATCH", target, {"jobTitle": "Captain"})])
    response = resource.client().send("PATCH", target, json={"jobTitle": "Captain"})
    with pytest.raises(AuthenticationError) as raised:
        raise_for_graph(response, f"PATCH {target}")

    assert (after.ok, after.status, after.code) == (False, 403, "Authorization_RequestDenied")
    assert "User Administrator" in raised.value.action
    assert resource.snapshot().users.height == len(outside.tenant["users"])


def test_the_login_command_says_who_and_where(outside, account, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ENTRA_TENANT_ID", account.tenant_id)
    monkeypatch.setenv("ENTRA_CLIENT_ID", account.client_id)
    monkeypatch.setenv("ENTRA_AUTHORITY_HOST", outside.emulators.entra_url)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    watcher = Person(outside, account).watch()

    assert cli_main(["login"]) == 0

    watcher.join()
    out = capsys.readouterr().out
    path = tmp_path / "huma-entra-sync" / f"{account.tenant_id}-{account.client_id}.json"
    assert out.startswith("To sign in, use a web browser to open the page ")
    assert out.endswith(
        f"Signed in as {account.admin['userPrincipalName']}; the token cache is at {path} "
        "(readable by you only).\n"
    )
    assert _mode(path) == 0o600


def _secrets(path: Path) -> set[str]:
    cache = json.loads(path.read_text())
    kinds = ("AccessToken", "RefreshToken", "IdToken")
    return {item["secret"] for kind in kinds for item in cache[kind].values()}


def test_tokens_and_codes_never_reach_logs_or_reprs(
    outside, account, cache_path, caplog, graph_as_user
) -> None:
    caplog.set_level(logging.DEBUG)
    outside.entra.update_settings({"token_lifetime_seconds": 60 * TIME_SCALE})
    provider = _provider(outside, account, cache_path)
    provider.login(Person(outside, account).show)
    secrets = _secrets(cache_path)
    resource = graph_as_user(cache_path)
    resource.snapshot()  # refreshes: a new access token and refresh token
    secrets |= _secrets(cache_path)
    upn = account.admin["userPrincipalName"]
    outside.entra.call("POST", f"/tenants/{account.tenant_id}/users/{upn}/revoke-sign-in-sessions")
    with pytest.raises(AuthenticationError) as raised:
        _provider(outside, account, cache_path).token()

    shown = caplog.text + repr(provider) + repr(resource) + repr(resource.client())
    shown += str(raised.value)
    assert len(secrets) == 6  # two of each kind
    # Whole or in part (a JWT's signature, an opaque token's tail).
    assert not [s for s in secrets if s in shown or s[-32:] in shown]
    assert "DAQABIQEAAAB" not in shown  # how the emulator's device codes begin

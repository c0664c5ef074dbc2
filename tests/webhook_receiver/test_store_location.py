"""Where the webhook event stores live: `WEBHOOK_EVENTS_DIR` (absolute), else beside the history;
and the receiver refuses to start when that folder is on a network file system, read from the
mounts table it is given (SQLite's write-ahead log needs a local disk)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.console import CommandError
from cli.webhooks import served_endpoints
from resources.webhook_events import event_store_path
from resources.webhook_store_location import (
    EVENTS_DIR_ENV,
    network_filesystem,
    require_local_disk,
)
from tests.webhook_receiver.conftest import SECRET

MOUNTS = """\
/dev/sda1 / ext4 rw,relatime 0 0
server:/export /srv nfs4 rw,vers=4.2 0 0
/dev/sdb1 /srv/local xfs rw 0 0
//files/share /mnt/azure\\040files cifs rw 0 0
tmpfs /run tmpfs rw 0 0
"""


def test_the_stores_sit_beside_the_history_unless_a_folder_is_named(tmp_path: Path) -> None:
    history = tmp_path / "history.duckdb"
    assert event_store_path(history, "acme", {}) == tmp_path / "history.duckdb.events/acme.sqlite3"
    named = {EVENTS_DIR_ENV: "/var/lib/huma-entra-sync/events"}
    assert event_store_path(history, "acme", named) == Path(
        "/var/lib/huma-entra-sync/events/acme.sqlite3"
    )
    with pytest.raises(ValueError, match="absolute path"):
        event_store_path(history, "acme", {EVENTS_DIR_ENV: "events"})


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        pytest.param("/srv/history.duckdb.events", "nfs4", id="under-an-nfs-mount"),
        pytest.param("/srv", "nfs4", id="the-mount-point-itself"),
        pytest.param("/srv/local/events", None, id="a-local-disk-mounted-inside-it"),
        pytest.param("/srvx/events", None, id="a-name-that-only-starts-alike"),
        pytest.param("/mnt/azure files/events", "cifs", id="an-escaped-mount-point"),
        pytest.param("/var/lib/events", None, id="the-root-disk"),
    ],
)
def test_the_mount_holding_a_folder_tells_whether_it_is_a_network_file_system(
    path: str, kind: str | None
) -> None:
    assert network_filesystem(Path(path), MOUNTS) == kind


def test_a_folder_on_a_network_file_system_is_refused_with_what_to_do() -> None:
    with pytest.raises(ValueError, match=rf"network file system \(nfs4\).*{EVENTS_DIR_ENV}"):
        require_local_disk(Path("/srv/history.duckdb.events"), MOUNTS)
    require_local_disk(Path("/srv/local/events"), MOUNTS)
    require_local_disk(Path("/srv/events"), None)  # no mounts table: nothing to check


def test_the_receiver_refuses_to_start_on_a_network_file_system(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HUMA_ENTRA_SYNC_CONNECTIONS", raising=False)
    monkeypatch.delenv(EVENTS_DIR_ENV, raising=False)
    monkeypatch.setenv("HUMA_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("HISTORY_DB_PATH", str(tmp_path / "history.duckdb"))
    shared = f"server:/export {tmp_path} nfs rw 0 0\n"

    with pytest.raises(CommandError, match=r"refusing to start: .*\(nfs\)"):
        served_endpoints(None, mounts=MOUNTS + shared)
    assert not (tmp_path / "history.duckdb.events").exists()  # nothing was created there

    [endpoint] = served_endpoints(None, mounts=MOUNTS)
    assert endpoint.connection == "default"

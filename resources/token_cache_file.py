"""MSAL's token cache in a file only its owner can read, rewritten atomically when it changed.

The file holds a refresh token: whoever reads it can act as the signed-in administrator until the
token is revoked. So a folder this module creates is 0700, the file is 0600 (one found readable by
others is tightened, with a warning), and every write goes to a fresh 0600 file in the same folder,
flushed to disk and renamed over the old one: a reader (another run, the CLI) sees the old cache
or the new one, never half of one. The file is read again whenever it changed on disk, so a
`huma-entra-sync login` takes effect in processes already running. Two processes refreshing at
once each write their cache and the last rename wins; since Entra keeps a refresh token valid
after it was used to get a new one, the other process's token keeps working. MSAL's own debug
log of cache events is filtered so that no device code reaches a log either.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import secrets
from pathlib import Path

import msal

from resources.private_files import PRIVATE_FILE, PRIVATE_FOLDER, tighten

logger = logging.getLogger(__name__)


class _MaskDeviceCodes(logging.Filter):
    """Masks device codes in MSAL's token-cache events.

    MSAL 1.39 logs each event at DEBUG with secrets and tokens masked, but not the request's
    `device_code` (nor the `code` it repeats it in). The code is redeemed by then and useless,
    yet a credential has no place in a log.
    """

    _CODE = re.compile(r'("(?:device_code|code)": )"[^"]*"')

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.msg, record.args = record.getMessage(), None
        record.msg = self._CODE.sub(r'\1"********"', str(record.msg))
        return True


logging.getLogger("msal.token_cache").addFilter(_MaskDeviceCodes())


class TokenCacheFile:
    """A `msal.SerializableTokenCache` persisted at `path` (not thread-safe: callers lock)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.cache = msal.SerializableTokenCache()
        self._seen: tuple[int, int, int] | None = None  # (inode, size, mtime) last read or written

    def __repr__(self) -> str:
        return f"TokenCacheFile(path={str(self.path)!r})"

    def reload_if_changed(self) -> None:
        """Read the file when it differs from what this process last read or wrote."""
        try:
            status = self.path.stat()
        except FileNotFoundError:
            return
        if _fingerprint(status) == self._seen:
            return
        tighten(self.path, what="the token cache")
        self.cache.deserialize(self.path.read_text(encoding="utf-8"))
        self._seen = _fingerprint(status)

    def save(self) -> None:
        """Write the cache when MSAL changed it since it was last read or written."""
        if not self.cache.has_state_changed:
            return
        folder = self.path.parent
        if not folder.exists():
            folder.mkdir(parents=True, mode=PRIVATE_FOLDER)
        text = self.cache.serialize()
        temporary = folder / f".{self.path.name}.{secrets.token_hex(6)}.tmp"
        try:
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            temporary.replace(self.path)
        except BaseException:
            self.cache.has_state_changed = True  # still to be written
            temporary.unlink(missing_ok=True)
            raise
        _sync_folder(folder)
        self._seen = _fingerprint(self.path.stat())


def _fingerprint(status: os.stat_result) -> tuple[int, int, int]:
    return (status.st_ino, status.st_size, status.st_mtime_ns)


def _sync_folder(folder: Path) -> None:
    """Make the rename durable (not every file system lets a folder be opened for it)."""
    with contextlib.suppress(OSError):
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)

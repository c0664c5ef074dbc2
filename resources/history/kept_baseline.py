"""The baseline kept beside the history as a Parquet file, so loading the state needs no export.

At a million users the baseline is seven million rows, and exporting them from DuckDB to the
Parquet file planning scans cost most of `load_state`. `save_state` already writes the next
baseline to a Parquet file for DuckDB to read; that file is kept, per connection, in a private
folder beside the history (`<history>.baselines/<connection>-<digest of its name>/`) with a note
(`kept.json`) saying what it holds:

* `fingerprint`: the connection's rows of the `baseline` table when the save committed (their
  count and the sum of DuckDB's row hashes, with DuckDB's version);
* `sha256`: the digest of the data file's bytes; `connection`, `file` and `format`.

The history stays the source of truth: `load_state` uses the file only when the note names this
connection, the table's fingerprint now is the one noted (no other writer, hand edit or failed
save changed the table since) and the bytes it will read have the noted digest (not truncated,
edited or swapped). Anything else, or any error reading them, and the baseline is exported from
the table as before; the next save keeps a fresh file. The file is never written by a load.

A save writes the data file under a temporary name, commits, then renames it and replaces the
note (each rename atomic); a save that fails before committing leaves the previous note, whose
fingerprint no longer matches once the table changes. A load links (or copies) the data file into
its run's folder before checking the digest, so what it checked is what it reads even when a
later save replaces the kept file. Files and folders are owner-only (SPEC §12).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import secrets
import shutil
import time
from pathlib import Path

import duckdb

from resources.private_files import PRIVATE_FILE, private_folder, write_private

logger = logging.getLogger(__name__)

#: The note's layout; a note of another layout is not trusted.
_FORMAT = 1
_NOTE = "kept.json"
_SUFFIX = ".parquet"
_STAGED = ".staged"
#: A staged file this old was left by a save that died (a save takes minutes at most).
_ABANDONED = 6 * 3600.0

_FINGERPRINT_SQL = (
    "SELECT count(*), coalesce(sum(hash(huma_id, field, has_agreed, agreed, huma_seen, "
    "entra_seen)::HUGEINT), 0) FROM baseline WHERE connection = ?"
)


def baseline_fingerprint(conn: duckdb.DuckDBPyConnection, connection: str) -> str:
    """The connection's `baseline` rows as one text: equal only for the same set of rows
    (row count and the sum of 64-bit row hashes; DuckDB's version, whose hash it is)."""
    count, total = conn.execute(_FINGERPRINT_SQL, [connection]).fetchall()[0]
    return f"duckdb {duckdb.__version__}: {count} rows, {total}"


def _digest(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


class KeptBaseline:
    """The kept baseline file of one connection of one history file.

    Args:
        history_path: The history's DuckDB file.
        connection: The connection.
    """

    def __init__(self, history_path: Path, connection: str) -> None:
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", connection)[:40]
        # The digest keeps connections apart whose names differ only in unsafe characters.
        unique = hashlib.sha256(connection.encode()).hexdigest()[:16]
        self.folder = history_path.with_name(history_path.name + ".baselines") / f"{safe}-{unique}"
        self.connection = connection

    def usable_copy(self, conn: duckdb.DuckDBPyConnection, target: Path) -> bool:
        """Put the kept file at `target` when it holds the table's rows now.

        Args:
            conn: A connection to the history (the fingerprint is read through it).
            target: Where the run reads the baseline from (replaced).

        Returns:
            Whether `target` now holds the connection's baseline; False when no kept file is
            there or it does not match (the caller exports the table instead).
        """
        try:
            note = json.loads((self.folder / _NOTE).read_text())
            trusted = (
                isinstance(note, dict)
                and note.get("format") == _FORMAT
                and note.get("connection") == self.connection
                and isinstance(note.get("file"), str)
                and re.fullmatch(r"[0-9a-f]{32}\.parquet", note["file"]) is not None
            )
            if not trusted or note.get("fingerprint") != baseline_fingerprint(
                conn, self.connection
            ):
                return False
            target.unlink(missing_ok=True)
            try:
                os.link(self.folder / note["file"], target)
            except OSError:  # another file system: a copy, still the run's own
                shutil.copyfile(self.folder / note["file"], target)
            if _digest(target) == note.get("sha256"):
                return True
        except (OSError, ValueError) as exc:  # missing, replaced meanwhile, unreadable
            logger.info("the kept baseline of %s is not used: %s", self.connection, exc)
        target.unlink(missing_ok=True)
        return False

    def staged_path(self) -> Path | None:
        """A new, unused path in the kept folder for a save to write the next baseline to, or
        None when the folder cannot be made (the save then writes elsewhere and keeps nothing).
        """
        try:
            folder = private_folder(self.folder)
        except OSError as exc:
            logger.warning("no kept baseline for %s: %s", self.connection, exc)
            return None
        return folder / f"{secrets.token_hex(16)}{_SUFFIX}{_STAGED}"

    def keep(self, staged: Path, fingerprint: str) -> None:
        """Make a staged file the kept one, after the save that wrote the same rows committed.

        A failure is logged, never raised: the save is committed, and the next load exports.

        Args:
            staged: A path from `staged_path`, holding the rows the table now holds.
            fingerprint: `baseline_fingerprint` inside the committed save.
        """
        try:
            staged.chmod(PRIVATE_FILE)
            kept = staged.with_name(staged.name.removesuffix(_STAGED))
            staged.rename(kept)
            note = {
                "format": _FORMAT,
                "connection": self.connection,
                "file": kept.name,
                "fingerprint": fingerprint,
                "sha256": _digest(kept),
            }
            temporary = self.folder / f"{_NOTE}.{secrets.token_hex(8)}"
            write_private(temporary, json.dumps(note).encode())
            temporary.replace(self.folder / _NOTE)
            self._remove_others(keep=kept.name)
        except OSError as exc:
            logger.warning("the baseline of %s was saved but not kept: %s", self.connection, exc)
            self.discard(staged)

    def forget(self) -> None:
        """Remove the kept file (a save that did not write one: it no longer matches)."""
        with contextlib.suppress(OSError):
            (self.folder / _NOTE).unlink(missing_ok=True)
        self._remove_others(keep=None)

    @staticmethod
    def discard(staged: Path) -> None:
        """Remove a staged file that will not be kept (its save failed)."""
        with contextlib.suppress(OSError):
            staged.unlink(missing_ok=True)

    def _remove_others(self, keep: str | None) -> None:
        """Remove earlier kept files (a load reading one holds its own link to it), and files
        staged by saves that died long ago; a save still under way keeps its staged file."""
        abandoned_before = time.time() - _ABANDONED
        with contextlib.suppress(OSError):
            for path in self.folder.iterdir():
                with contextlib.suppress(OSError):
                    earlier = path.name.endswith(_SUFFIX) and path.name != keep
                    dead = path.name.endswith(_STAGED) and path.stat().st_mtime < abandoned_before
                    if earlier or dead:
                        path.unlink()

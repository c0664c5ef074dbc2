"""What every part of the history store shares: the file, its schema, and short connections."""

from __future__ import annotations

import contextlib
import logging
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Self

import duckdb

from resources.history.files import (
    HistoryError,
    HistoryNotReady,
    connect,
    holder_note,
    in_transaction,
    publish,
    published_path,
    reading,
    transaction,
)
from resources.history.schema import LATEST_VERSION, apply_next, check_known, schema_version
from resources.history.scratch import clear_stale_scratch
from resources.private_files import PRIVATE_FILE

logger = logging.getLogger(__name__)

#: How long an opener waits for another holder by default: a run's transactions take seconds.
DEFAULT_LOCK_TIMEOUT_SECONDS = 60.0


class StoreBase:
    """The history file of one deployment, opened briefly for each read or write.

    A writable store publishes a copy of the file for analysts (`published_path`, see
    `files`) when a run ends, after decisions are recorded and after a schema upgrade.

    Args:
        path: The DuckDB file (created, with its folder, on the first write).
        lock_timeout_seconds: How long an open retries while another process holds the file.
        read_only: Never create, migrate or write the file (analysts, the CLI's listings).
        on_wait: Told the seconds each open of the file waited for another process, when it
            had to wait (a run's figures; nothing waits while runs do not overlap).

    Attributes:
        published_path: The copy analysts open (`<name>.published<suffix>` beside `path`).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        lock_timeout_seconds: float = DEFAULT_LOCK_TIMEOUT_SECONDS,
        read_only: bool = False,
        on_wait: Callable[[float], None] | None = None,
    ) -> None:
        self.path = Path(path)
        self.published_path = published_path(self.path)
        self.lock_timeout_seconds = lock_timeout_seconds
        self.read_only = read_only
        self.on_wait = on_wait
        self._ready = False
        self._held: duckdb.DuckDBPyConnection | None = None

    def __repr__(self) -> str:
        mode = "read-only" if self.read_only else "writable"
        return f"{type(self).__name__}({str(self.path)!r}, {mode})"

    def migrate(self, *, target_version: int = LATEST_VERSION) -> list[int]:
        """Create the file if needed and apply the migrations it lacks, each in its own
        transaction (an interrupted upgrade resumes where it stopped).

        Publishes the file when a migration was applied or no copy was published yet (a file
        kept by an earlier release).

        Args:
            target_version: Stop at this version (tests build older files this way).

        Returns:
            The versions applied now (empty when the file was up to date).

        Raises:
            HistoryNotReady: The file is newer than this code.
            HistoryLocked: Another process held the file past the timeout.
        """
        if self.read_only:
            raise HistoryError(f"{self.path} is open read-only: it cannot be migrated")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        applied: list[int] = []
        while True:
            with self._transaction("migrating the schema") as conn:
                check_known(schema_version(conn), self.path)
                version = apply_next(conn, target_version=target_version)
            if version is None:
                break
            logger.info("history %s: applied migration %d", self.path, version)
            applied.append(version)
        self._ready = target_version == LATEST_VERSION
        if applied or not self.published_path.exists():
            self.publish()
        return applied

    def publish(self) -> Path:
        """Replace the published copy with the file as it is now (see `files`).

        Returns:
            The published copy's path.

        Raises:
            HistoryLocked: Another process held the file past the timeout.
        """
        if self.read_only:
            raise HistoryError(f"{self.path} is open read-only: it cannot be published")
        if self._held is not None:
            publish(self._held, self.path, self.published_path)
        else:
            with self._holding("publishing a copy for analysts") as conn:
                publish(conn, self.path, self.published_path)
        return self.published_path

    def schema_version(self) -> int:
        """The file's schema version (0 when the file does not exist yet)."""
        if not self.path.exists():
            return 0
        with reading(
            self.path, timeout_seconds=self.lock_timeout_seconds, on_wait=self.on_wait
        ) as conn:
            return schema_version(conn)

    def copy_to(self, destination: str | Path) -> Path:
        """Copy the file for analysts, who may then query the copy for as long as they like
        without keeping runs out. The copy is taken while holding the file read-only, so no run
        is half-way through a write; it takes the lock for the time of a file copy only.

        Args:
            destination: The copy's path (replaced if it exists).

        Returns:
            The copy's path.
        """
        target = Path(destination)
        with self._reading():
            shutil.copyfile(self.path, target)
            target.chmod(PRIVATE_FILE)  # the copy holds the same personal data (SPEC §12)
            wal = self.path.with_name(self.path.name + ".wal")
            target_wal = target.with_name(target.name + ".wal")
            target_wal.unlink(missing_ok=True)  # an older copy's log would replay into this one
            if wal.exists():  # committed writes not yet checkpointed into the file
                shutil.copyfile(wal, target_wal)
                target_wal.chmod(PRIVATE_FILE)
        return target

    def _transaction(
        self, doing: str
    ) -> contextlib.AbstractContextManager[duckdb.DuckDBPyConnection]:
        return transaction(
            self.path, timeout_seconds=self.lock_timeout_seconds, doing=doing, on_wait=self.on_wait
        )

    @contextlib.contextmanager
    def _holding(self, doing: str) -> Iterator[duckdb.DuckDBPyConnection]:
        """A writable connection outside any transaction, described for other openers."""
        conn = connect(
            self.path,
            read_only=False,
            timeout_seconds=self.lock_timeout_seconds,
            on_wait=self.on_wait,
        )
        try:
            # Under the write lock: what a killed writer left beside the file goes first.
            clear_stale_scratch(self.path)
            with holder_note(self.path, doing):
                yield conn
        finally:
            conn.close()

    @contextlib.contextmanager
    def session(self, *, doing: str) -> Iterator[Self]:
        """Hold the file open across the calls made inside the block.

        Opening and closing the file costs about 30 ms, a transaction on an open file about
        1 ms: an apply step that journals thousands of batches holds a session for its duration.
        Each call is still its own transaction. Meanwhile no other process can open the file
        (other runs and the commands wait, up to their timeouts; analysts read the published
        copy), so hold it only while writing.

        Args:
            doing: What the holder does (`apply of run …`), named in others' `HistoryLocked`.

        Yields:
            This store.
        """
        if self.read_only:
            raise HistoryError(f"{self.path} is open read-only: it cannot hold a session")
        if self._held is not None:
            raise HistoryError("a session is already open on this store")
        self._ensure_ready()
        with self._holding(doing) as conn:
            self._held = conn
            try:
                yield self
            finally:
                self._held = None

    @contextlib.contextmanager
    def _write(
        self, doing: str, *, then_publish: bool = False
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        """One transaction on an up-to-date file; `doing` names it for other openers' errors.

        Args:
            doing: What the transaction does.
            then_publish: Publish the file once the transaction is committed (on the same
                connection, so no other writer comes in between).
        """
        if self.read_only:
            raise HistoryError(f"{self.path} is open read-only: it cannot be written")
        if self._held is not None:
            with in_transaction(self._held) as conn:
                yield conn
            if then_publish:
                self._publish_after_commit(self._held)
            return
        self._ensure_ready()
        with self._holding(doing) as conn:
            with in_transaction(conn):
                yield conn
            if then_publish:
                self._publish_after_commit(conn)

    def _publish_after_commit(self, conn: duckdb.DuckDBPyConnection) -> None:
        """Publish after a committed write; a copy that cannot be made (a full disk) leaves the
        previous one in place and is logged, never undoing or failing the write."""
        try:
            publish(conn, self.path, self.published_path)
        except (OSError, HistoryError, duckdb.Error) as exc:
            logger.warning(
                "history %s: the copy for analysts was not replaced (%s); it shows the history "
                "as of its previous publication until the next run ends",
                self.path,
                exc,
            )

    @contextlib.contextmanager
    def _read(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only connection to an up-to-date file (other readers may share it), or the
        session's connection while one is held."""
        if self._held is not None:
            yield self._held
            return
        with self._reading() as conn:
            yield conn

    @contextlib.contextmanager
    def _reading(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only connection to an up-to-date file: a writable store migrates it first, a
        read-only one checks the version on the same connection (no second open of the file)."""
        self._ensure_ready()
        with reading(
            self.path, timeout_seconds=self.lock_timeout_seconds, on_wait=self.on_wait
        ) as conn:
            if not self._ready:
                self._check_readable(conn)
            yield conn

    def _ensure_ready(self) -> None:
        """Migrate a writable store's file on first use (a read-only store's file is checked by
        `_reading`, which raises `HistoryNotReady` when there is none)."""
        if not self._ready and not self.read_only:
            self.migrate()

    def _check_readable(self, conn: duckdb.DuckDBPyConnection) -> None:
        version = schema_version(conn)
        check_known(version, self.path)
        if version < LATEST_VERSION:
            raise HistoryNotReady(
                f"the history database {self.path} is at schema version {version}, this code "
                f"reads version {LATEST_VERSION}: the next run upgrades it (or call migrate())"
            )
        self._ready = True

    @staticmethod
    def _run_owner(conn: duckdb.DuckDBPyConnection, run_id: str) -> str | None:
        """The connection a run belongs to, or None when no run `run_id` was begun."""
        rows = conn.sql("SELECT connection FROM runs WHERE run_id = ?", params=[run_id]).fetchall()
        return str(rows[0][0]) if rows else None

    @classmethod
    def _run_connection(cls, conn: duckdb.DuckDBPyConnection, run_id: str) -> str:
        """The connection a begun run belongs to.

        Raises:
            ValueError: No run `run_id` was begun.
        """
        owner = cls._run_owner(conn, run_id)
        if owner is None:
            raise ValueError(f"run {run_id!r} was never begun: call begin_run first")
        return owner

    @classmethod
    def _check_run(cls, conn: duckdb.DuckDBPyConnection, run_id: str, connection: str) -> None:
        """Refuse writing one connection's rows under another connection's run."""
        owner = cls._run_connection(conn, run_id)
        if owner != connection:
            raise ValueError(f"run {run_id!r} belongs to connection {owner!r}, not {connection!r}")

"""`HumaResource`: Huma's Open API for one organisation, as a Dagster resource."""

from __future__ import annotations

import concurrent.futures
import dataclasses
import time
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import polars as pl
from pydantic import Field

from reconcile.outputs import VALIDATION_FAILURES_SCHEMA
from reconcile.policy import DEFAULT_HUMA_MAX_CONCURRENCY
from resources.base import ResourceWithClient
from resources.huma_client import HumaClient, Progress
from resources.huma_payloads import RawPayloads
from resources.huma_snapshot import huma_users_on_arrival, read_huma_users
from resources.remote_ids import huma_id_problem
from resources.snapshot_reading import raw_frame


@dataclasses.dataclass(frozen=True)
class HumaSnapshot:
    """Every Huma user, normalised, with the raw payloads kept for the history.

    Attributes:
        users: one row per user (`reconcile.frames.HUMA_USERS_SCHEMA`).
        raw: one row per user: `huma_id` and `payload` (the `UserDetails` JSON as received),
            packed (`RawPayloads.frames` hands them out a chunk at a time; a frame given here
            is packed).
        complete: False when no consistent pass over the user list was achieved.
        requests: list and detail requests sent (retries not counted).
        seconds: wall time of the whole snapshot.
        unreadable: the values that could not be read (`VALIDATION_FAILURES_SCHEMA`, rule
            `unreadable`; SPEC §5): those fields are unknown in `users`.
    """

    users: pl.DataFrame
    raw: RawPayloads | pl.DataFrame
    complete: bool
    requests: int
    seconds: float
    unreadable: pl.DataFrame = dataclasses.field(
        default_factory=lambda: pl.DataFrame(schema=VALIDATION_FAILURES_SCHEMA)
    )

    def __post_init__(self) -> None:
        if isinstance(self.raw, pl.DataFrame):  # a raw frame (`raw_frame`) is packed
            object.__setattr__(self, "raw", RawPayloads.of(self.raw))


class HumaResource(ResourceWithClient):
    """Huma's Open API (OAuth2 client credentials), read in full and written with care."""

    SECRET_FIELDS: ClassVar[frozenset[str]] = frozenset({"client_secret"})

    base_url: str = "https://openapi.humahr.com"
    client_id: str
    client_secret: str
    #: The group users created in Huma join (`POST /users` requires one); overrides the policy's.
    default_group_id: str | None = None
    #: The most reads under way at once (the policy's `huma_max_concurrency`); the client
    #: backs off below it while Huma pushes back.
    max_concurrency: int = DEFAULT_HUMA_MAX_CONCURRENCY
    #: The optional fields the connection syncs (the policy's `fields`): read, no other is.
    optional_fields: list[str] = Field(default_factory=list)
    timeout_seconds: float = 30.0

    def client(self) -> HumaClient:
        """The resource's client (one per resource instance, so the token is shared)."""
        if self._client is None:
            self._client = HumaClient(
                base_url=self.base_url,
                client_id=self.client_id,
                client_secret=self.client_secret,
                max_concurrency=self.max_concurrency,
                timeout_seconds=self.timeout_seconds,
            )
        return self._client

    def snapshot(self, *, progress: Progress | None = None) -> HumaSnapshot:
        """Every user (active and deactivated) with the details SPEC §3 maps.

        Args:
            progress: see `HumaClient.scan_users`.
        """
        started = time.perf_counter()
        # Each answer is read into the frame's columns and its raw text as it arrives: no
        # decoded payload is kept while the others are read, and the texts are kept packed.
        reading = huma_users_on_arrival(self.optional_fields)
        scan = self.client().scan_users(progress, keep=reading.add)
        read, texts = reading.finished(list(scan.details.values()))
        return HumaSnapshot(
            users=read.users,
            raw=RawPayloads.from_ids("huma_id", scan.details, texts),
            complete=scan.complete,
            requests=scan.list_requests + scan.detail_requests,
            seconds=time.perf_counter() - started,
            unreadable=read.unreadable,
        )

    def read_users(self, *, huma_ids: Sequence[str]) -> HumaSnapshot:
        """Only the users `huma_ids` names, each by `GET /users/{id}`; one Huma no longer has
        (404) is absent, and an id that is not a UUID is never requested (SPEC §12).

        Raises:
            RemoteError: A read failed (after the client's retries): there is no partial
                targeted read.
        """
        started = time.perf_counter()
        wanted = [i for i in dict.fromkeys(huma_ids) if huma_id_problem(i) is None]
        client = self.client()
        with concurrent.futures.ThreadPoolExecutor(self.max_concurrency) as pool:
            answers = dict(zip(wanted, pool.map(client.get_user, wanted), strict=True))
        details = {i: payload for i, payload in answers.items() if payload is not None}
        read = read_huma_users(details.items(), self.optional_fields)
        return HumaSnapshot(
            users=read.users,
            raw=RawPayloads.of(raw_frame("huma_id", details.keys(), details.values())),
            complete=True,
            requests=len(wanted),
            seconds=time.perf_counter() - started,
            unreadable=read.unreadable,
        )

    def update_user(self, *, huma_id: str, changes: Mapping[str, Any]) -> dict[str, Any]:
        """`PATCH /users/{id}` (see `HumaClient.update_user`)."""
        return self.client().update_user(huma_id, changes)

    def create_user(self, *, user: Mapping[str, Any]) -> dict[str, Any]:
        """`POST /users` (see `HumaClient.create_user`)."""
        return self.client().create_user(user)

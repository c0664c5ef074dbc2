"""`GraphResource`: Microsoft Graph for one app in one tenant, as a Dagster resource."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import polars as pl
from pydantic import Field

from reconcile.outputs import VALIDATION_FAILURES_SCHEMA
from resources.base import ResourceWithClient
from resources.graph_auth import (
    MICROSOFT_AUTHORITY_HOST,
    SECRET_SETTING,
    ClientCertificate,
    GraphTokenProvider,
)
from resources.graph_batch import (
    BatchExecutor,
    GraphWrite,
    GraphWriteOutcome,
    split_hire_date,
    split_references,
)
from resources.graph_client import GRAPH_BASE_URL, GraphClient, user_expand, user_select
from resources.graph_lookup import lookup_users
from resources.graph_pacing import GraphBudget, GraphPacer
from resources.graph_snapshot import EntraUsersOnArrival, read_entra_users
from resources.graph_user_auth import DelegatedTokenProvider, default_token_cache_path
from resources.normalise import email_key
from resources.snapshot_reading import raw_frame, raw_text_frame

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class EntraSnapshot:
    """Every Entra user, normalised, with the raw objects kept for the history.

    Attributes:
        users: one row per user (`reconcile.frames.ENTRA_USERS_SCHEMA`), guests included.
        raw: one row per user: `entra_id` and `payload` (the Graph object as received).
        complete: whether every page was read and every user object named its id (an object
            without one could be anybody, so the snapshot cannot say who is missing).
        requests: pages read.
        seconds: wall time of the whole snapshot.
        verified_domains: the tenant's verified domains (see `GraphResource.verified_domains`).
        unreadable: the values that could not be read (`VALIDATION_FAILURES_SCHEMA`, rule
            `unreadable`; SPEC §5): those fields are unknown in `users`.
    """

    users: pl.DataFrame
    raw: pl.DataFrame
    complete: bool
    requests: int
    seconds: float
    verified_domains: tuple[str, ...] = ()
    unreadable: pl.DataFrame = dataclasses.field(
        default_factory=lambda: pl.DataFrame(schema=VALIDATION_FAILURES_SCHEMA)
    )
    #: For a targeted read (`read_users`), the email keys looked up; None when every user was read.
    looked_up_emails: frozenset[str] | None = None


class GraphResource(ResourceWithClient):
    """Microsoft Graph v1.0 with a client-credentials token from Entra ID (MSAL).

    Give either `client_secret` or `certificate_path` (a PEM file with the private key) and
    `certificate_thumbprint`. The pacing fields are Graph's documented quota for an app in a
    tenant; lower them only to share the quota with other apps.

    `auth_type` is Huma's authorization type: "service_to_service" (the above) or
    "user_account": delegated, as the person who ran `huma-entra-sync login`, whose token cache
    is `token_cache_path` (default: `graph_user_auth.default_token_cache_path`); no secret then.
    """

    SECRET_FIELDS: ClassVar[frozenset[str]] = frozenset({"client_secret"})

    tenant_id: str
    client_id: str
    auth_type: str = "service_to_service"
    token_cache_path: str | None = None
    client_secret: str | None = None
    #: Where a person sets the client secret (the variable it is read from), for the messages
    #: that say to replace it.
    client_secret_setting: str = SECRET_SETTING
    certificate_path: str | None = None
    certificate_thumbprint: str | None = None
    authority_host: str = MICROSOFT_AUTHORITY_HOST
    graph_base_url: str = GRAPH_BASE_URL
    timeout_seconds: float = 60.0
    #: The optional fields the connection syncs (the policy's `fields`): selected, no other is.
    optional_fields: list[str] = Field(default_factory=list)
    resource_units_per_10s: int = 3500
    writes_per_150s: int = 3000
    #: The quota windows; Graph's are 10 s and 150 s (shorter ones pace a scaled emulator).
    resource_unit_window_seconds: float = 10.0
    write_window_seconds: float = 150.0

    def client(self) -> GraphClient:
        """The resource's client (one per resource instance: one pacer, one token cache)."""
        if self._client is None:
            certificate = None
            if self.certificate_path:
                certificate = ClientCertificate(
                    private_key_pem=Path(self.certificate_path).read_text(),
                    thumbprint=self.certificate_thumbprint or "",
                )
            tokens = self._delegated_tokens() or GraphTokenProvider(
                tenant_id=self.tenant_id,
                client_id=self.client_id,
                client_secret=self.client_secret or None,
                certificate=certificate,
                authority_host=self.authority_host,
                timeout_seconds=self.timeout_seconds,
                secret_setting=self.client_secret_setting,
            )
            budget = GraphBudget(
                resource_units=self.resource_units_per_10s,
                resource_unit_window=self.resource_unit_window_seconds,
                writes=self.writes_per_150s,
                write_window=self.write_window_seconds,
            )
            self._client = GraphClient(
                tokens=tokens,
                base_url=self.graph_base_url,
                pacer=GraphPacer(budget),
                timeout_seconds=self.timeout_seconds,
            )
        return self._client

    def _delegated_tokens(self) -> DelegatedTokenProvider | None:
        """The provider of the "user_account" type, None for "service_to_service"."""
        if self.auth_type == "service_to_service":
            return None
        if self.auth_type != "user_account":
            raise ValueError(
                f"auth_type must be 'service_to_service' or 'user_account', not {self.auth_type!r}"
            )
        return DelegatedTokenProvider(
            tenant_id=self.tenant_id,
            client_id=self.client_id,
            cache_path=self.token_cache_path
            or default_token_cache_path(self.tenant_id, self.client_id),
            authority_host=self.authority_host,
            timeout_seconds=self.timeout_seconds,
        )

    def snapshot(self) -> EntraSnapshot:
        """Every user of the tenant with the properties SPEC §3 maps (guests included), and the
        tenant's verified domains."""
        started = time.perf_counter()
        pages = 0
        pages_read = self.client().user_pages(
            user_select(self.optional_fields), expand=user_expand(self.optional_fields)
        )
        # Each page is read into the columns and the raw texts as it arrives: no decoded user
        # outlives its page.
        reading = EntraUsersOnArrival(self.optional_fields)
        with contextlib.closing(pages_read):  # a page asked for ahead is waited for
            for page in pages_read:
                reading.add(page.users, page.exact, page.content)
                pages += 1
        read, texts = reading.finished()
        frame = read.users
        return EntraSnapshot(
            users=frame,
            raw=raw_text_frame("entra_id", frame.get_column("entra_id"), texts),
            complete=frame.get_column("entra_id").null_count() == 0,
            requests=pages,
            seconds=time.perf_counter() - started,
            verified_domains=tuple(self.verified_domains(users=frame)),
            unreadable=read.unreadable,
        )

    def read_users(self, *, entra_ids: Sequence[str], emails: Sequence[str]) -> EntraSnapshot:
        """Only the users with one of `entra_ids` and those whose mail or UPN is one of `emails`
        (`resources.graph_lookup`), and the tenant's verified domains.

        Raises:
            LookupFailed: A read failed: there is no partial targeted read.
        """
        started = time.perf_counter()
        found = lookup_users(
            self.client(),
            entra_ids=entra_ids,
            emails=emails,
            select=user_select(self.optional_fields),
            expand=user_expand(self.optional_fields),
        )
        read = read_entra_users(found.users, self.optional_fields)
        frame = read.users
        return EntraSnapshot(
            users=frame,
            raw=raw_frame("entra_id", frame.get_column("entra_id"), found.users),
            complete=frame.get_column("entra_id").null_count() == 0,
            requests=found.requests,
            seconds=time.perf_counter() - started,
            verified_domains=tuple(self.verified_domains(users=frame)),
            unreadable=read.unreadable,
            looked_up_emails=frozenset(k for e in emails if (k := email_key(e))),
        )

    def verified_domains(self, *, users: pl.DataFrame) -> list[str]:
        """The tenant's verified domains, lower case.

        Read from `GET /domains` when the app may (`Domain.Read.All`); otherwise the domains of
        the members' userPrincipalNames, each of which Graph only accepts on a verified domain
        (a verified domain no member uses yet is then unknown, and creates on it are blocked).

        Args:
            users: the Entra snapshot's users (`ENTRA_USERS_SCHEMA`), for the fallback.
        """
        domains = self.client().verified_domains()
        if domains is not None:
            return domains
        logger.info("the app may not read /domains (Domain.Read.All); using members' UPN domains")
        return member_upn_domains(users)

    def write(self, *, writes: Sequence[GraphWrite]) -> list[GraphWriteOutcome]:
        """Apply writes through `$batch`; `employeeHireDate` and each user reference (the
        manager, a `$ref` write) go in writes of their own.

        Returns:
            One outcome per write sent: the hire date of a PATCH comes back under
            `<key>#employeeHireDate` (see `graph_batch.split_hire_date`), a reference under
            `<key>#<property>` unless the PATCH carried nothing else (`split_references`).
        """
        client = self.client()
        base_url = str(client.http.base_url)
        split = [
            part
            for write in writes
            for without_references in split_references(write, base_url)
            for part in split_hire_date(without_references)
        ]
        return BatchExecutor(client).run(split)


def member_upn_domains(users: pl.DataFrame) -> list[str]:
    """The lower-case domains of the members' userPrincipalNames (`user_type`,
    `user_principal_name`): each is a verified domain of the tenant, since Graph accepts a UPN
    only on one."""
    members = users.filter(pl.col("user_type") == "Member")
    return sorted(
        members.select(pl.col("user_principal_name").str.split("@").list.last().str.to_lowercase())
        .drop_nulls()
        .unique()
        .to_series()
        .to_list()
    )

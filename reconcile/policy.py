"""A connection's policy: the choices SPEC §5-7 leave to the people who run a connection.

Every setting has a documented default, and `Policy.from_dict` builds one from the plain mapping a
connections file (YAML/TOML) yields, refusing unknown keys so a typo never silently falls back to
a default.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any

from reconcile.fields import UNIT_NAMES, UNITS_BY_NAME
from reconcile.mapping import OPTIONAL_NAMES
from reconcile.vocabulary import ASK

#: Huma reads under way at once when a connection's policy does not say (`huma_max_concurrency`).
DEFAULT_HUMA_MAX_CONCURRENCY = 16
#: The most a policy may ask for: more only queues at Huma and runs into its rate limit sooner.
MAX_HUMA_MAX_CONCURRENCY = 64


def _ask_for_every_field() -> Mapping[str, str]:
    return MappingProxyType(dict.fromkeys(UNIT_NAMES, ASK))


@dataclass(frozen=True)
class Policy:
    """How one connection decides what SPEC leaves open.

    Attributes:
        initial_direction: Per field, how a first-sync inconsistency (both sides filled, different,
            no agreed value yet) is settled: `huma_to_entra`, `entra_to_huma` or `ask` (a person
            chooses). Default `ask` for every field. A one-way field accepts only its own direction
            or `ask`. Fields left out of the mapping keep `ask`.
        create_entra_users_automatically: Huma's "create users automatically": Huma-only users are
            created in Entra without approval. Default off (each create waits for a person).
        auto_apply_entra_to_huma: Entra → Huma updates (changes, missing values, inconsistencies
            settled toward Huma) are applied without approval. Default off, as SPEC §5 demands;
            conflicts, creates in Huma and re-creations always wait for a person.
        backfill_positions: Push position fields (hire date, job title) that predate activation.
            Default off (Huma's rule: only positions changed after activation are pushed).
        huma_default_group_id: The Huma group every user created in Huma joins (`POST /users`
            requires `groups`). Default none: creates in Huma are then blocked with that reason.
        mass_change_max_share: The mass-change guard trips when the users a run would write are
            more than this share of the users in scope (default 0.2)...
        mass_change_min_users: ...and more than this many (default 10, so that two edits in a
            small directory do not stop it).
        snapshot_max_shrink: The snapshot guard trips when a side has more than this share fewer
            users than in the previous run (default 0.1). A partial snapshot always trips it.
        entra_scope_domains: Entra users in scope, by email domain (lower case). Empty (the
            default) means every domain. Guests are never in scope.
        huma_max_concurrency: The most Huma reads (user details) under way at once, 1 to 64
            (default 16). The client starts there and backs off on its own while Huma answers
            429, 5xx or times out, climbing back while answers are healthy; lower it for an
            organisation whose rate limit is known to be tight.
        fields: The optional fields this connection syncs (Huma → Entra only), among
            `display_name`, `department`, `office`. Default none: an optional field that is off
            is neither read nor written.
    """

    initial_direction: Mapping[str, str] = field(default_factory=_ask_for_every_field)
    create_entra_users_automatically: bool = False
    auto_apply_entra_to_huma: bool = False
    backfill_positions: bool = False
    huma_default_group_id: str | None = None
    mass_change_max_share: float = 0.2
    mass_change_min_users: int = 10
    snapshot_max_shrink: float = 0.1
    entra_scope_domains: frozenset[str] = frozenset()
    huma_max_concurrency: int = DEFAULT_HUMA_MAX_CONCURRENCY
    fields: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        """Check every setting and complete `initial_direction` with `ask`."""
        if (
            isinstance(self.fields, str)
            or not isinstance(self.fields, Iterable)
            or not all(isinstance(f, str) for f in self.fields)
        ):
            raise ValueError("fields must be a list of field names")
        object.__setattr__(self, "fields", frozenset(self.fields))
        if unknown_fields := sorted(self.fields - set(OPTIONAL_NAMES)):
            raise ValueError(
                f"fields names unknown optional fields {unknown_fields}; "
                f"known: {sorted(OPTIONAL_NAMES)}"
            )
        names = (*UNIT_NAMES, *sorted(self.fields))
        unknown = sorted(set(self.initial_direction) - set(names))
        if unknown:
            raise ValueError(f"initial_direction names unknown fields {unknown}; known: {names}")
        complete = {name: self.initial_direction.get(name, ASK) for name in names}
        for name, direction in complete.items():
            allowed = {*UNITS_BY_NAME[name].directions, ASK}
            if direction not in allowed:
                raise ValueError(
                    f"initial_direction[{name!r}] is {direction!r}; allowed: {sorted(allowed)}"
                )
        object.__setattr__(self, "initial_direction", MappingProxyType(complete))
        for name in ("mass_change_max_share", "snapshot_max_shrink"):
            share = getattr(self, name)
            if isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share <= 1:
                raise ValueError(f"{name} must be a number between 0 and 1, not {share!r}")
        if isinstance(self.mass_change_min_users, bool) or not isinstance(
            self.mass_change_min_users, int
        ):
            raise ValueError("mass_change_min_users must be an integer")
        if self.mass_change_min_users < 0:
            raise ValueError("mass_change_min_users must not be negative")
        concurrency = self.huma_max_concurrency
        if (
            isinstance(concurrency, bool)
            or not isinstance(concurrency, int)
            or not 1 <= concurrency <= MAX_HUMA_MAX_CONCURRENCY
        ):
            raise ValueError(
                f"huma_max_concurrency must be a whole number from 1 to "
                f"{MAX_HUMA_MAX_CONCURRENCY}, not {concurrency!r}"
            )
        domains = frozenset(domain.lower() for domain in self.entra_scope_domains)
        object.__setattr__(self, "entra_scope_domains", domains)

    @classmethod
    def from_dict(cls, settings: Mapping[str, Any]) -> Policy:
        """Build a policy from a connections file's mapping; missing keys take their defaults.

        Args:
            settings: Keys named like the attributes; `entra_scope_domains` may be any list.

        Returns:
            The policy.

        Raises:
            ValueError: On an unknown key or a value of the wrong type or range.
        """
        known = {item.name for item in fields(cls)}
        unknown = sorted(set(settings) - known)
        if unknown:
            raise ValueError(f"unknown policy settings {unknown}; known: {sorted(known)}")
        values = dict(settings)
        for flag in (
            "create_entra_users_automatically",
            "auto_apply_entra_to_huma",
            "backfill_positions",
        ):
            if flag in values and not isinstance(values[flag], bool):
                raise ValueError(f"{flag} must be true or false, not {values[flag]!r}")
        if "initial_direction" in values and not isinstance(values["initial_direction"], Mapping):
            raise ValueError("initial_direction must be a mapping of field to direction")
        group = values.get("huma_default_group_id")
        if group is not None and not isinstance(group, str):
            raise ValueError("huma_default_group_id must be a string")
        if "entra_scope_domains" in values:
            domains = values["entra_scope_domains"]
            if isinstance(domains, str) or not all(isinstance(item, str) for item in domains):
                raise ValueError("entra_scope_domains must be a list of domain names")
            values["entra_scope_domains"] = frozenset(domains)
        return cls(**values)

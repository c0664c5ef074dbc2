"""A connection's policy: the choices SPEC §5-7 leave to the people who run a connection.

`Policy` is a declared model (a frozen pydantic dataclass): every setting has its type, range and
documented default in one place, and `Policy.from_dict` builds one from the plain mapping a
connections file (YAML/TOML) yields, refusing unknown keys so a typo never silently falls back to
a default. Errors name the setting and what it takes (`backfill_positions must be true or
false, not 'yes'`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field
from types import MappingProxyType
from typing import Annotated, Any

from annotated_types import Ge, Interval
from pydantic import (
    AfterValidator,
    ConfigDict,
    Strict,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
    model_validator,
)
from pydantic.dataclasses import dataclass

from reconcile.declared import expect, problems, refuse_unknown
from reconcile.fields import UNIT_NAMES, UNITS_BY_NAME
from reconcile.mapping import OPTIONAL_NAMES
from reconcile.vocabulary import ASK

#: Huma reads under way at once when a connection's policy does not say (`huma_max_concurrency`).
DEFAULT_HUMA_MAX_CONCURRENCY = 16
#: The most a policy may ask for: more only queues at Huma and runs into its rate limit sooner.
MAX_HUMA_MAX_CONCURRENCY = 64


def _ask_for_every_field() -> Mapping[str, str]:
    return MappingProxyType(dict.fromkeys(UNIT_NAMES, ASK))


def _known_directions(given: Mapping[str, str]) -> Mapping[str, str]:
    """The first-sync directions given, each for a known field and allowed for it; the fields
    left out are completed with `ask` once the optional fields are known (`_complete`)."""
    names = (*UNIT_NAMES, *OPTIONAL_NAMES)
    unknown = sorted(set(given) - set(names))
    if unknown:
        raise ValueError(f"initial_direction names unknown fields {unknown}; known: {names}")
    for name, direction in given.items():
        allowed = {*UNITS_BY_NAME[name].directions, ASK}
        if direction not in allowed:
            raise ValueError(
                f"initial_direction[{name!r}] is {direction!r}; allowed: {sorted(allowed)}"
            )
    return given


def _known_optional_fields(names: frozenset[str]) -> frozenset[str]:
    unknown = sorted(names - set(OPTIONAL_NAMES))
    if unknown:
        raise ValueError(
            f"fields names unknown optional fields {unknown}; known: {list(OPTIONAL_NAMES)}"
        )
    return names


def _lower_case(domains: frozenset[str]) -> frozenset[str]:
    return frozenset(domain.lower() for domain in domains)


Flag = Annotated[StrictBool, expect("true or false")]
Share = Annotated[float, Strict(), Interval(ge=0, le=1), expect("a number between 0 and 1")]


@dataclass(frozen=True, config=ConfigDict(extra="forbid"))
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
        fields: The optional fields this connection syncs, from `OPTIONAL_NAMES` (all
            Huma → Entra). Default none: only SPEC §3's fields.
    """

    initial_direction: Annotated[
        Mapping[StrictStr, StrictStr],
        expect("a mapping of field to direction"),
        AfterValidator(_known_directions),
    ] = field(default_factory=_ask_for_every_field)
    create_entra_users_automatically: Flag = False
    auto_apply_entra_to_huma: Flag = False
    backfill_positions: Flag = False
    huma_default_group_id: Annotated[StrictStr | None, expect("a string")] = None
    mass_change_max_share: Share = 0.2
    mass_change_min_users: Annotated[StrictInt, Ge(0), expect("an integer, 0 or more")] = 10
    snapshot_max_shrink: Share = 0.1
    entra_scope_domains: Annotated[
        frozenset[StrictStr], expect("a list of domain names"), AfterValidator(_lower_case)
    ] = frozenset()
    huma_max_concurrency: Annotated[
        StrictInt,
        Interval(ge=1, le=MAX_HUMA_MAX_CONCURRENCY),
        expect(f"a whole number from 1 to {MAX_HUMA_MAX_CONCURRENCY}"),
    ] = DEFAULT_HUMA_MAX_CONCURRENCY
    fields: Annotated[
        frozenset[StrictStr],
        expect(f"a list of field names from {list(OPTIONAL_NAMES)}"),
        AfterValidator(_known_optional_fields),
    ] = frozenset()

    @model_validator(mode="before")
    @classmethod
    def _declared_keys_only(cls, data: Any) -> Any:
        return refuse_unknown(data, cls.__dataclass_fields__, what="policy settings")

    @model_validator(mode="after")
    def _complete(self) -> Policy:
        """Every field the connection syncs gets its first-sync direction (`ask` when not given);
        an optional field that is off takes none."""
        names = (*UNIT_NAMES, *sorted(self.fields))
        off = sorted(set(self.initial_direction) - set(names))
        if off:
            raise ValueError(
                f"initial_direction names optional fields {off} that `fields` does not turn on"
            )
        complete = {name: self.initial_direction.get(name, ASK) for name in names}
        # Frozen: the completed mapping replaces the given one while the model is being built.
        object.__setattr__(self, "initial_direction", MappingProxyType(complete))
        return self

    @classmethod
    def from_dict(cls, settings: Mapping[str, Any]) -> Policy:
        """Build a policy from a connections file's mapping; missing keys take their defaults.

        Args:
            settings: Keys named like the attributes; `entra_scope_domains` and `fields` may be
                any list.

        Returns:
            The policy.

        Raises:
            ValueError: On an unknown key or a value of the wrong type or range; the message
                names each.
        """
        try:
            # A key that is not text (YAML allows `1:`) is refused as unknown, not a TypeError.
            return cls(**{str(key): value for key, value in settings.items()})
        except ValidationError as exc:
            raise ValueError(problems(exc)) from None

"""SPEC §3's field mapping as one table: per field, where each side holds it, which way it flows,
how it is read, checked, written and shown.

Everything that knows a mapped field derives from `MAPPING`: the snapshot columns and dtypes
(`reconcile.frames`), the engine's units (`reconcile.fields`), validation (`reconcile.validation`),
request bodies (`reconcile.bodies`), both snapshot readers and the Graph `$select`
(`resources/`), rollback's property map and the report's labels. Adding a field is one entry here
(and its test); a field of a new *shape* (another Huma source or Graph write kind) also needs its
reader or writer taught that kind once.

An entry's columns, Graph properties and Huma parts run in parallel: the address is four columns,
four Graph properties and four parts of Huma's `homeAddress`, compared and written as one unit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from reconcile.vocabulary import ENTRA_TO_HUMA, HUMA_TO_ENTRA

# How Huma holds a field (`HumaSource.kind`); the Huma snapshot reader knows each kind.
WRAPPED: Final = "wrapped"  # `{"value": …, "editable": …}` under `path`
WRAPPED_OBJECT: Final = "wrapped_object"  # a wrapped object whose `parts` are the columns
CURRENT_POSITION_TITLE: Final = "current_position_title"  # title of the CURRENT position
#: `path` (the preferred name) when there is one, else the given name, then the family name.
COMPOSED_NAME: Final = "composed_name"
FIRST_GROUP_NAME: Final = "first_group_name"  # the first by name of a wrapped list of groups
#: The `id` of a wrapped user (`FieldSimpleUser`): a Huma user id, which planning resolves through
#: the links to the Entra object id of that person's account (`reconcile.supervisors`).
LINKED_USER_ID: Final = "linked_user_id"

# How a value is normalised (`Mapped.value`): its dtype and canonical text.
TEXT: Final = "text"  # trimmed string, empty = missing
DATE: Final = "date"  # ISO date; canonical `YYYY-MM-DD`
OBJECT: Final = "object"  # several text columns; canonical compact JSON with sorted keys

# How a value is sent to Graph (`Mapped.graph_write`).
GRAPH_AS_IS: Final = "as_is"  # the value (or null to clear)
GRAPH_MIDNIGHT_UTC: Final = "midnight_utc"  # a date as `YYYY-MM-DDT00:00:00Z`
#: A single-valued navigation property holding another user (the manager): read with
#: `$expand=<property>($select=id)`, set with `PUT /users/{id}/<property>/$ref` and cleared with
#: `DELETE` there; its value is that user's object id. Never part of a create (`POST /users`).
GRAPH_REFERENCE: Final = "reference"

# How a value is sent to Huma (`Mapped.huma_write`); only for fields flowing Entra → Huma.
HUMA_TEXT: Final = "text"  # the string, `""` to empty it (Huma's strings are not nullable)
HUMA_ADDRESS: Final = "address"  # the whole `homeAddress` object (line 2 and 3 sent back as held)

BOTH_WAYS: Final = frozenset({HUMA_TO_ENTRA, ENTRA_TO_HUMA})
TO_ENTRA: Final = frozenset({HUMA_TO_ENTRA})
TO_HUMA: Final = frozenset({ENTRA_TO_HUMA})

# The 249 officially assigned ISO 3166-1 alpha-2 codes, upper case as ISO writes them (`"no"` is
# not one). A static set keeps the rules free of a country-data dependency; an entry's
# `iso_country` column is checked against it, and the Entra → Huma address rule uses it too.
# fmt: off
ISO_3166_ALPHA2: Final[frozenset[str]] = frozenset((
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
    "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
    "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
    "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
    "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
    "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
    "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
    "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
    "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
    "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
    "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW",
))
# fmt: on


@dataclass(frozen=True)
class HumaSource:
    """Where a field is in Huma's `UserDetails`.

    Attributes:
        kind: One of the kinds above.
        path: The `UserDetails` property (the one written back, for a field flowing to Huma).
        parts: For `WRAPPED_OBJECT`, the object's keys, one per column.
    """

    kind: str
    path: str
    parts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Mapped:
    """One mapped field (an engine unit).

    Attributes:
        name: The field's name in baselines, diffs, plans and policies.
        columns: Its snapshot columns (one, or several travelling as one unit).
        huma: Where Huma holds it.
        graph: The Graph user properties, one per column.
        directions: The write directions allowed.
        label: What the report calls it.
        value: The normaliser (`TEXT`, `DATE`, `OBJECT`).
        position: A position field (pushed only after activation unless backfilled, SPEC §5).
        required: Huma must have a value (validation holds the user out otherwise).
        unique: No two users of one side may share a non-null value (Huma's rule, SPEC §3).
        max_length: Per column, Graph's limit on the value (checked on Huma's side).
        length_on_both_sides: The limit is also checked on Entra's side.
        iso_country: The column that must hold an ISO 3166-1 alpha-2 code.
        graph_write: How it is sent to Graph (ignored when it never flows to Entra).
        huma_write: How it is sent to Huma (None: never written to Huma).
        huma_create_post: Sent in Huma's `POST /users`; else in the follow-up PATCH.
        optional: Off unless a connection's policy names it (`Policy.fields`); while off it is
            neither read nor written, on either side.
    """

    name: str
    columns: tuple[str, ...]
    huma: HumaSource
    graph: tuple[str, ...]
    directions: frozenset[str]
    label: str
    value: str = TEXT
    position: bool = False
    required: bool = False
    unique: bool = False
    max_length: dict[str, int] = field(default_factory=dict, hash=False)
    length_on_both_sides: bool = False
    iso_country: str | None = None
    graph_write: str = GRAPH_AS_IS
    huma_write: str | None = None
    huma_create_post: bool = False
    optional: bool = False

    @property
    def graph_reference(self) -> bool:
        """Written to Graph as a reference to another user (`GRAPH_REFERENCE`), not a property."""
        return self.graph_write == GRAPH_REFERENCE

    @property
    def parts(self) -> dict[str, str]:
        """For an object field, column → its key in the canonical JSON (the column's name
        without the field's prefix), in the sorted order the canonical text uses."""
        keys = {column: column.removeprefix(f"{self.name}_") for column in self.columns}
        return dict(sorted(keys.items(), key=lambda item: item[1]))


MAPPING: Final = (
    Mapped(
        "given_name",
        ("given_name",),
        HumaSource(WRAPPED, "givenName"),
        ("givenName",),
        BOTH_WAYS,
        "given name",
        required=True,
        max_length={"given_name": 64},
        huma_write=HUMA_TEXT,
        huma_create_post=True,
    ),
    Mapped(
        "family_name",
        ("family_name",),
        HumaSource(WRAPPED, "familyName"),
        ("surname",),
        BOTH_WAYS,
        "family name",
        required=True,
        max_length={"family_name": 64},
        huma_write=HUMA_TEXT,
        huma_create_post=True,
    ),
    Mapped(
        "phone",
        ("phone",),
        HumaSource(WRAPPED, "phone"),
        ("mobilePhone",),
        BOTH_WAYS,
        "phone",
        unique=True,
        max_length={"phone": 64},
        huma_write=HUMA_TEXT,
        huma_create_post=True,
    ),
    Mapped(
        "address",
        ("address_line1", "address_postal_code", "address_city", "address_country"),
        HumaSource(WRAPPED_OBJECT, "homeAddress", ("line1", "postalCode", "city", "country")),
        ("streetAddress", "postalCode", "city", "country"),
        BOTH_WAYS,
        "address",
        value=OBJECT,
        max_length={"address_line1": 1024, "address_postal_code": 40, "address_city": 128},
        iso_country="address_country",
        huma_write=HUMA_ADDRESS,
    ),
    Mapped(
        "employment_id",
        ("employment_id",),
        HumaSource(WRAPPED, "employmentId"),
        ("employeeId",),
        TO_HUMA,
        "employment ID",
        unique=True,
        max_length={"employment_id": 16},
        length_on_both_sides=True,
        huma_write=HUMA_TEXT,
    ),
    Mapped(
        "hire_date",
        ("hire_date",),
        HumaSource(WRAPPED, "firstContractStartDate"),
        ("employeeHireDate",),
        TO_ENTRA,
        "hire date",
        value=DATE,
        position=True,
        graph_write=GRAPH_MIDNIGHT_UTC,
    ),
    Mapped(
        "job_title",
        ("job_title",),
        HumaSource(CURRENT_POSITION_TITLE, "currentPositions"),
        ("jobTitle",),
        TO_ENTRA,
        "job title",
        position=True,
        max_length={"job_title": 128},
    ),
    # Optional, Huma → Entra only: off unless a connection's policy names them.
    Mapped(
        "display_name",
        ("display_name",),
        HumaSource(COMPOSED_NAME, "preferredName"),
        ("displayName",),
        TO_ENTRA,
        "display name",
        max_length={"display_name": 256},
        optional=True,
    ),
    Mapped(
        "office",
        ("office",),
        HumaSource(FIRST_GROUP_NAME, "locations"),
        ("officeLocation",),
        TO_ENTRA,
        "office",
        max_length={"office": 128},
        optional=True,
    ),
    Mapped(
        "department",
        ("department",),
        HumaSource(FIRST_GROUP_NAME, "teams"),
        ("department",),
        TO_ENTRA,
        "department",
        max_length={"department": 64},
        optional=True,
    ),
    # Huma's supervisor (a Huma user id) is compared and written as the Entra object id of the
    # account linked to that person; a supervisor without such a link is reported, never guessed.
    Mapped(
        "manager",
        ("manager",),
        HumaSource(LINKED_USER_ID, "supervisor"),
        ("manager",),
        TO_ENTRA,
        "manager",
        graph_write=GRAPH_REFERENCE,
        optional=True,
    ),
)

BY_NAME: Final = {entry.name: entry for entry in MAPPING}
#: The fields a connection may switch on (`Policy.fields`).
OPTIONAL_NAMES: Final = tuple(entry.name for entry in MAPPING if entry.optional)
OPTIONAL_COLUMNS: Final = tuple(c for entry in MAPPING if entry.optional for c in entry.columns)
#: The Graph navigation properties a field is held in (read by `$expand`, written by `$ref`).
GRAPH_REFERENCES: Final = tuple(
    p for entry in MAPPING if entry.graph_reference for p in entry.graph
)


def active(fields: Iterable[str] = ()) -> tuple[Mapped, ...]:
    """The entries a connection reads and writes: every field that is not optional, and the
    optional ones named in `fields`, in the mapping's order."""
    wanted = set(fields)
    return tuple(entry for entry in MAPPING if not entry.optional or entry.name in wanted)


def carried_by(columns: Iterable[str]) -> tuple[Mapped, ...]:
    """The entries a snapshot frame carries: every field that is not optional, and the optional
    ones whose columns are all in `columns` (the readers add them only when switched on)."""
    present = set(columns)
    return tuple(entry for entry in MAPPING if not entry.optional or set(entry.columns) <= present)

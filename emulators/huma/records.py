"""The records of the Huma state file (`huma-emulator/1`, see `emulators/README.md`), checked.

Each `check_*` function takes one JSON object of the state file and returns it normalised (every
optional property present, absent ones as `None` or `[]`), or raises ValueError naming what is
wrong. Uniqueness of email, phone and employment ID is *not* checked here: a state may hold the
duplicates a test wants the product to detect; only the API refuses to create them.
"""

from __future__ import annotations

import codecs
import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")

GROUP_TYPES = frozenset(
    {"organization", "user", "location", "team", "subordinates", "company", "service_user"}
)
CONTRACT_TYPES = frozenset(
    {
        "Permanent",
        "Temporary",
        "Seasonal",
        "Casual",
        "Trainee",
        "JobTrainingProgram",
        "Consultant",
        "Freelance",
        "ThirdParty",
        "Other",
    }
)
ADDRESS_KEYS = ("line1", "line2", "line3", "postalCode", "city", "country")
#: `UserDetails` properties a state may list in a user's `hiddenFields`.
HIDEABLE_FIELDS = frozenset(
    {
        "preferredName",
        "phone",
        "homeAddress",
        "employmentId",
        "firstContractStartDate",
        "currentPositions",
        "groups",
        "teams",
        "locations",
        "companies",
        "supervisor",
    }
)
_USER_KEYS = frozenset(
    {
        "id",
        "givenName",
        "familyName",
        "preferredName",
        "email",
        "phone",
        "homeAddress",
        "employmentId",
        "status",
        "groups",
        "supervisor",
        "positions",
        "hiddenFields",
        "servedFields",
        "servedCharset",
    }
)
#: Properties of a stored user that are left out when empty (older states never had them).
OPTIONAL_KEYS = frozenset({"preferredName", "supervisor"})
_STATUS_KEYS = frozenset({"active", "deactivatedAt"})
_ADDRESS_KEY_SET = frozenset(ADDRESS_KEYS)
_ADDRESS_REQUIRED = ("line1", "postalCode", "city", "country")
_POSITION_KEYS = frozenset(
    {"id", "titleId", "contractStartDate", "contractEndDate", "percentage", "contractType"}
)


def parse_uuid(value: Any) -> str | None:
    """`value` as a lower-case canonical UUID string, or None when it is not one."""
    if isinstance(value, str) and len(value) == 36 and _UUID.fullmatch(value):
        return value.lower()
    return None


def check_uuid(value: Any, where: str) -> str:
    parsed = parse_uuid(value)
    if parsed is None:
        raise ValueError(f"{where} must be a UUID, got {value!r}")
    return parsed


def check_date(value: Any, where: str) -> str:
    try:
        return dt.date.fromisoformat(value).isoformat()
    except (TypeError, ValueError):
        raise ValueError(f"{where} must be a date YYYY-MM-DD, got {value!r}") from None


def _text(value: Any, where: str, *, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{where} must be a string, got {value!r}")
    return value


def _only(obj: Any, allowed: frozenset[str], where: str) -> Mapping[str, Any]:
    if not isinstance(obj, Mapping):
        raise ValueError(f"{where} must be an object")
    unknown = obj.keys() - allowed
    if unknown:
        raise ValueError(f"{where} has unknown properties {sorted(unknown)}")
    return obj


def check_group(obj: Any) -> dict[str, Any]:
    where = f"group {obj.get('id') if isinstance(obj, Mapping) else obj!r}"
    obj = _only(obj, frozenset({"id", "name", "type", "organizationNumber", "address"}), where)
    if obj.get("type") not in GROUP_TYPES:
        raise ValueError(f"{where}: type must be one of {sorted(GROUP_TYPES)}")
    group = {"id": check_uuid(obj.get("id"), where), "name": _text(obj.get("name"), where)}
    group["type"] = obj["type"]
    if obj.get("organizationNumber") is not None:
        group["organizationNumber"] = _text(obj["organizationNumber"], where)
    if obj.get("address") is not None:
        group["address"] = check_address(obj["address"], where)
    return group


def check_job_title(obj: Any) -> dict[str, Any]:
    where = f"job title {obj.get('id') if isinstance(obj, Mapping) else obj!r}"
    obj = _only(obj, frozenset({"id", "name", "description"}), where)
    title = {"id": check_uuid(obj.get("id"), where), "name": _text(obj.get("name"), where)}
    if obj.get("description") is not None:
        title["description"] = _text(obj["description"], where)
    return title


def check_api_key(obj: Any) -> dict[str, Any]:
    obj = _only(obj, frozenset({"clientId", "clientSecret", "active"}), "API key")
    if not isinstance(obj.get("active", True), bool):
        raise ValueError("API key: active must be a boolean")
    return {
        "clientId": check_uuid(obj.get("clientId"), "API key clientId"),
        "clientSecret": check_uuid(obj.get("clientSecret"), "API key clientSecret"),
        "active": obj.get("active", True),
    }


def check_address(obj: Any, where: str) -> dict[str, Any] | None:
    if obj is None:
        return None
    try:
        return _address(obj)
    except ValueError as exc:
        raise ValueError(f"{where} address: {exc}") from None


def _address(obj: Any) -> dict[str, Any]:
    obj = _only(obj, _ADDRESS_KEY_SET, "the address")
    address = {k: _text(obj.get(k), k, optional=True) for k in ADDRESS_KEYS}
    for key in _ADDRESS_REQUIRED:
        if not address[key]:
            raise ValueError(f"needs {key} (Huma's Address requires it)")
    return address


def check_position(obj: Any, where: str, job_titles: Mapping[str, Any]) -> dict[str, Any]:
    try:
        return _position(obj, job_titles)
    except ValueError as exc:
        position_id = obj.get("id") if isinstance(obj, Mapping) else None
        raise ValueError(f"{where} position {position_id!r}: {exc}") from None


def _position(obj: Any, job_titles: Mapping[str, Any]) -> dict[str, Any]:
    obj = _only(obj, _POSITION_KEYS, "the position")
    title_id = check_uuid(obj.get("titleId"), "titleId")
    if title_id not in job_titles:
        raise ValueError(f"unknown job title {title_id}")
    if obj.get("contractType") not in CONTRACT_TYPES:
        raise ValueError(f"contractType must be one of {sorted(CONTRACT_TYPES)}")
    percentage = obj.get("percentage", 100)
    if percentage is not None and (
        type(percentage) is not int or not 0 <= percentage <= 100  # bool is no percentage
    ):
        raise ValueError("percentage must be an integer 0-100")
    end = obj.get("contractEndDate")
    return {
        "id": check_uuid(obj.get("id"), "id"),
        "titleId": title_id,
        "contractStartDate": check_date(obj.get("contractStartDate"), "contractStartDate"),
        "contractEndDate": None if end is None else check_date(end, "contractEndDate"),
        "percentage": percentage,
        "contractType": obj["contractType"],
    }


def check_user(
    obj: Any, groups: Mapping[str, Any], job_titles: Mapping[str, Any]
) -> dict[str, Any]:
    """One user of the state file, normalised; raises ValueError naming the first problem."""
    try:
        return _user(obj, groups, job_titles)
    except ValueError as exc:
        user_id = obj.get("id") if isinstance(obj, Mapping) else obj
        raise ValueError(f"user {user_id!r}: {exc}") from None


def _user(obj: Any, groups: Mapping[str, Any], job_titles: Mapping[str, Any]) -> dict[str, Any]:
    # Messages are built only on failure: a 1,000,000-user state is checked in seconds.
    obj = _only(obj, _USER_KEYS, "the user")
    user_id = check_uuid(obj.get("id"), "id")
    status = obj.get("status") or {"active": True}
    status = _only(status, _STATUS_KEYS, "status")
    if not isinstance(status.get("active"), bool):
        raise ValueError("status.active must be a boolean")
    deactivated_at = _text(status.get("deactivatedAt"), "deactivatedAt", optional=True)
    if deactivated_at is not None:
        try:
            dt.datetime.fromisoformat(deactivated_at)
        except ValueError:
            raise ValueError("deactivatedAt must be an ISO date-time") from None
    member_of = [check_uuid(g, "group") for g in obj.get("groups") or ()]
    unknown = [g for g in member_of if g not in groups]
    if unknown:
        raise ValueError(f"unknown groups {unknown}")
    hidden = list(obj.get("hiddenFields") or ())
    if not HIDEABLE_FIELDS.issuperset(hidden):
        raise ValueError(f"hiddenFields may only name {sorted(HIDEABLE_FIELDS)}")
    given = _text(obj.get("givenName"), "givenName")
    family = _text(obj.get("familyName"), "familyName")
    email = _text(obj.get("email"), "email")
    if not (given and family and email):
        raise ValueError("givenName, familyName and email are required")
    address = obj.get("homeAddress")
    supervisor = obj.get("supervisor")
    if supervisor is not None:
        supervisor = check_uuid(supervisor, "supervisor")
        if supervisor == user_id:
            raise ValueError("a user cannot be their own supervisor")
    served = _served(obj)
    return {
        "id": user_id,
        "givenName": given,
        "familyName": family,
        "email": email,
        "phone": _text(obj.get("phone"), "phone", optional=True),
        "homeAddress": None if address is None else _address(address),
        "employmentId": _text(obj.get("employmentId"), "employmentId", optional=True),
        "status": {"active": status["active"], "deactivatedAt": deactivated_at},
        "groups": list(dict.fromkeys(member_of)),
        "positions": [_position(p, job_titles) for p in obj.get("positions") or ()],
        "hiddenFields": hidden,
        **_optional(
            preferredName=_text(obj.get("preferredName"), "preferredName", optional=True),
            supervisor=supervisor,
        ),
        **served,
    }


def _optional(**values: Any) -> dict[str, Any]:
    """The optional properties that are set: a record without them stays as a state gave it."""
    return {name: value for name, value in values.items() if value is not None}


def drop_empty_optionals(record: dict[str, Any]) -> dict[str, Any]:
    """`record` without the optional properties (`preferredName`, `supervisor`) set to None."""
    return {k: v for k, v in record.items() if v is not None or k not in OPTIONAL_KEYS}


def _served(obj: Mapping[str, Any]) -> dict[str, Any]:
    """`servedFields` and `servedCharset`, kept only when set (most states never use them)."""
    served: dict[str, Any] = {}
    fields = obj.get("servedFields")
    if fields:
        if not isinstance(fields, Mapping):
            raise ValueError("servedFields must be an object of UserDetails properties")
        served["servedFields"] = dict(fields)
    charset = obj.get("servedCharset")
    if charset is not None:
        try:
            codecs.lookup(charset)
        except (LookupError, TypeError):
            raise ValueError("servedCharset must name a character set") from None
        served["servedCharset"] = charset
    return served

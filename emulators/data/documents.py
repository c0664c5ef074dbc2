"""A person as each emulator's state file holds them (formats in `emulators/README.md`).

Huma's record shows the `Person`'s own values; Entra's shows them with `Person.entra` laid over,
in Graph's property names and value formats.
"""

from __future__ import annotations

from typing import Any

from emulators.data.company import JOB_TITLES, Company
from emulators.data.people import Person
from emulators.data.randomness import iso_date, iso_midnight


def huma_user(p: Person, company: Company) -> dict[str, Any]:
    """The person's entry in `huma-state.json`'s `users`."""
    line1, postal_code, city, country = p.address
    title_ids = company.title_ids
    return {
        "id": p.huma_id,
        "givenName": p.given,
        "familyName": p.family,
        "email": p.email,
        "phone": p.phone,
        "homeAddress": {
            "line1": line1,
            "line2": p.line2,
            "line3": None,
            "postalCode": postal_code,
            "city": city,
            "country": country,
        },
        "employmentId": p.employment_id,
        "status": {"active": p.active, "deactivatedAt": p.deactivated_at},
        "groups": p.groups,
        "positions": [
            {
                "id": pos.id,
                "titleId": title_ids[pos.title],
                "contractStartDate": iso_date(pos.start),
                "contractEndDate": None if pos.end is None else iso_date(pos.end),
                "percentage": pos.percentage,
                "contractType": pos.contract,
            }
            for pos in p.positions
        ],
        "hiddenFields": [],
    }


def entra_member(p: Person) -> dict[str, Any]:
    """The person's entry in `entra-state.json`'s tenant `users`: a member of the company."""
    e = p.entra
    email = e.get("email", p.email)
    given, family = e.get("given", p.given), e.get("family", p.family)
    line1, postal_code, city, country = e.get("address", p.address)
    return {
        "id": p.entra_id,
        "userPrincipalName": email,
        "mail": email,
        "displayName": f"{given} {family}",
        "givenName": given,
        "surname": family,
        "mailNickname": email.partition("@")[0],
        "mobilePhone": e.get("phone", p.phone),
        "businessPhones": [],
        "streetAddress": line1,
        "postalCode": postal_code,
        "city": city,
        "country": e.get("country", country),
        "usageLocation": p.address[3],
        "employeeId": e.get("employment_id", p.employment_id),
        "employeeHireDate": iso_midnight(e.get("hire", p.hire_day)),
        "jobTitle": JOB_TITLES[e.get("title", p.current.title)],
        "accountEnabled": p.enabled,
        "userType": "Member",
        "onPremisesSyncEnabled": True if p.on_prem else None,
        "createdDateTime": p.created,
    }


def entra_guest(p: Person, company: Company) -> dict[str, Any]:
    """An invited outsider: `#EXT#` user principal name on the tenant's initial domain."""
    local, _, domain = p.email.partition("@")
    nickname = f"{local}_{domain}#EXT#"
    return {
        "id": p.entra_id,
        "userPrincipalName": f"{nickname}@{company.initial_domain}",
        "mail": p.email,
        "displayName": f"{p.given} {p.family}",
        "givenName": p.given,
        "surname": p.family,
        "mailNickname": nickname,
        "mobilePhone": None,
        "businessPhones": [],
        "streetAddress": None,
        "postalCode": None,
        "city": None,
        "country": None,
        "usageLocation": None,
        "employeeId": None,
        "employeeHireDate": None,
        "jobTitle": None,
        "accountEnabled": True,
        "userType": "Guest",
        "onPremisesSyncEnabled": None,
        "createdDateTime": p.created,
    }

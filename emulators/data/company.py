"""The employer of a generated world: its name and domain, Huma groups and job titles, its
Huma API key, and its Entra tenant with the application Huma's integration signs in as.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from emulators.data.names import words
from emulators.data.randomness import SECRET_EXPIRY, client_secret_text, new_uuid

# (name, email domain, tenant's initial-domain label); all made up.
COMPANIES: tuple[tuple[str, str, str], ...] = (
    ("Fjordline AS", "fjordline.no", "fjordline"),
    ("Nordlys Energi AS", "nordlysenergi.no", "nordlysenergi"),
    ("Skjærgård Logistikk AS", "skjaergard-logistikk.no", "skjaergardlogistikk"),
    ("Havbris Sjømat AS", "havbris.no", "havbris"),
    ("Fjellvind Teknologi AS", "fjellvind.no", "fjellvindtek"),
)

#: Offices per country: the Huma locations people belong to.
OFFICES: dict[str, tuple[str, ...]] = {
    "NO": ("Oslo", "Bergen", "Trondheim"),
    "SE": ("Stockholm", "Göteborg"),
    "DK": ("København",),
    "FI": ("Helsinki",),
}

TEAMS: tuple[str, ...] = (
    "Engineering", "Finance", "People & Culture", "Sales", "Customer Service", "Operations",
    "Marketing", "Logistics", "IT", "Legal & Compliance",
)  # fmt: skip

JOB_TITLES: tuple[str, ...] = tuple(
    line.strip()
    for line in """
    Software Engineer
    Senior Software Engineer
    Engineering Manager
    Data Engineer
    Product Manager
    UX Designer
    IT Support Specialist
    System Administrator
    Accountant
    Controller
    Payroll Specialist
    Finance Manager
    HR Business Partner
    Recruiter
    People Operations Coordinator
    Sales Representative
    Key Account Manager
    Sales Manager
    Customer Service Agent
    Customer Success Manager
    Marketing Coordinator
    Content Writer
    Operations Manager
    Warehouse Operator
    Logistics Planner
    Truck Driver
    Procurement Officer
    Legal Counsel
    Compliance Officer
    Office Manager
    Executive Assistant
    Chief Executive Officer
    Chief Financial Officer
    Project Manager
    Quality Engineer
    Maintenance Technician
    Apprentice
    """.strip().splitlines()
)

#: `contractType` values of Huma's spec and how often each occurs.
CONTRACT_TYPES: dict[str, float] = {
    "Permanent": 0.88,
    "Temporary": 0.06,
    "Trainee": 0.02,
    "Consultant": 0.02,
    "Seasonal": 0.01,
    "Freelance": 0.01,
}

#: Private email providers of people on the HR side (and of guests in the tenant).
PRIVATE_DOMAINS: tuple[str, ...] = words(
    """
    gmail.com gmail.com gmail.com gmail.com outlook.com hotmail.com yahoo.com icloud.com
    live.no online.no hotmail.se telia.com
    """
)


@dataclass(frozen=True, slots=True)
class Company:
    """The employer, its Huma and Entra set-up, with the ids people refer to."""

    name: str
    domain: str
    initial_domain: str
    company_group: str
    office_groups: dict[str, tuple[str, ...]]
    team_groups: tuple[str, ...]
    title_ids: tuple[str, ...]
    huma_organization: dict[str, Any]
    huma_api_keys: list[dict[str, Any]]
    huma_groups: list[dict[str, Any]]
    huma_job_titles: list[dict[str, Any]]
    entra_tenant: dict[str, Any]


def make_company(rng: random.Random) -> Company:
    """Everything about the employer except its people (`entra_tenant["users"]` is empty)."""
    name, domain, label = rng.choice(COMPANIES)
    initial_domain = f"{label}.onmicrosoft.com"
    company_group = new_uuid(rng)
    groups = [{"id": company_group, "name": name, "type": "company"}]
    office_groups: dict[str, tuple[str, ...]] = {}
    for country, offices in OFFICES.items():
        ids = tuple(new_uuid(rng) for _ in offices)
        office_groups[country] = ids
        groups += [
            {"id": i, "name": o, "type": "location"} for i, o in zip(ids, offices, strict=True)
        ]
    team_groups = tuple(new_uuid(rng) for _ in TEAMS)
    groups += [
        {"id": i, "name": t, "type": "team"} for i, t in zip(team_groups, TEAMS, strict=True)
    ]
    title_ids = tuple(new_uuid(rng) for _ in JOB_TITLES)
    tenant = {
        "id": new_uuid(rng),
        "displayName": name,
        "domains": [
            {"id": domain, "isVerified": True, "isDefault": True, "authenticationType": "Managed"},
            {
                "id": initial_domain,
                "isVerified": True,
                "isInitial": True,
                "authenticationType": "Managed",
            },
        ],
        "applications": [
            {
                "appId": new_uuid(rng),
                "displayName": "Huma",
                "secrets": [
                    {
                        "keyId": new_uuid(rng),
                        "secretText": client_secret_text(rng),
                        "endDateTime": SECRET_EXPIRY,
                    }
                ],
                "certificates": [],
                "grantedPermissions": ["User.ReadWrite.All"],
            }
        ],
        "users": [],
    }
    return Company(
        name=name,
        domain=domain,
        initial_domain=initial_domain,
        company_group=company_group,
        office_groups=office_groups,
        team_groups=team_groups,
        title_ids=title_ids,
        huma_organization={"id": new_uuid(rng), "name": name},
        huma_api_keys=[{"clientId": new_uuid(rng), "clientSecret": new_uuid(rng), "active": True}],
        huma_groups=groups,
        huma_job_titles=[{"id": i, "name": t} for i, t in zip(title_ids, JOB_TITLES, strict=True)],
        entra_tenant=tenant,
    )

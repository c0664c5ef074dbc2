"""The Graph v1.0 user type as the emulator knows it: names, kinds, limits and who may write.

Property names follow learn.microsoft.com/graph/api/resources/user; limits follow that page and
the user-update and user-post-users pages.
"""

from __future__ import annotations

import enum


class Kind(enum.Enum):
    STRING = "Edm.String"
    BOOLEAN = "Edm.Boolean"
    DATETIME = "Edm.DateTimeOffset"
    STRINGS = "Collection(Edm.String)"
    OBJECT = "Complex"


#: Returned without `$select` (user-list page), in Graph's order.
DEFAULT_SELECT: tuple[str, ...] = (
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
    "id",
)

#: Writable properties the emulator stores: kind and maximum length (None: no limit checked).
WRITABLE: dict[str, tuple[Kind, int | None]] = {
    "accountEnabled": (Kind.BOOLEAN, None),
    "ageGroup": (Kind.STRING, None),
    "businessPhones": (Kind.STRINGS, 64),
    "city": (Kind.STRING, 128),
    "companyName": (Kind.STRING, 64),
    "consentProvidedForMinor": (Kind.STRING, None),
    "country": (Kind.STRING, 128),
    "department": (Kind.STRING, 64),
    "displayName": (Kind.STRING, 256),
    "employeeHireDate": (Kind.DATETIME, None),
    "employeeId": (Kind.STRING, 16),
    "employeeLeaveDateTime": (Kind.DATETIME, None),
    "employeeType": (Kind.STRING, 64),
    "faxNumber": (Kind.STRING, 64),
    "givenName": (Kind.STRING, 64),
    "jobTitle": (Kind.STRING, 128),
    "mail": (Kind.STRING, 256),
    "mailNickname": (Kind.STRING, 64),
    "mobilePhone": (Kind.STRING, 64),
    "officeLocation": (Kind.STRING, 128),
    "onPremisesImmutableId": (Kind.STRING, None),
    "otherMails": (Kind.STRINGS, 256),
    "passwordPolicies": (Kind.STRING, None),
    "passwordProfile": (Kind.OBJECT, None),
    "postalCode": (Kind.STRING, 40),
    "preferredDataLocation": (Kind.STRING, None),
    "preferredLanguage": (Kind.STRING, None),
    "showInAddressList": (Kind.BOOLEAN, None),
    "state": (Kind.STRING, 128),
    "streetAddress": (Kind.STRING, 1024),
    "surname": (Kind.STRING, 64),
    "usageLocation": (Kind.STRING, 2),
    "userPrincipalName": (Kind.STRING, 113),
    "userType": (Kind.STRING, None),
}

#: Properties Graph refuses to write ("Property 'x' is read-only and cannot be set.").
READ_ONLY = frozenset(
    {
        "assignedLicenses",
        "assignedPlans",
        "createdDateTime",
        "creationType",
        "deletedDateTime",
        "externalUserState",
        "externalUserStateChangeDateTime",
        "id",
        "imAddresses",
        "lastPasswordChangeDateTime",
        "licenseAssignmentStates",
        "onPremisesDistinguishedName",
        "onPremisesDomainName",
        "onPremisesLastSyncDateTime",
        "onPremisesProvisioningErrors",
        "onPremisesSamAccountName",
        "onPremisesSecurityIdentifier",
        "onPremisesSyncEnabled",
        "onPremisesUserPrincipalName",
        "provisionedPlans",
        "proxyAddresses",
        "securityIdentifier",
        "signInActivity",
    }
)

#: Stored in SharePoint, not the directory: app-only tokens cannot write them (user-update page).
APP_ONLY_DENIED = frozenset(
    {"aboutMe", "birthday", "interests", "mySite", "pastProjects", "responsibilities", "schools"}
    | {"skills", "hireDate", "preferredName"}
)

#: Readable on one user but not in a collection: `GET /users?$select=` answers 501.
NOT_IN_COLLECTIONS = frozenset(
    {"aboutMe", "birthday", "hireDate", "interests", "mySite", "pastProjects", "preferredName"}
    | {"responsibilities", "schools", "skills", "mailboxSettings"}
)

#: Every property name of the type; those the emulator does not hold read as null (or []).
ALL_PROPERTIES = frozenset(
    set(WRITABLE)
    | READ_ONLY
    | APP_ONLY_DENIED
    | NOT_IN_COLLECTIONS
    | {
        "authorizationInfo",
        "customSecurityAttributes",
        "employeeOrgData",
        "identities",
        "isManagementRestricted",
        "isResourceAccount",
        "legalAgeGroupClassification",
        "onPremisesExtensionAttributes",
        "serviceProvisioningErrors",
        "signInSessionsValidFromDateTime",
    }
)

#: Collections read as [] when the state holds null.
COLLECTIONS = frozenset(
    {"businessPhones", "otherMails", "proxyAddresses", "imAddresses", "identities"}
    | {"assignedLicenses", "assignedPlans", "provisionedPlans", "licenseAssignmentStates"}
    | {"interests", "pastProjects", "responsibilities", "schools", "skills"}
    | {"onPremisesProvisioningErrors", "serviceProvisioningErrors"}
)

#: Written by on-premises AD for synced users: Graph refuses to change them on such users.
ON_PREMISES_MASTERED = frozenset(
    set(WRITABLE)
    - {"usageLocation", "passwordPolicies", "preferredDataLocation", "showInAddressList"}
    - {"userType", "employeeLeaveDateTime", "ageGroup", "consentProvidedForMinor"}
)

#: Case-insensitive lookup of property names (Graph accepts `$select=DisplayName`).
CANONICAL = {name.lower(): name for name in ALL_PROPERTIES}

#: Required on `POST /users`.
REQUIRED_ON_CREATE = (
    "accountEnabled",
    "displayName",
    "mailNickname",
    "userPrincipalName",
    "passwordProfile",
)

"""A generated world is reproducible, shaped as the state-file formats say, and keeps the rules
the real services keep.

Pinned: the same (users, seed, drift) gives the same bytes, in any process; another seed gives
another world; `write_world` writes the three files whole; Huma's state has every key the README
names, one CURRENT position per user and only known groups, titles and contract types; keys are
unique where the world must be unique (except the deliberate duplicates); Entra's users keep
Graph's limits (employeeId ≤ 16 characters, verified UPN domains, ISO usage locations, guest
`#EXT#` names); people's data looks Nordic (phones, postal codes, ASCII email addresses).
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path

import orjson
import pytest

from emulators.data import Drift, World, generate_world, write_world
from emulators.data.company import CONTRACT_TYPES
from emulators.data.names import email_local_part
from tests.emulators.data.views import current_positions, entra_users

HUMA_USER_KEYS = {
    "id", "givenName", "familyName", "email", "phone", "homeAddress", "employmentId", "status",
    "groups", "positions", "hiddenFields",
}  # fmt: skip
#: Present only on the users who have them (see `emulators.data.hierarchy`).
HUMA_OPTIONAL_KEYS = {"preferredName", "supervisor"}
ENTRA_USER_KEYS = {
    "id", "userPrincipalName", "mail", "displayName", "givenName", "surname", "mailNickname",
    "mobilePhone", "businessPhones", "streetAddress", "postalCode", "city", "country",
    "usageLocation", "employeeId", "employeeHireDate", "jobTitle", "accountEnabled", "userType",
    "onPremisesSyncEnabled", "createdDateTime",
}  # fmt: skip
PHONE_FORMATS = {
    "NO": r"\+47 [49]\d\d \d\d \d{3}",
    "SE": r"\+46 7\d \d{3} \d\d \d\d",
    "DK": r"\+45 \d\d \d\d \d\d \d\d",
    "FI": r"\+358 4\d \d{3} \d{4}",
}
POSTAL_CODES = {"NO": r"\d{4}", "SE": r"\d{3} \d\d", "DK": r"\d{4}", "FI": r"\d{5}"}
UPN_LOCAL_PART = re.compile(r"[A-Za-z0-9'.\-_!#^~]+")
USERS = 3_000


@pytest.fixture(scope="module")
def world() -> World:
    return generate_world(users=USERS, seed=23)


def _digest(world: World) -> str:
    return hashlib.sha256(
        orjson.dumps(world.huma) + orjson.dumps(world.entra) + orjson.dumps(world.manifest)
    ).hexdigest()


def test_same_arguments_give_the_same_bytes_in_any_process() -> None:
    script = (
        "import hashlib, orjson; from emulators.data import generate_world; "
        "w = generate_world(users=400, seed=9); "
        "print(hashlib.sha256(orjson.dumps(w.huma) + orjson.dumps(w.entra)"
        " + orjson.dumps(w.manifest)).hexdigest())"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    other_process = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True
    )

    here = _digest(generate_world(users=400, seed=9))
    assert here == _digest(generate_world(users=400, seed=9)) == other_process.stdout.strip()
    assert here != _digest(generate_world(users=400, seed=10))
    assert here != _digest(generate_world(users=400, seed=9, drift=Drift.none()))


def test_write_world_writes_the_generated_documents(tmp_path: Path) -> None:
    directory = tmp_path / "state" / "emulators"

    huma_path, entra_path = write_world(directory, users=200, seed=4)

    world = generate_world(users=200, seed=4)
    assert (huma_path, entra_path) == (
        directory / "huma-state.json",
        directory / "entra-state.json",
    )
    assert orjson.loads(huma_path.read_bytes()) == world.huma
    assert orjson.loads(entra_path.read_bytes()) == world.entra
    assert orjson.loads((directory / "manifest.json").read_bytes()) == world.manifest
    assert sorted(p.name for p in directory.iterdir()) == [
        "entra-state.json", "huma-state.json", "manifest.json"
    ]  # fmt: skip


def test_huma_state_has_the_documented_shape(world: World) -> None:
    huma = world.huma
    groups = {g["id"]: g["type"] for g in huma["groups"]}
    titles = {t["id"] for t in huma["jobTitles"]}

    assert huma["format"] == "huma-emulator/1"
    assert set(huma["organization"]) == {"id", "name"}
    assert [set(k) for k in huma["apiKeys"]] == [{"clientId", "clientSecret", "active"}]
    assert huma["groups"][0]["type"] == "company"
    assert set(groups.values()) == {"company", "location", "team"}
    for user in huma["users"]:
        assert HUMA_USER_KEYS <= set(user) <= HUMA_USER_KEYS | HUMA_OPTIONAL_KEYS
        assert set(user["homeAddress"]) == {
            "line1",
            "line2",
            "line3",
            "postalCode",
            "city",
            "country",
        }
        assert set(user["status"]) == {"active", "deactivatedAt"}
        assert user["groups"][0] == huma["groups"][0]["id"]
        kinds = Counter(groups[g] for g in user["groups"])
        assert kinds["company"] == 1
        assert kinds["location"] <= 1
        assert kinds["team"] <= 2
        assert len(current_positions(user)) == 1
        for position in user["positions"]:
            assert position["titleId"] in titles
            assert position["contractType"] in CONTRACT_TYPES
            assert 0 < position["percentage"] <= 100


def test_entra_state_has_one_tenant_with_a_consented_app(world: World) -> None:
    (tenant,) = world.entra["tenants"]
    (app,) = tenant["applications"]
    (secret,) = app["secrets"]

    assert world.entra["format"] == "entra-emulator/1"
    assert [d["isVerified"] for d in tenant["domains"]] == [True, True]
    assert tenant["domains"][1]["id"].endswith(".onmicrosoft.com")
    assert app["grantedPermissions"] == ["User.ReadWrite.All"]
    assert len(secret["secretText"]) == 40
    assert secret["endDateTime"] >= "2030-01-01"
    assert all(set(user) == ENTRA_USER_KEYS for user in tenant["users"])


def _repeated(values: list[str | None]) -> set[str]:
    counts = Counter(v.casefold() for v in values if v is not None)
    return {value for value, count in counts.items() if count > 1}


@pytest.mark.parametrize(
    ("field", "duplicates"),
    [
        pytest.param("email", "duplicate:email", id="email"),
        pytest.param("phone", "duplicate:phone", id="phone"),
        pytest.param("employmentId", "duplicate:employment_id", id="employment-id"),
    ],
)
def test_huma_keys_repeat_only_where_the_manifest_says(world: World, field, duplicates) -> None:
    users = {u["id"]: u for u in world.huma["users"]}
    deliberate = {users[i][field].casefold() for i in world.manifest[duplicates]}

    assert _repeated([u[field] for u in users.values()]) == deliberate != set()


def test_ids_are_unique_version_4_uuids_and_entra_names_unique(world: World) -> None:
    entra = entra_users(world)
    huma = world.huma["users"]
    ids = [u["id"] for u in huma + entra] + [p["id"] for u in huma for p in u["positions"]]

    assert _repeated(ids) == set()
    assert all(str(uuid.UUID(i)) == i and uuid.UUID(i).version == 4 for i in ids)
    assert _repeated([u["userPrincipalName"] for u in entra]) == set()
    assert _repeated([u["mail"] for u in entra]) == set()


def test_entra_users_keep_graphs_limits(world: World) -> None:
    tenant = world.entra["tenants"][0]
    company_domain, initial_domain = (d["id"] for d in tenant["domains"])
    for user in tenant["users"]:
        local, _, domain = user["userPrincipalName"].rpartition("@")
        assert UPN_LOCAL_PART.fullmatch(local), user["userPrincipalName"]
        assert user["mail"].isascii()
        assert len(user["employeeId"] or "") <= 16
        assert len(user["givenName"]) <= 64
        assert len(user["surname"]) <= 64
        assert user["displayName"] == f"{user['givenName']} {user['surname']}"
        assert len(user["mailNickname"]) <= 64
        if user["userType"] == "Guest":
            assert domain == initial_domain
            assert user["mailNickname"] == local
            assert local == user["mail"].replace("@", "_") + "#EXT#"
        else:
            assert domain.lower() == company_domain
            assert user["mailNickname"] == local
            assert user["usageLocation"] in PHONE_FORMATS
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT00:00:00Z", user["employeeHireDate"])


def test_people_look_nordic(world: World) -> None:
    shared_phones = set(world.manifest["duplicate:phone"])  # the second holder's is the first's
    for user in world.huma["users"]:
        country = user["homeAddress"]["country"]
        assert country in PHONE_FORMATS
        assert re.fullmatch(POSTAL_CODES[country], user["homeAddress"]["postalCode"])
        assert user["email"].isascii()
        assert user["email"] == user["email"].lower()
        if user["phone"] is not None and user["id"] not in shared_phones:
            assert re.fullmatch(PHONE_FORMATS[country], user["phone"])
    names = "".join(u["givenName"] + u["familyName"] for u in world.huma["users"])
    assert set("æøåäö-") <= set(names.lower())
    assert world.manifest["name:apostrophe"]
    assert world.manifest["positions:ended"]
    assert world.manifest["positions:upcoming"]


@pytest.mark.parametrize(
    ("given", "family", "local_part"),
    [
        pytest.param("Bjørn", "Sæther", "bjorn.saether", id="norwegian"),
        pytest.param("Märta", "Åkesson", "marta.akesson", id="swedish"),
        pytest.param("Søren", "Østergaard", "soren.ostergaard", id="danish"),
        pytest.param("Väinö", "Hämäläinen", "vaino.hamalainen", id="finnish"),
        pytest.param("Marja-Liisa", "O'Brien", "marja-liisa.o'brien", id="hyphen-apostrophe"),
        pytest.param("Zoë", "Wiśniewski", "zoe.wisniewski", id="other-accents"),
    ],
)
def test_email_addresses_are_made_ascii(given: str, family: str, local_part: str) -> None:
    assert email_local_part(given, family) == local_part

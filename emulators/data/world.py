"""Generate a world (both emulators' state and the manifest of its drift) and write it to files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from emulators.core import cyclic_gc_paused
from emulators.data.apply import deal_drift
from emulators.data.company import make_company
from emulators.data.documents import entra_guest, entra_member, huma_user
from emulators.data.drift import MANIFEST_KEYS, Drift
from emulators.data.hierarchy import Organisation, organise
from emulators.data.people import PeopleFactory, Person
from emulators.data.randomness import stream

HUMA_STATE_FILE = "huma-state.json"
ENTRA_STATE_FILE = "entra-state.json"
MANIFEST_FILE = "manifest.json"


@dataclass(frozen=True)
class World:
    """Both systems' state and what drifts in them.

    Attributes:
        huma: a complete `huma-state.json` document.
        entra: a complete `entra-state.json` document (one tenant).
        manifest: per key of `emulators.data.drift.MANIFEST_KEYS` (every key present), the people
            concerned: their Huma id, or their Entra object id when they are not in Huma.
            `duplicate:*` lists come in pairs (holder, second holder).
    """

    huma: dict[str, Any]
    entra: dict[str, Any]
    manifest: dict[str, list[str]]


def generate_world(*, users: int, seed: int, drift: Drift | None = None) -> World:
    """The world of `users` people made from `seed`, with `drift` (default: `Drift()`).

    The same arguments give the same world, byte for byte once serialised.

    Raises:
        ValueError: when `users` is negative or the shares need more people than there are.
    """
    if users < 0:
        raise ValueError(f"users must not be negative, got {users}")
    drift = Drift() if drift is None else drift
    with cyclic_gc_paused():
        return _generate(users, seed, drift)


def _generate(users: int, seed: int, drift: Drift) -> World:
    streams = {
        aspect: stream(seed, aspect)
        for aspect in ("company", "people", "ids", "phones", "numbers", "drift")
    }
    company = make_company(streams["company"])
    factory = PeopleFactory(company, streams)
    people = [factory.person() for _ in range(users)]
    dealt = deal_drift(people, drift, factory, streams["drift"])
    # Its own stream, drawn last: the fields before it are what they were without it.
    organisation = organise(people, company, stream(seed, "organisation"))

    huma = {
        "format": "huma-emulator/1",
        "organization": company.huma_organization,
        "apiKeys": company.huma_api_keys,
        "groups": company.huma_groups,
        "jobTitles": company.huma_job_titles,
        "users": [
            _with_organisation(huma_user(p, company), organisation) for p in people if p.in_huma
        ],
    }
    tenant = company.entra_tenant
    tenant["users"] = [
        entra_guest(p, company) if p.guest else entra_member(p) for p in people if p.in_entra
    ]
    entra = {"format": "entra-emulator/1", "tenants": [tenant]}
    return World(huma=huma, entra=entra, manifest=_manifest(people, dealt))


def _with_organisation(user: dict[str, Any], organisation: Organisation) -> dict[str, Any]:
    """The Huma user with their preferred name and supervisor, when they have them."""
    preferred = organisation.preferred_names.get(user["id"])
    if preferred is not None:
        user["preferredName"] = preferred
    supervisor = organisation.supervisors.get(user["id"])
    if supervisor is not None:
        user["supervisor"] = supervisor
    return user


def _manifest(people: list[Person], dealt: dict[str, list[Person]]) -> dict[str, list[str]]:
    baseline = {
        "positions:ended": [p for p in people if p.in_huma and p.positions[0] is not p.current],
        "positions:upcoming": [p for p in people if p.in_huma and p.positions[-1] is not p.current],
        "name:apostrophe": [p for p in people if "'" in p.family],
    }
    concerned = dealt | baseline
    return {key: [_manifest_id(p) for p in concerned[key]] for key in MANIFEST_KEYS}


def _manifest_id(p: Person) -> str:
    return p.huma_id if p.in_huma else p.entra_id


def write_world(
    directory: Path, *, users: int, seed: int, drift: Drift | None = None
) -> tuple[Path, Path]:
    """Generate a world and write `huma-state.json`, `entra-state.json` and `manifest.json`.

    Each file appears whole or not at all (written beside, then renamed); `directory` is made
    when missing.

    Returns:
        The paths of the Huma and the Entra state files.
    """
    world = generate_world(users=users, seed=seed, drift=drift)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, document in (
        (HUMA_STATE_FILE, world.huma),
        (ENTRA_STATE_FILE, world.entra),
        (MANIFEST_FILE, world.manifest),
    ):
        path = directory / name
        partial = path.with_name(f".{name}.partial")
        partial.write_bytes(orjson.dumps(document))
        partial.replace(path)
        paths.append(path)
    return paths[0], paths[1]

"""A deterministic, seeded generator of the two emulators' state: Nordic people in Huma and in
Entra ID, mostly in sync, with controlled drift and a manifest of who drifts how.

    from emulators.data import Drift, generate_world, write_world

    world = generate_world(users=1_000, seed=7)                 # realistic drift (`Drift()`)
    world = generate_world(users=1_000, seed=7, drift=Drift.none())  # perfectly in sync
    huma_path, entra_path = write_world(Path("var/emulators"), users=1_000, seed=7)

The drift categories, their defaults and the manifest keys are described in `emulators/README.md`
("Generated worlds") and in `emulators.data.drift`.
"""

from emulators.data.drift import MANIFEST_KEYS, Drift
from emulators.data.world import World, generate_world, write_world

__all__ = ["MANIFEST_KEYS", "Drift", "World", "generate_world", "write_world"]

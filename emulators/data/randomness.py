"""Seeded randomness for the world generator: named streams, UUIDs, secrets and calendar dates.

Nothing here reads the clock or the operating system's entropy: the same seed gives the same
world on any machine, in any process, on any day.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import random
import string
from collections.abc import Iterator, Mapping, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")

#: The "now" of every generated world: histories end before it, secrets expire years after it.
REFERENCE_DATE = dt.date(2026, 1, 1)
#: Application secrets of generated tenants expire then (a fixed date, so the output is stable).
SECRET_EXPIRY = "2030-12-31T00:00:00Z"  # noqa: S105 - a date, not a secret

# The variant nibble of an RFC 4122 UUID keeps the two low bits of the drawn nibble under `10`.
_VARIANT = {d: "89ab"[int(d, 16) & 3] for d in "0123456789abcdef"}
_VERSION_4 = bytes(b & 0x0F | 0x40 for b in range(256))
_VARIANT_RFC_4122 = bytes(b & 0x3F | 0x80 for b in range(256))
# Where each of a UUID's 32 hex digits goes in its 36-character spelling (8-4-4-4-12).
_UUID_PLACES = [i + (i >= 8) + (i >= 12) + (i >= 16) + (i >= 20) for i in range(32)]
_SECRET_ALPHABET = string.ascii_letters + string.digits + "_-.~"
_EPOCH = dt.date(1995, 1, 1).toordinal()
_ISO_DATES = [dt.date.fromordinal(_EPOCH + i).isoformat() for i in range(40 * 366)]
_MIDNIGHTS = [f"{date}T00:00:00Z" for date in _ISO_DATES]


def stream(seed: int, aspect: str) -> random.Random:
    """The random generator of one `aspect` of the world of `seed`.

    Aspects draw from separate streams, so that (for instance) changing a drift share does not
    reshuffle everyone's names. Seeding with a string is stable across processes: `random` hashes
    it with SHA-512, not with the salted `hash()`.
    """
    return random.Random(f"huma-entra-world/{seed}/{aspect}")


def new_uuid(rng: random.Random) -> str:
    """`str(uuid.UUID(int=rng.getrandbits(128), version=4))`, about twice as fast."""
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:]}"


class UuidSource:
    """Version-4 UUIDs from `rng`, made a few thousand at a time (the bulk of a world's ids).

    The n-th is `str(uuid.UUID(bytes=<the n-th 16 bytes of rng.randbytes>, version=4))`,
    spelled with byte-string slicing, which costs a fifth of making `uuid.UUID` objects.
    """

    def __init__(self, rng: random.Random, batch: int = 4096) -> None:
        self._rng, self._batch = rng, batch
        self._next: Iterator[str] = iter(())

    def __call__(self) -> str:
        try:
            return next(self._next)
        except StopIteration:
            self._next = iter(self._make_batch())
            return next(self._next)

    def _make_batch(self) -> list[str]:
        count = self._batch
        raw = bytearray(self._rng.randbytes(16 * count))
        raw[6::16] = raw[6::16].translate(_VERSION_4)
        raw[8::16] = raw[8::16].translate(_VARIANT_RFC_4122)
        digits = raw.hex().encode("ascii")
        text = bytearray(b"-" * (36 * count))
        for digit, place in enumerate(_UUID_PLACES):
            text[place::36] = digits[digit::32]
        spelled = text.decode("ascii")
        return [spelled[i : i + 36] for i in range(0, 36 * count, 36)]


class Weighted(Generic[T]):
    """Draws from `choices` in proportion to their weights, with one lookup per draw.

    The weights are rounded to `resolution` equal slots (a choice whose weight falls below one
    slot may never be drawn): five times cheaper per draw than `random.choices`.
    """

    def __init__(
        self, choices: Mapping[T, float] | Sequence[tuple[T, float]], resolution: int = 4096
    ) -> None:
        pairs = list(choices.items()) if isinstance(choices, Mapping) else list(choices)
        total = sum(weight for _, weight in pairs)
        bounds = list(itertools.accumulate(weight / total for _, weight in pairs))
        last = len(pairs) - 1
        self._slots = tuple(
            pairs[min(bisect.bisect(bounds, (i + 0.5) / resolution), last)][0]
            for i in range(resolution)
        )
        self._resolution = resolution

    def draw(self, rng: random.Random) -> T:
        return self._slots[int(rng.random() * self._resolution)]


def client_secret_text(rng: random.Random) -> str:
    """A 40-character secret shaped like the ones Entra shows once (`xxx8Q~` and 34 more)."""
    head = "".join(rng.choices(_SECRET_ALPHABET, k=3))
    return f"{head}8Q~{''.join(rng.choices(_SECRET_ALPHABET, k=34))}"


def iso_date(day: int) -> str:
    """`YYYY-MM-DD` of the proleptic Gregorian ordinal `day` (cached: called millions of times)."""
    offset = day - _EPOCH
    if 0 <= offset < len(_ISO_DATES):
        return _ISO_DATES[offset]
    return dt.date.fromordinal(day).isoformat()


def iso_midnight(day: int) -> str:
    """`YYYY-MM-DDT00:00:00Z` of the ordinal `day`: how Graph spells a date (`employeeHireDate`)."""
    offset = day - _EPOCH
    if 0 <= offset < len(_MIDNIGHTS):
        return _MIDNIGHTS[offset]
    return f"{dt.date.fromordinal(day).isoformat()}T00:00:00Z"


def iso_instant(day: int, seconds: int) -> str:
    """`YYYY-MM-DDTHH:MM:SSZ`, `seconds` after midnight UTC of `day`."""
    hours, rest = divmod(seconds, 3600)
    return f"{iso_date(day)}T{hours:02d}:{rest // 60:02d}:{rest % 60:02d}Z"


def recent_day(rng: random.Random, first: int, last: int) -> int:
    """A day in `first`..`last`, more likely near `last` (companies grow; recent hires abound)."""
    return first + int((last - first + 1) * rng.random() ** 0.6)

"""Emulated time, so a test can live through a 150-second throttling window in a second or two.

Everything an emulator measures in windows (throttling budgets, token lifetimes) runs on
`Clock.now()`, which advances `scale` times faster than real time. Everything an emulator tells a
client to wait (`Retry-After`, `expires_in`) is converted back to real seconds with `to_real`,
because clients live in real time. Timestamps shown in payloads (`date`, `deactivatedAt`) stay on
the real wall clock.

A frozen clock stands still until `advance` moves it: a test that must see a budget run out and
come back then does not depend on how fast the machine answers its requests, and does not wait.
"""

from __future__ import annotations

import math
import threading
import time


class Clock:
    """A monotonic clock that runs `scale` times faster than real time, or stands still."""

    def __init__(self, scale: float = 1.0, *, frozen: bool = False) -> None:
        if scale <= 0:
            raise ValueError(f"time scale must be positive, got {scale}")
        self._lock = threading.Lock()
        self._scale = scale
        self._frozen = frozen
        self._anchor_real = time.monotonic()
        self._anchor_emulated = 0.0
        self._moved_on = 0.0

    @property
    def scale(self) -> float:
        return self._scale

    @scale.setter
    def scale(self, scale: float) -> None:
        if scale <= 0:
            raise ValueError(f"time scale must be positive, got {scale}")
        with self._lock:
            self._reanchor()
            self._scale = scale

    @property
    def frozen(self) -> bool:
        """Whether emulated time stands still (it then moves only by `advance`)."""
        return self._frozen

    @frozen.setter
    def frozen(self, frozen: bool) -> None:
        with self._lock:
            self._reanchor()
            self._frozen = frozen

    def now(self) -> float:
        """Emulated seconds since the clock started."""
        with self._lock:
            return self._now_locked()

    def advance(self, real_seconds: float) -> float:
        """Move emulated time on as if `real_seconds` had passed; returns the new `now()`.

        Seconds are real ones, the unit clients are told to wait in (`Retry-After`), so a test can
        pass on exactly what the emulator told its client.
        """
        if real_seconds < 0:
            raise ValueError(f"the clock only moves forward, got {real_seconds} seconds")
        with self._lock:
            self._anchor_emulated += real_seconds * self._scale
            self._moved_on += real_seconds
            return self._now_locked()

    @property
    def moved_on(self) -> float:
        """The real seconds `advance` has added in all: what a wall clock of the emulated world
        (a token's `exp`, in real Unix time) is ahead of the machine's."""
        with self._lock:
            return self._moved_on

    def _reanchor(self) -> None:
        # Emulated time stays continuous across a change of scale or of frozenness.
        self._anchor_emulated = self._now_locked()
        self._anchor_real = time.monotonic()

    def _now_locked(self) -> float:
        if self._frozen:
            return self._anchor_emulated
        return self._anchor_emulated + (time.monotonic() - self._anchor_real) * self._scale

    def to_real(self, emulated_seconds: float) -> float:
        """How many real seconds `emulated_seconds` take."""
        return emulated_seconds / self._scale

    def retry_after_header(self, emulated_seconds: float) -> str:
        """A `Retry-After` value in whole real seconds (HTTP allows no fractions), at least 1."""
        return str(max(1, math.ceil(self.to_real(emulated_seconds))))

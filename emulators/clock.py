"""Emulated time, so a test can live through a 150-second throttling window in a second or two.

Everything an emulator measures in windows (throttling budgets, token lifetimes) runs on
`Clock.now()`, which advances `scale` times faster than real time. Everything an emulator tells a
client to wait (`Retry-After`, `expires_in`) is converted back to real seconds with `to_real`,
because clients live in real time. Timestamps shown in payloads (`date`, `deactivatedAt`) stay on
the real wall clock.
"""

from __future__ import annotations

import math
import threading
import time


class Clock:
    """A monotonic clock that runs `scale` times faster than real time."""

    def __init__(self, scale: float = 1.0) -> None:
        if scale <= 0:
            raise ValueError(f"time scale must be positive, got {scale}")
        self._lock = threading.Lock()
        self._scale = scale
        self._anchor_real = time.monotonic()
        self._anchor_emulated = 0.0

    @property
    def scale(self) -> float:
        return self._scale

    @scale.setter
    def scale(self, scale: float) -> None:
        if scale <= 0:
            raise ValueError(f"time scale must be positive, got {scale}")
        with self._lock:
            # Re-anchor so that emulated time stays continuous across the change.
            self._anchor_emulated = self._now_locked()
            self._anchor_real = time.monotonic()
            self._scale = scale

    def now(self) -> float:
        """Emulated seconds since the clock started."""
        with self._lock:
            return self._now_locked()

    def _now_locked(self) -> float:
        return self._anchor_emulated + (time.monotonic() - self._anchor_real) * self._scale

    def to_real(self, emulated_seconds: float) -> float:
        """How many real seconds `emulated_seconds` take."""
        return emulated_seconds / self._scale

    def retry_after_header(self, emulated_seconds: float) -> str:
        """A `Retry-After` value in whole real seconds (HTTP allows no fractions), at least 1."""
        return str(max(1, math.ceil(self.to_real(emulated_seconds))))

"""Run-time settings of an emulator: fault injection, time scale, token lifetime.

Settings are plain dataclasses so they can be given at start (`--settings '{"faults": {...}}'`) and
changed while running (`PATCH /_emulator/settings` with the same JSON shape). `apply_changes`
validates every key and type, so a typo in a test fails loudly instead of silently doing nothing.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any, Literal

DropPhase = Literal["before", "after", "either"]


@dataclasses.dataclass
class FaultSettings:
    """What share of API requests goes wrong, and how.

    Rates are probabilities in [0, 1] drawn per request (per sub-request inside a Graph `$batch`).
    At most one of throttle, error and drop applies to a request; slowness adds to any of them.
    """

    #: Share of requests answered 429 with `Retry-After`, whatever the budget says.
    throttle_rate: float = 0.0
    #: The `Retry-After` of an injected 429, in emulated seconds.
    throttle_retry_after: float = 2.0
    #: Share of requests answered with one of `error_statuses`.
    error_rate: float = 0.0
    error_statuses: tuple[int, ...] = (500, 502, 503, 504)
    #: Share of requests delayed by `slow_seconds` (real seconds) before they are answered.
    slow_rate: float = 0.0
    slow_seconds: float = 1.0
    #: Share of connections dropped mid-response. "before": the request is not processed;
    #: "after": it is processed and the answer is lost (the case that makes blind retries unsafe).
    drop_rate: float = 0.0
    drop_phase: DropPhase = "either"
    #: Whether faults also hit the token endpoints (off by default: most tests target the API).
    include_auth: bool = False
    #: Seed of the fault dice; None draws a fresh seed at start.
    seed: int | None = None
    #: Once this many write requests (any method but GET and HEAD; a Graph `$batch` counts once)
    #: went through after the setting was last changed, hold every further API request: it is
    #: not processed, and waits until its client goes away, or is dropped unanswered when the
    #: setting is lifted. None: never hold. Lets a test stop a client at a known point.
    hold_after_writes: int | None = None


@dataclasses.dataclass
class EmulatorSettings:
    """Settings every emulator has; an emulator may subclass it to add its own sections."""

    #: Emulated time runs this many times faster than real time (see `emulators.clock`).
    time_scale: float = 1.0
    #: Emulated time stands still and moves only by `POST /_emulator/clock/advance`.
    time_frozen: bool = False
    #: Lifetime of issued access tokens, in emulated seconds.
    token_lifetime_seconds: float = 3599.0
    faults: FaultSettings = dataclasses.field(default_factory=FaultSettings)


def apply_changes(target: Any, changes: Mapping[str, Any], *, path: str = "") -> None:
    """Apply a nested mapping of changes to a settings dataclass in place.

    Raises:
        ValueError: on an unknown key or a value of the wrong type; nothing is changed then.
    """
    staged: list[tuple[Any, str, Any]] = []
    _stage(target, changes, path, staged)
    for obj, name, value in staged:
        setattr(obj, name, value)


def _stage(target: Any, changes: Mapping[str, Any], path: str, staged: list) -> None:
    fields = {f.name: f for f in dataclasses.fields(target)}
    hints = typing.get_type_hints(type(target))
    for key, value in changes.items():
        where = f"{path}{key}"
        if key not in fields:
            known = ", ".join(sorted(fields))
            raise ValueError(f"unknown setting {where!r}; known here: {known}")
        current = getattr(target, key)
        if dataclasses.is_dataclass(current):
            if not isinstance(value, Mapping):
                raise ValueError(f"setting {where!r} takes an object")
            _stage(current, value, f"{where}.", staged)
            continue
        staged.append((target, key, _coerce(hints[key], value, where)))


def _coerce(hint: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _coerce(inner[0], value, where)
    if origin is Literal:
        if value not in args:
            raise ValueError(f"setting {where!r} must be one of {list(args)}, got {value!r}")
        return value
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise ValueError(f"setting {where!r} takes a list")
        return tuple(_coerce(args[0], item, where) for item in value)
    if hint is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if (
        isinstance(hint, type)
        and isinstance(value, hint)
        and not (hint is int and isinstance(value, bool))
    ):
        return value
    raise ValueError(f"setting {where!r} takes {getattr(hint, '__name__', hint)}, got {value!r}")


def settings_to_dict(settings: Any) -> dict[str, Any]:
    """The JSON shape of a settings dataclass (tuples as lists)."""
    return dataclasses.asdict(
        settings, dict_factory=lambda items: {k: _jsonable(v) for k, v in items}
    )


def _jsonable(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value

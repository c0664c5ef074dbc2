"""Keep secrets out of the history: request bodies lose their passwords and tokens.

A Graph create carries the new user's first password (`passwordProfile.password`, SPEC §6);
nothing else the apply step journals should hold a secret, but the journal is read by analysts,
so the text value of any key that names a secret is masked before a body is stored, wherever
it is nested (a flag such as `forceChangePasswordNextSignIn` is not a secret and stays).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

REDACTED: Final = "<redacted>"
_SECRET_WORDS: Final = ("password", "secret", "token", "authorization", "assertion", "apikey")


def _secret_key(key: str) -> bool:
    folded = key.casefold().replace("_", "").replace("-", "")
    return any(word in folded for word in _SECRET_WORDS)


def _masked(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {
            key: (REDACTED if _secret_key(str(key)) and isinstance(item, str) else _masked(item))
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_masked(item) for item in value]
    return value


def json_text(value: str | Mapping[str, Any] | list[Any] | None) -> str | None:
    """A body as JSON text with every secret-named key masked.

    Args:
        value: A mapping or list (dumped with sorted keys), JSON text, or None.

    Returns:
        The JSON text to store, or None.
    """
    if value is None:
        return None
    if isinstance(value, str):
        if not any(word in value.casefold() for word in _SECRET_WORDS):
            return value  # the common case: nothing to mask, no parse needed
        try:
            value = json.loads(value)
        except ValueError:
            return REDACTED  # not JSON, and it mentions a secret: keep none of it
    return json.dumps(_masked(value), sort_keys=True, ensure_ascii=False, default=str)

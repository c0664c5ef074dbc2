"""What Graph requests and answers look like inside the emulator, top-level and in `$batch`."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

#: The Content-Type Graph gives its JSON answers.
GRAPH_JSON = (
    "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;"
    "charset=utf-8"
)


@dataclasses.dataclass
class GraphRequest:
    """One Graph call: `path` is below `/v1.0` (e.g. `/users/abc`), `params` percent-decoded."""

    method: str
    path: str
    params: dict[str, str]
    headers: Mapping[str, str]  # lower-case names
    body: Any  # parsed JSON, or None
    #: `https://host:port/v1.0`, for `@odata.context` and `@odata.nextLink`.
    base_url: str
    #: The raw query string, for the request log.
    query: str = ""
    #: Whether the body failed to parse as JSON.
    bad_json: bool = False

    def header(self, name: str) -> str | None:
        return self.headers.get(name)


@dataclasses.dataclass
class GraphResponse:
    """One answer: a JSON payload (dict, may hold `orjson.Fragment`s) or raw text, or nothing."""

    status: int
    payload: Any = None
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    text: str | None = None

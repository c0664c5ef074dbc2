"""Declared settings: the pydantic pieces the policy and the connections file are validated with.

A setting is declared once, with its type and, through `expect`, the words its error uses
("must be true or false"); `refuse_unknown` names every key a section does not declare, so a
typo never silently falls back to a default; `problems` turns a `ValidationError` into one
sentence per problem, the place first (`huma: client_id (or client_id_env) is required`), never
pydantic's own wording.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

from pydantic import ValidationError, ValidationInfo, WrapValidator
from pydantic_core import ArgsKwargs, PydanticCustomError

#: The error type of a setting whose value has the wrong type or range (`expect`).
SETTING_ERROR: Final = "setting"
#: The error type of a problem with a whole section (unknown keys, a pair given twice): its place
#: is the section itself, not one of its fields.
SECTION_ERROR: Final = "section"


def expect(expected: str) -> WrapValidator:
    """A setting's validation, reworded: any failure becomes `<field> must be <expected>, not
    <value>`.

    Args:
        expected: What the setting takes, e.g. `a whole number from 1 to 64`.
    """

    def reworded(value: Any, handler: Callable[[Any], Any], info: ValidationInfo) -> Any:
        try:
            return handler(value)
        except ValidationError:
            raise PydanticCustomError(
                SETTING_ERROR,
                "{field} must be {expected}, not {value}",
                {"field": info.field_name, "expected": expected, "value": repr(value)},
            ) from None

    return WrapValidator(reworded)


def section_error(message: str) -> PydanticCustomError:
    """An error about a whole section; `message` is the sentence shown after its place."""
    return PydanticCustomError(SECTION_ERROR, "{message}", {"message": message})


def refuse_unknown(data: Any, known: Iterable[str], *, what: str = "keys") -> Any:
    """`data` as it came, once every key in it is `known`; for a model's before-validator.

    Raises:
        PydanticCustomError: a section error naming the unknown keys and the known ones.
    """
    given = (data.kwargs or {}) if isinstance(data, ArgsKwargs) else data
    if not isinstance(given, Mapping):
        raise section_error("expected a mapping")
    unknown = sorted(set(given) - set(known), key=str)
    if unknown:
        raise section_error(f"unknown {what} {unknown}; known: {sorted(known)}")
    return data


def problems(error: ValidationError, where: str | None = None) -> str:
    """One sentence per problem (`; `-separated), its place first: `where`, then the sections.

    Our own sentences (`expect`, section errors, a validator's `ValueError`) name their setting;
    pydantic's are kept only where a structural problem has no sentence of ours.
    """
    sentences = []
    for item in error.errors(include_url=False):
        loc = [str(part) for part in item["loc"]]
        kind = item["type"]
        if kind == SECTION_ERROR:
            place, text = loc, item["msg"]
        elif kind == SETTING_ERROR:
            place, text = loc[:-1], item["msg"]
        elif kind == "value_error":
            place, text = loc[:-1], str(item["ctx"]["error"])
        elif kind == "missing":
            place, text = loc[:-1], f"{loc[-1]} is required"
        elif kind in ("extra_forbidden", "unexpected_keyword_argument"):
            place, text = loc[:-1], f"unknown key {loc[-1]!r}"
        else:
            place, text = loc[:-1], f"{loc[-1] if loc else 'value'}: {item['msg']}"
        place = [where, *place] if where else place
        sentences.append(f"{', '.join(place)}: {text}" if place else text)
    return "; ".join(sentences)

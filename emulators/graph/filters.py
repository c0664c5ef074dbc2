"""`$filter` on users: a small OData parser and evaluator with Graph's rules for directory objects.

Supported: `eq`, `ne`, `ge`, `le`, `in (...)`, `startsWith(p,'x')`, `endsWith(p,'x')`, `not`,
`and`, `or`, parentheses; string literals in single quotes with `''` for a quote; `true`,
`false`, `null`; unquoted date-times for date properties. String comparisons ignore case, as
Entra's do. `ne`, `not`, `endsWith` and `eq null` are "advanced queries": Graph refuses them
unless the request has `ConsistencyLevel: eventual` and `$count=true`.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime
from typing import Any

from emulators.graph import schema
from emulators.graph.errors import bad_request

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<open>\()|(?P<close>\))|(?P<comma>,)"
    r"|(?P<dt>\d{4}-\d\d-\d\dT[0-9:.]+(?:Z|[+-]\d\d:\d\d)?)|(?P<num>-?\d+(?:\.\d+)?)"
    r"|(?P<word>[A-Za-z_$][A-Za-z0-9_/.$]*))"
)
_COMPARISONS = {"eq", "ne", "ge", "le", "gt", "lt"}
_ADVANCED_COMPARISONS = {"ne", "gt", "lt"}
_BOOLEANS = {"accountEnabled", "onPremisesSyncEnabled", "showInAddressList"}
_DATES = {"employeeHireDate", "createdDateTime", "employeeLeaveDateTime"}
#: Properties Graph lets `$filter` use on users (per the user resource page's table).
FILTERABLE = (
    {"id", "userPrincipalName", "mail", "employeeId", "givenName", "surname", "displayName"}
    | {"jobTitle", "mailNickname", "mobilePhone", "city", "country", "postalCode", "state"}
    | {"streetAddress", "usageLocation", "userType", "department", "companyName", "employeeType"}
    | {"officeLocation", "preferredLanguage", "onPremisesImmutableId"}
    | _BOOLEANS
    | _DATES
)
MAX_OR_CLAUSES = 15
INDEXED = {"id", "userPrincipalName", "mail"}


NULL: Any = None


@dataclasses.dataclass(frozen=True)
class Condition:
    """A compiled filter: `test(user)`, what it needs, and index keys if it is a pure lookup."""

    test: Any
    advanced: str | None  # the first advanced operator used, if any
    or_clauses: int
    lookup: tuple[str, tuple[str, ...]] | None  # (indexed property, values) when eq/in on one


def _invalid(text: str, why: str):
    return bad_request(f"Invalid filter clause: {why}", code="BadRequest")


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        while pos < len(text):
            if text[pos:].strip() == "":
                break
            m = _TOKEN.match(text, pos)
            if m is None or m.end() == pos:
                raise _invalid(text, f"Syntax error at position {pos} in '{text}'.")
            kind = m.lastgroup
            self.tokens.append((kind, m.group(kind)))
            pos = m.end()
        self.i = 0
        self.advanced: str | None = None
        self.or_clauses = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, kind: str | None = None, word: str | None = None) -> str:
        tok = self.peek()
        if tok is None or (kind and tok[0] != kind) or (word and tok[1].lower() != word):
            raise _invalid(self.text, f"Syntax error at position {self.i} in '{self.text}'.")
        self.i += 1
        return tok[1]

    def at_word(self, word: str) -> bool:
        tok = self.peek()
        return tok is not None and tok[0] == "word" and tok[1].lower() == word

    def parse(self):
        node = self.or_expr()
        if self.peek() is not None:
            raise _invalid(self.text, f"Syntax error at position {self.i} in '{self.text}'.")
        return node

    def or_expr(self):
        node = self.and_expr()
        while self.at_word("or"):
            self.take()
            self.or_clauses += 1
            node = ("or", node, self.and_expr())
        return node

    def and_expr(self):
        node = self.unary()
        while self.at_word("and"):
            self.take()
            node = ("and", node, self.unary())
        return node

    def unary(self):
        if self.at_word("not"):
            self.take()
            self.advanced = self.advanced or "not"
            return ("not", self.unary())
        if self.peek() == ("open", "("):
            self.take()
            node = self.or_expr()
            self.take("close")
            return node
        return self.predicate()

    def predicate(self):
        name = self.take("word")
        if name.lower() in ("startswith", "endswith"):
            func = "startsWith" if name.lower() == "startswith" else "endsWith"
            if func == "endsWith":
                self.advanced = self.advanced or "endsWith"
            self.take("open")
            prop = self.property(self.take("word"), func)
            self.take("comma")
            value = self.literal(prop)
            self.take("close")
            return (func, prop, value)
        prop = self.property(name, "eq")
        op = self.take("word").lower()
        if op == "in":
            self.take("open")
            values = [self.literal(prop)]
            while self.peek() == ("comma", ","):
                self.take()
                values.append(self.literal(prop))
            self.take("close")
            self.or_clauses += len(values) - 1
            return ("in", prop, values)
        if op not in _COMPARISONS:
            raise _invalid(self.text, f"Syntax error at position {self.i} in '{self.text}'.")
        value = self.literal(prop)
        if op in _ADVANCED_COMPARISONS or (value is NULL and op == "eq"):
            self.advanced = self.advanced or op
        return (op, prop, value)

    def property(self, name: str, op: str) -> str:
        canonical = schema.CANONICAL.get(name.lower())
        if canonical is None:
            raise _invalid(
                self.text,
                f"Could not find a property named '{name}' on type 'microsoft.graph.user'.",
            )
        if canonical not in FILTERABLE:
            raise bad_request(
                f"Unsupported or invalid query filter clause specified for property "
                f"'{canonical}' of resource 'User'.",
                code="Request_UnsupportedQuery",
            )
        return canonical

    def literal(self, prop: str) -> Any:
        kind, text = self.tokens[self.i] if self.i < len(self.tokens) else ("", "")
        self.i += 1
        if kind == "word" and text in ("true", "false"):
            value: Any = text == "true"
        elif kind == "word" and text == "null":
            return NULL
        elif kind == "str":
            value = text[1:-1].replace("''", "'")
        elif kind == "dt":
            value = _moment(text)
        else:
            raise _invalid(self.text, f"Syntax error at position {self.i} in '{self.text}'.")
        expected = (
            "Edm.Boolean"
            if prop in _BOOLEANS
            else ("Edm.DateTimeOffset" if prop in _DATES else "Edm.String")
        )
        found = {bool: "Edm.Boolean", str: "Edm.String", datetime: "Edm.DateTimeOffset"}[
            type(value)
        ]
        if found != expected:
            raise _invalid(
                self.text,
                "A binary operator with incompatible types was detected. Found operand types "
                f"'{expected}' and '{found}' for operator kind 'Equal'.",
            )
        return value.lower() if isinstance(value, str) else value


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _value(user: dict[str, Any], prop: str) -> Any:
    value = user.get(prop)
    if isinstance(value, str):
        return _moment(value) if prop in _DATES else value.lower()
    return value


def _compile(node) -> Any:
    kind = node[0]
    if kind in ("and", "or"):
        left, right = _compile(node[1]), _compile(node[2])
        if kind == "and":
            return lambda u: left(u) and right(u)
        return lambda u: left(u) or right(u)
    if kind == "not":
        inner = _compile(node[1])
        return lambda u: not inner(u)
    _, prop, value = node
    if kind == "in":
        values = set(value)
        return lambda u: _value(u, prop) in values
    if kind == "startsWith":
        return lambda u: isinstance(v := _value(u, prop), str) and v.startswith(value)
    if kind == "endsWith":
        return lambda u: isinstance(v := _value(u, prop), str) and v.endswith(value)
    compare = {
        "eq": lambda a, b: a == b,
        "ne": lambda a, b: a != b,
        "ge": lambda a, b: a is not None and a >= b,
        "le": lambda a, b: a is not None and a <= b,
        "gt": lambda a, b: a is not None and a > b,
        "lt": lambda a, b: a is not None and a < b,
    }[kind]
    return lambda u: compare(_value(u, prop), value)


def compile_filter(text: str) -> Condition:
    """Parse and compile a `$filter` value (already percent-decoded).

    Raises:
        GraphError: 400 for syntax errors, unknown or unfilterable properties, wrong types.
    """
    parser = _Parser(text)
    tree = parser.parse()
    lookup = None
    if tree[0] in ("eq", "in") and tree[1] in INDEXED and tree[2] is not NULL:
        values = tuple(tree[2]) if tree[0] == "in" else (tree[2],)
        lookup = (tree[1], values)
    return Condition(_compile(tree), parser.advanced, parser.or_clauses, lookup)

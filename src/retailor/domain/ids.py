"""What an identifier may hold: the ids clients send (events, customers, catalog items,
orders, stores, sessions) and the ids of definitions (placements, offers, segments).

A client id is 1 to 256 characters with at least one that is not blank, and none that is
invisible or changes how text around it reads: control characters (a trailing newline
included), format characters (zero-width spaces and joiners, bidirectional overrides, the
byte order mark), line and paragraph separators, and lone surrogates. Such ids look equal
to other ids on every screen while they are not, or break the files and logs they reach.

The refused characters are written out as ranges so that the pattern works in Python and
in the JSON Schema of the OpenAPI document alike; ``tests/unit/test_ids.py`` checks them
against Unicode's categories Cc, Cf, Cs, Zl and Zp. The pattern of the type (and so of the
OpenAPI document) leaves the lone surrogates (Cs) out: validators that read text as
Unicode scalar values, as JSON Schema tools written in Rust or Go do, cannot compile a
surrogate range at all, and no text the server reads holds one (the JSON decoder refuses
them, the YAML reader too, URL paths are decoded with replacement characters).
:func:`id_problem` refuses them all the same.

Definitions (placements, offers, segments) have ids of their own, which are also their file
names in the embedded default: :data:`DefinitionId`. Structs with client id fields derive from
:class:`IdChecked`, which checks them as they are decoded.
"""

from __future__ import annotations

import re
import typing
from typing import Annotated

import msgspec
from msgspec import Meta, Struct

MAX_ID_LENGTH = 256

#: Code point ranges of the categories Cc, Cf, Cs, Zl and Zp (Unicode 14).
REFUSED_RANGES: tuple[tuple[int, int], ...] = (
    (0x0000, 0x001F), (0x007F, 0x009F), (0x00AD, 0x00AD), (0x0600, 0x0605),
    (0x061C, 0x061C), (0x06DD, 0x06DD), (0x070F, 0x070F), (0x0890, 0x0891),
    (0x08E2, 0x08E2), (0x180E, 0x180E), (0x200B, 0x200F), (0x2028, 0x202E),
    (0x2060, 0x2064), (0x2066, 0x206F), (0xD800, 0xDFFF), (0xFEFF, 0xFEFF),
    (0xFFF9, 0xFFFB), (0x110BD, 0x110BD), (0x110CD, 0x110CD), (0x13430, 0x13438),
    (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A), (0xE0001, 0xE0001), (0xE0020, 0xE007F),
)  # fmt: skip


def _char(code: int) -> str:
    # escapes that Python's re and ECMA-262 (JSON Schema) read alike; code points above
    # the BMP as themselves, which both read as one character in a Unicode pattern
    return f"\\u{code:04x}" if code <= 0xFFFF else chr(code)


#: Everything that is not a Unicode scalar value: lone surrogates.
SURROGATES = (0xD800, 0xDFFF)
#: The end of the text: ``$`` would let a trailing newline through in Python.
END = "(?![\\s\\S])"


def _id_pattern(ranges: tuple[tuple[int, int], ...]) -> str:
    """One visible character at least, none refused, up to the end of the text."""
    refused = "".join(
        _char(low) if low == high else f"{_char(low)}-{_char(high)}" for low, high in ranges
    )
    return f"^[^{refused}]*[^{refused}\\s][^{refused}]*{END}"


#: The pattern of the type and the document: every refused range but the surrogates.
ID_PATTERN = _id_pattern(tuple(r for r in REFUSED_RANGES if r != SURROGATES))
_ID = re.compile(_id_pattern(REFUSED_RANGES))

#: A client id. The characters are checked by :class:`IdChecked` (a regular expression
#: per field costs msgspec about 0.8 µs; ``str.isprintable`` decides almost every id in
#: tens of nanoseconds); the pattern is given to the JSON Schema for clients to read.
Identifier = Annotated[
    str,
    Meta(min_length=1, max_length=MAX_ID_LENGTH, extra_json_schema={"pattern": ID_PATTERN}),
]

MAX_DEFINITION_ID_LENGTH = 128
#: A letter or digit, then letters, digits, dots, dashes and underscores: a file name on
#: every system, never hidden, never a path.
DEFINITION_ID_PATTERN = f"^[A-Za-z0-9][A-Za-z0-9_.-]*{END}"
DEFINITION_ID_RULE = "1-128 letters, digits, '.', '-', '_' (the first a letter or digit)"
DefinitionId = Annotated[
    str,
    Meta(min_length=1, max_length=MAX_DEFINITION_ID_LENGTH, pattern=DEFINITION_ID_PATTERN),
]
_DEFINITION_ID = re.compile(DEFINITION_ID_PATTERN)


def definition_id_problem(kind: str, value: str) -> str | None:
    """Why ``value`` cannot be the id of a ``kind`` definition, or None when it can.

    >>> definition_id_problem("offer", "spring-10") is None
    True
    >>> definition_id_problem("offer", "../x")
    "invalid offer id '../x': use 1-128 letters, digits, '.', '-', '_' (the first a letter or digit)"
    """
    if len(value) <= MAX_DEFINITION_ID_LENGTH and _DEFINITION_ID.search(value):
        return None
    return f"invalid {kind} id {value!r}: use {DEFINITION_ID_RULE}"


def id_problem(value: str) -> str | None:
    """Why ``value`` cannot be a client id, or None when it can.

    >>> id_problem("sku-1") is None
    True
    >>> id_problem("sku-1\\n")
    'ids may not hold control or invisible format characters (U+000A at 5)'
    >>> id_problem("   ")
    'ids may not be blank'
    """
    if not value:
        return "ids may not be empty"
    if len(value) > MAX_ID_LENGTH:
        return f"ids have at most {MAX_ID_LENGTH} characters"
    if value.isprintable():  # no character of a category C or Z but the ASCII space
        return None if value.strip(" ") else "ids may not be blank"
    if _ID.match(value):
        return None
    for position, char in enumerate(value):
        if _refused(ord(char)):
            return (
                "ids may not hold control or invisible format characters "
                f"(U+{ord(char):04X} at {position})"
            )
    return "ids may not be blank"


def _refused(code: int) -> bool:
    return any(low <= code <= high for low, high in REFUSED_RANGES)


class InvalidIdError(ValueError):
    """A definition id outside the rule of :func:`check_definition_id`."""


def check_definition_id(kind: str, value: str) -> str:
    """``value`` when it is a valid id of a ``kind`` definition, else :class:`InvalidIdError`
    saying what is allowed.

    >>> check_definition_id("segment", "loyal-buyers")
    'loyal-buyers'
    """
    problem = definition_id_problem(kind, value)
    if problem is not None:
        raise InvalidIdError(problem)
    return value


class IdFields(Struct):
    """A base for structs with :data:`Identifier` fields: :meth:`id_problem` finds the
    first id, here or in a nested struct, that :func:`id_problem` refuses. Whoever decodes
    such a struct calls it (events: ``EventValidator``, which skips it for JSON text that
    cannot hold a refused character), or the struct derives from :class:`IdChecked`."""

    def id_problem(self) -> str | None:
        """``"field: why"`` for the first refused id, or None."""
        for name in _ID_FIELDS.get(type(self)) or _id_fields(type(self)):
            value = getattr(self, name)
            # the common case inline: printable, not only spaces (types check the length)
            if value is not None and not (value.isprintable() and value.strip(" ")):
                problem = id_problem(value)
                if problem is not None:
                    return f"{name}: {problem}"
        for name in _NESTED.get(type(self), ()):
            value = getattr(self, name)
            for part in value if isinstance(value, list) else (value,):
                problem = part.id_problem() if isinstance(part, IdFields) else None
                if problem is not None:
                    return f"{name}: {problem}"
        return None


class IdChecked(IdFields):
    """An :class:`IdFields` struct that checks its ids as it is decoded (msgspec turns the
    error into a ``ValidationError`` that says where)."""

    def __post_init__(self) -> None:
        problem = self.id_problem()
        if problem is not None:
            raise ValueError(problem)


_ID_FIELDS: dict[type, tuple[str, ...]] = {}
_NESTED: dict[type, tuple[str, ...]] = {}


def _id_fields(kind: type) -> tuple[str, ...]:
    """The names of ``kind``'s fields typed :data:`Identifier` (or an optional one), and
    (kept in ``_NESTED``) of its fields that may hold further :class:`IdFields` structs."""
    ids: list[str] = []
    nested: list[str] = []
    for field in msgspec.structs.fields(kind):
        if field.type == Identifier or Identifier in typing.get_args(field.type):
            ids.append(field.name)
        elif _holds_id_fields(field.type):
            nested.append(field.name)
    _NESTED[kind] = tuple(nested)
    _ID_FIELDS[kind] = found = tuple(ids)
    return found


def _holds_id_fields(tp: object) -> bool:
    if isinstance(tp, type) and issubclass(tp, IdFields):
        return True
    return any(_holds_id_fields(arg) for arg in typing.get_args(tp))

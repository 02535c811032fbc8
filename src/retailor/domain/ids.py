"""What an identifier may hold: the ids clients send (events, customers, catalog items,
orders, stores, sessions) and the ids of definitions kept as files.

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

Definitions kept as files (placements, offers, segments) have ids of their own, which are
also their file names: :data:`DefinitionId`.
"""

from __future__ import annotations

import re
from typing import Annotated

from msgspec import Meta

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

Identifier = Annotated[str, Meta(min_length=1, max_length=MAX_ID_LENGTH, pattern=ID_PATTERN)]

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


_PATTERN_ERROR = re.compile(r"Expected `str` matching regex '[^']*'")
ID_RULE = "an id: 1-256 characters, not blank, with no control or invisible format characters"


def explain(message: str) -> str:
    """A validation message with the id pattern, which means nothing to a reader, said in
    words.

    >>> explain("Expected `str` matching regex '^[^x]+' - at `$.item_id`")
    'Expected an id: 1-256 characters, not blank, with no control or invisible format characters - at `$.item_id`'
    """
    return _PATTERN_ERROR.sub(f"Expected {ID_RULE}", message)

"""Splitting a JSON body into the raw text of its members without decoding them, so that
one broken member of a batch costs only itself.

A batch is decoded whole when it can be (the fast path). When that fails — one event holds
a lone surrogate escape, ``NaN``, a number too large for a float, invalid UTF-8 or lists
nested a thousand levels deep — the body is split here instead: only strings and brackets
are followed, so whatever is wrong inside a member stays inside it, for the member's own
decoder to reject with a reason. A body whose brackets or strings do not balance cannot be
split, and :class:`UnsplittableError` says so.

>>> object_members(b'{"events": [{"a": 1}, {"b": NaN}], "x": 2}')
{'events': b'[{"a": 1}, {"b": NaN}]', 'x': b'2'}
>>> array_items(b'[{"a": 1}, {"b": NaN}]')
[b'{"a": 1}', b'{"b": NaN}']
"""

from __future__ import annotations

import re

import msgspec

# a whole string (escapes included), a lone quote (an unterminated string), or a bracket,
# comma or colon; everything else is skipped
_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|"|[\[\]{},:]', re.DOTALL)
_KEY = re.compile(rb'\s*("(?:[^"\\]|\\.)*")\s*:', re.DOTALL)
_OPENING = frozenset(b"[{")
_CLOSING = frozenset(b"]}")
_COMMA = ord(",")
_QUOTE = ord('"')
_WHITESPACE = b" \t\r\n"


class UnsplittableError(ValueError):
    """The text's strings or brackets do not balance, so its members cannot be told apart."""


def _members(text: bytes, opening: int, closing: int, kind: str) -> list[bytes]:
    """The raw members of the array or object ``text`` (its outer brackets included)."""
    body = text.strip(_WHITESPACE)
    if not body or body[0] != opening:
        raise UnsplittableError(f"expected a JSON {kind}")
    members: list[bytes] = []
    depth = 0
    start = 1
    end = -1
    for match in _TOKENS.finditer(body):
        token = match.group()
        first = token[0]
        if first == _QUOTE:
            if len(token) == 1:
                raise UnsplittableError(f"a string that never ends, at byte {match.start()}")
            continue
        if first in _OPENING:
            depth += 1
        elif first in _CLOSING:
            depth -= 1
            if depth == 0:
                end = match.start()
                break
        elif first == _COMMA and depth == 1:
            members.append(body[start : match.start()].strip(_WHITESPACE))
            start = match.end()
    if end < 0 or body[end] != closing:
        raise UnsplittableError(f"the {kind}'s brackets do not balance")
    if body[end + 1 :].strip(_WHITESPACE):
        raise UnsplittableError(f"text after the end of the {kind}")
    last = body[start:end].strip(_WHITESPACE)
    if last or members:
        members.append(last)
    return members


def array_items(text: bytes) -> list[bytes]:
    """The raw items of the JSON array ``text``, each stripped of surrounding blanks (an
    empty item where two commas meet, for its decoder to reject)."""
    return _members(text, ord("["), ord("]"), "array")


def object_members(text: bytes) -> dict[str, bytes]:
    """The raw values of the JSON object ``text`` by key (the last of a repeated key wins,
    as in a decoder). Keys must be valid strings; values may be anything that balances."""
    out: dict[str, bytes] = {}
    for member in _members(text, ord("{"), ord("}"), "object"):
        match = _KEY.match(member)
        if match is None:
            raise UnsplittableError("an object member without a string key and a colon")
        try:
            key = msgspec.json.decode(match.group(1), type=str)
        except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError) as exc:
            raise UnsplittableError(f"a key that is not a valid string: {exc}") from None
        out[key] = member[match.end() :].strip(_WHITESPACE)
    return out


def batch_items(text: bytes, key: str) -> list[bytes]:
    """The raw items of a batch ``{key: [...]}`` that has no other member."""
    members = object_members(text)
    if set(members) != {key}:
        raise UnsplittableError(f'a batch is {{"{key}": [...]}} and nothing else')
    return array_items(members[key])


def malformed_reason(error: Exception) -> str:
    """What to tell the sender of a body that did not decode and could not be split."""
    if isinstance(error, RecursionError):
        return "the body nests lists and objects too deeply"
    return f"the body is not valid JSON: {error}"


def id_member(text: bytes, *keys: str) -> str | None:
    """The first of ``keys`` that the JSON object ``text`` holds as a string or an integer,
    read without decoding the rest of the object (which may be broken); None otherwise.

    >>> id_member(b'{"event_id": "e-1", "properties": {"x": NaN}}', "event_id")
    'e-1'
    """
    try:
        members = object_members(text)
    except UnsplittableError:
        return None
    for key in keys:
        if key in members:
            try:
                value = msgspec.json.decode(members[key], type=str | int)
            except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError):
                continue
            return str(value)
    return None

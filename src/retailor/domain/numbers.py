"""JSON numbers as JSON Schema reads them: ``8.0`` is the integer 8.

JSON has one kind of number, and the ``integer`` of JSON Schema (so of the OpenAPI
document) is any number without a fractional part, however it is written. msgspec reads
``8.0`` as a float and refuses it where a type wants an ``int``; :func:`convert` and
:func:`decode` take it as the integer it is there, and only there (a float field or free
form data keeps its ``8.0``). Anything else an ``int`` refuses (``8.5``, ``"8"``, ``true``)
is still refused.
"""

from __future__ import annotations

import re
from typing import Any, TypeVar

import msgspec

T = TypeVar("T")

_WANTS_INT = re.compile(r"Expected `int[^`]*`, got `float` - at `\$((?:\.\w+|\[\d+\])*)`$")
_STEP = re.compile(r"\.(\w+)|\[(\d+)\]")


def convert(data: Any, kind: type[T]) -> T:
    """``msgspec.convert(data, kind, strict=True)``, but taking a float without a
    fractional part where ``kind`` wants an int (``data`` is changed in place there).

    >>> class Page(msgspec.Struct):
    ...     limit: int
    >>> convert({"limit": 8.0}, Page)
    Page(limit=8)
    """
    while True:
        try:
            return msgspec.convert(data, kind, strict=True)
        except msgspec.ValidationError as exc:
            data = _whole_where_wanted(data, exc)


def decode(decoder: msgspec.json.Decoder[T], body: bytes, kind: type[T]) -> T:
    """``decoder.decode(body)`` (a decoder of ``kind``), but taking a float without a
    fractional part where ``kind`` wants an int."""
    try:
        return decoder.decode(body)
    except msgspec.ValidationError as exc:
        if not _WANTS_INT.search(str(exc)):
            raise
    return convert(msgspec.json.decode(body), kind)


def _whole_where_wanted(data: Any, exc: msgspec.ValidationError) -> Any:
    """``data`` with the float ``exc`` refuses as an int made an int, or ``exc`` raised
    when that is not what it refuses (or the float has a fractional part)."""
    found = _WANTS_INT.search(str(exc))
    if found is None:
        raise exc
    steps: list[str | int] = [
        name if name else int(index) for name, index in _STEP.findall(found.group(1))
    ]
    if not steps:
        return _whole(data, exc)
    parent = data
    try:
        for step in steps[:-1]:
            parent = parent[step]
        parent[steps[-1]] = _whole(parent[steps[-1]], exc)
    except (KeyError, IndexError, TypeError):
        raise exc from None
    return data


def _whole(value: Any, exc: msgspec.ValidationError) -> int:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise exc

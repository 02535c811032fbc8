"""How deeply free-form data may nest: event properties and context, catalog attributes and
definitions. Readers and writers of JSON recurse, so data nested hundreds of levels deep
would exhaust the stack wherever it went next; it is refused where it comes in, with the
path to the first container past the limit. The walk is iterative, so any depth is safe to
look at.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

_CONTAINERS = (dict, list, tuple, set, frozenset)
#: Free-form data sent with events and catalog items (no retail payload needs more).
MAX_NESTING = 32


def child_path(path: str, key: Any) -> str:
    """The path of ``key`` under ``path``: ``$.a``, ``$[0]``, ``$['a b']``."""
    if isinstance(key, int) and not isinstance(key, bool):
        return f"{path}[{key}]"
    if isinstance(key, str) and key.isidentifier():
        return f"{path}.{key}"
    return f"{path}[{key!r}]"


def walk(value: Any, path: str = "$") -> Iterator[tuple[Any, str, int]]:
    """Every value inside ``value`` (itself first) with its path and depth (0 for
    ``value``); mapping keys are not visited on their own."""
    stack: list[tuple[Any, str, int]] = [(value, path, 0)]
    while stack:
        item, where, depth = stack.pop()
        yield item, where, depth
        if isinstance(item, dict):
            stack.extend((v, child_path(where, k), depth + 1) for k, v in item.items())
        elif isinstance(item, list | tuple):
            stack.extend((v, child_path(where, i), depth + 1) for i, v in enumerate(item))
        elif isinstance(item, set | frozenset):
            stack.extend((v, f"{where}[]", depth + 1) for v in item)


def too_deep(value: Any, limit: int, path: str = "$") -> str | None:
    """The path of the first list or mapping nested ``limit`` or more levels below
    ``value``, or None when there is none.

    >>> too_deep({"a": {"b": [1]}}, 2, "properties")
    'properties.a.b'
    >>> too_deep({"a": {"b": 1}}, 2) is None
    True
    """
    if _depth_below(value, limit):
        return None
    for item, where, depth in walk(value, path):
        if depth >= limit and isinstance(item, dict | list | tuple | set | frozenset):
            return where
    return None


def _depth_below(value: Any, limit: int) -> bool:
    """Whether no list or mapping sits ``limit`` or more levels below ``value``: a walk of
    the containers alone, without paths (the common case, so it is kept lean)."""
    stack: list[tuple[Any, int]] = [(value, 0)] if isinstance(value, _CONTAINERS) else []
    while stack:
        item, depth = stack.pop()
        if depth >= limit:
            return False
        children = item.values() if isinstance(item, dict) else item
        for child in children:
            if isinstance(child, _CONTAINERS):
                stack.append((child, depth + 1))
    return True


def surely_shallow(raw: bytes, limit: int) -> bool:
    """True when JSON text ``raw`` cannot nest ``limit`` levels: it opens fewer lists and
    objects than that in all (a test at C speed that spares the walk for most payloads)."""
    return raw.count(b"{") + raw.count(b"[") < limit

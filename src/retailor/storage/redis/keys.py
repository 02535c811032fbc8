"""Finding keys by a pattern, as erasures need: ``SCAN`` with ``MATCH`` (never ``KEYS``,
which blocks the server while it walks every key), with the literal parts of a pattern
escaped so that a ``*`` or ``[`` inside a namespace or an id matches only itself."""

from __future__ import annotations

import re
from collections.abc import Iterator

from retailor.storage.redis.connection import State

#: Keys asked for per ``SCAN`` step, and removed per command.
BATCH = 500

_GLOB = re.compile(r"([\\*?\[\]])")


def literal(text: str) -> str:
    """``text`` as a ``MATCH`` pattern that matches only itself."""
    return _GLOB.sub(r"\\\1", text)


def scan(state: State, pattern: str, what: str) -> Iterator[list[bytes]]:
    """The keys matching ``pattern``, in batches of about ``BATCH`` (each ``SCAN`` step
    counted as a round trip of ``what``). A key that exists during the whole scan is
    given at least once; one given twice is harmless to remove twice."""
    cursor = 0
    while True:
        state.count_trip(what)
        with state.guard():
            cursor, found = state.client.scan(cursor=cursor, match=pattern, count=BATCH)
        if found:
            yield [k if isinstance(k, bytes) else k.encode() for k in found]
        if cursor == 0:
            return


def delete_matching(state: State, pattern: str, what: str) -> int:
    """Remove every key matching ``pattern``; how many were removed."""
    removed = 0
    for keys in scan(state, pattern, what):
        state.count_trip(what)
        with state.guard():
            removed += int(state.client.delete(*keys))
    return removed

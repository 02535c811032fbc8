"""Each customer's long-term list — the blend of every trained model for their history —
kept in memory and refreshed behind the requests that read it.

A decision reads the list of its customer from memory; a list older than ``ttl`` or made
by models that have since been replaced is still served once while a background thread
recomputes it (stale while revalidate), so a retrain or a busy hour never puts the blend's
milliseconds on the request path. Only a customer met for the first time is computed in
the request. Session intent is not part of this list: placements add it with the
real-time sources (``viewed_similar``, ``session``, ``recently_viewed``).

When workers share hot state, a list computed by one worker is also put in the shared
cache under the customer and the versions of the models that made it, for ``ttl``: a
worker meeting that customer for the first time (a new worker, or another one the load
balancer picked) takes it from there instead of computing it. Lists made by models that
are not registered versions (fitted at start) are not shared.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable

import msgspec

from retailor.models.base import Context, Scored
from retailor.models.errors import NotTrainedError
from retailor.models.serving import ModelService
from retailor.storage.hot import HotCache

log = logging.getLogger("retailor.decisions")
#: How many items a list keeps (a request asking for more is computed on the spot).
LIST_SIZE = 60
REFRESH_SECONDS = 300.0
Entry = list[tuple[str, float, str]]  # item, score, reason
_encode_list = msgspec.msgpack.Encoder().encode
_decode_list = msgspec.msgpack.Decoder(tuple[str, list[tuple[str, float, str]]]).decode


class PersonalLists:
    """Lists by customer key (None: strangers), refreshed in the background; thread-safe."""

    def __init__(
        self,
        models: ModelService,
        reason: Callable[[str, Scored], str],
        *,
        ttl: float = REFRESH_SECONDS,
        size: int = 500_000,
        background: bool = True,
        shared: HotCache | None = None,
    ) -> None:
        self.models = models
        self.shared = shared
        self.reason = reason
        self.ttl = ttl
        self.size = size
        self._entries: OrderedDict[str | None, tuple[int, float, str, Entry]] = OrderedDict()
        self._pending: OrderedDict[str | None, None] = OrderedDict()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if background:
            self._thread = threading.Thread(target=self._run, name="retailor-personal", daemon=True)
            self._thread.start()

    def get(self, who: str | None, n: int) -> tuple[str, Entry]:
        """The model that answered and the customer's best ``n`` items with their reasons."""
        if n > LIST_SIZE:
            return self._compute(who, n)
        with self._lock:
            entry = self._entries.get(who)
        if entry is None:
            generation = self.models.generation
            key = self._shared_key(who)
            found = self._shared_list(key)
            if found is not None:
                used, items = found
                self._store(who, used, items, generation)
                return used, items[:n]
            used, items = self._compute(who, LIST_SIZE)
            self._store(who, used, items, generation, key)
            return used, items[:n]
        generation, at, used, items = entry
        if generation != self.models.generation or time.monotonic() - at > self.ttl:
            self.refresh([who])
        return used, items[:n]

    def refresh(self, keys: Iterable[str | None]) -> None:
        """Recompute these lists in the background (each at most once while queued)."""
        with self._lock:
            for key in keys:
                self._pending[key] = None
        self._wake.set()

    def _compute(self, who: str | None, n: int) -> tuple[str, Entry]:
        try:
            used, answer = self.models.recommend("blend", who, Context(), n)
        except NotTrainedError:  # nothing trained and no live model yet
            return "none", []
        return used, [(s.item_id, s.score, self.reason(used, s)) for s in answer]

    def _shared_key(self, who: str | None) -> str | None:
        """The key of this customer's list in the shared cache under the models loaded
        now, or None when lists are not shared (no cache, or a model not registered)."""
        if self.shared is None:
            return None
        versions = self.models.snapshot().versions
        if not versions or any(v is None for v in versions.values()):
            return None
        made_by = ",".join(f"{name}:{version}" for name, version in sorted(versions.items()))
        return f"{made_by}|{who or ''}"

    def _shared_list(self, key: str | None) -> tuple[str, Entry] | None:
        if key is None or self.shared is None:
            return None
        found = self.shared.get("personal", key)
        if found is None:
            return None
        used, items = _decode_list(found)
        return used, [(item, score, reason) for item, score, reason in items]

    def _store(
        self, who: str | None, used: str, items: Entry, generation: int, key: str | None = None
    ) -> None:
        """Keep a list stamped with the model generation read before computing it (and
        share it under ``key``)."""
        if key is not None and self.shared is not None:
            self.shared.put("personal", key, _encode_list((used, items)), self.ttl)
        with self._lock:
            self._entries[who] = (generation, time.monotonic(), used, items)
            self._entries.move_to_end(who)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(1.0)
            self._wake.clear()
            while not self._stop.is_set():
                with self._lock:
                    if not self._pending:
                        break
                    who, _ = self._pending.popitem(last=False)
                generation = self.models.generation
                try:
                    key = self._shared_key(who)
                    used, items = self._compute(who, LIST_SIZE)
                    self._store(who, used, items, generation, key)
                except Exception:
                    log.exception("could not refresh the personal list of %s", who)
                    continue
                time.sleep(0)  # let requests run between two lists

    def forget(self) -> None:
        """Drop every list held and queued (an erasure: they are computed again)."""
        with self._lock:
            self._entries.clear()
            self._pending.clear()

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __len__(self) -> int:
        return len(self._entries)

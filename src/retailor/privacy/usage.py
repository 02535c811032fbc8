"""When API keys were last used: noted on every request that authenticates, written to the
key store at most once a minute per key by this process (never a write per request), on a
worker thread the caller provides (never the event loop: the store may be a database)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from retailor.storage.base import KeyStore
from retailor.storage.errors import StorageUnavailableError

log = logging.getLogger(__name__)

#: Seconds between two writes of one key's last use by one process.
WRITE_EVERY_SECONDS = 60.0


class KeyUsage:
    """The last uses of keys not yet written (see the module docstring)."""

    def __init__(
        self,
        keys: KeyStore,
        every_seconds: float = WRITE_EVERY_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._keys = keys
        self._every = every_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._noted: dict[str, float] = {}  # key id -> when its last use was last taken
        self._pending: dict[str, datetime] = {}
        self._flushing = False

    def seen(self, key_id: str) -> bool:
        """Note a use of ``key_id`` now. True when the caller should run :meth:`flush` on a
        worker thread (a write is due and no flush is running)."""
        moment = self._clock()
        with self._lock:
            last = self._noted.get(key_id)
            if last is not None and moment - last < self._every:
                return False
            self._noted[key_id] = moment
            self._pending[key_id] = datetime.now(UTC)
            if self._flushing:
                return False  # the running flush takes it too
            self._flushing = True
            return True

    def flush(self) -> None:
        """Write every pending last use (blocking: the store may be a database). A write
        that fails is dropped with a warning: a last-used time is not worth a retry loop."""
        while True:
            with self._lock:
                batch, self._pending = self._pending, {}
                if not batch:
                    self._flushing = False
                    return
            try:
                self._keys.touch(batch)
            except (StorageUnavailableError, OSError) as exc:
                log.warning("the last use of %d API key(s) was not recorded: %s", len(batch), exc)
            except Exception:
                log.exception("the last use of %d API key(s) was not recorded", len(batch))

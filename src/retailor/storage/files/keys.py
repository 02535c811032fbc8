"""``KeyStore`` in a JSON file of the data directory, shared safely between processes.

Writers take an exclusive ``flock`` and replace the file atomically; readers reload it
when its modification time or size changes, so ``retailor keys create`` takes effect in
a running server at once. A file written before a key field existed reads with that
field's default.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import msgspec

from retailor.domain.access import ApiKey
from retailor.storage.base import KeyStore
from retailor.storage.permissions import make_private_dir


class FileKeyStore(KeyStore):
    """Keys in ``<dir>/keys.json`` (mode 0600). A key unknown to this process makes it look
    at the file again at once (a key created elsewhere works immediately); known keys are
    rechecked at most every ``recheck_seconds`` (a revocation takes up to that long)."""

    recheck_seconds = 1.0

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock_path = path.with_suffix(".lock")
        self._cache: dict[str, ApiKey] = {}
        self._stamp: tuple[int, int] | None = None
        self._mutex = threading.Lock()
        self._checked = -1e9

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        make_private_dir(self._path.parent)
        with open(self._lock_path, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _read(self) -> list[ApiKey]:
        try:
            data = self._path.read_bytes()
        except FileNotFoundError:
            return []
        return msgspec.json.decode(data, type=list[ApiKey]) if data else []

    def _write(self, keys: list[ApiKey]) -> None:
        tmp = self._path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(msgspec.json.encode(keys))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self._path)

    def _refresh(self, force: bool = False) -> dict[str, ApiKey]:
        now = time.monotonic()
        if not force and now - self._checked < self.recheck_seconds:
            return self._cache
        self._checked = now
        try:
            st = os.stat(self._path)
            stamp: tuple[int, int] | None = (st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            stamp = None
        with self._mutex:
            if stamp != self._stamp:
                self._cache = {k.secret_hash: k for k in self._read()}
                self._stamp = stamp
            return self._cache

    def _modify(
        self, change: Callable[[list[ApiKey]], bool], *, found_is_changed: bool = False
    ) -> bool:
        """Apply ``change`` to the keys under the lock; it says whether it changed any (or,
        with ``found_is_changed``, whether it found its key: the file is then written)."""
        with self._exclusive():
            keys = self._read()
            before = list(keys) if found_is_changed else None
            changed = change(keys)
            if changed and (before is None or before != keys):
                self._write(keys)
                self._checked = -1e9
        return changed

    def add(self, key: ApiKey) -> None:
        def change(keys: list[ApiKey]) -> bool:
            keys.append(key)
            return True

        self._modify(change)

    def find(self, secret_hash: str) -> ApiKey | None:
        found = self._refresh().get(secret_hash)
        if found is None:  # perhaps created a moment ago by another process
            found = self._refresh(force=True).get(secret_hash)
        return found

    def all(self) -> list[ApiKey]:
        return sorted(self._refresh().values(), key=lambda k: k.created_at)

    def revoke(self, key_id: str) -> bool:
        def change(keys: list[ApiKey]) -> bool:
            for i, key in enumerate(keys):
                if key.key_id == key_id:
                    keys[i] = msgspec.structs.replace(key, revoked=True)
                    return True
            return False

        return self._modify(change)

    def expire(self, key_id: str, at: datetime) -> bool:
        def change(keys: list[ApiKey]) -> bool:
            for i, key in enumerate(keys):
                if key.key_id == key_id:
                    if key.expires_at is None or at < key.expires_at:
                        keys[i] = msgspec.structs.replace(key, expires_at=at)
                    return True
            return False

        return self._modify(change, found_is_changed=True)

    def touch(self, used: Mapping[str, datetime]) -> None:
        def change(keys: list[ApiKey]) -> bool:
            changed = False
            for i, key in enumerate(keys):
                at = used.get(key.key_id)
                if at is not None and (key.last_used_at is None or key.last_used_at < at):
                    keys[i] = msgspec.structs.replace(key, last_used_at=at)
                    changed = True
            return changed

        if used:
            self._modify(change)

"""In-memory ``KeyStore``."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import datetime

import msgspec

from retailor.domain.access import ApiKey
from retailor.storage.base import KeyStore


class MemoryKeyStore(KeyStore):
    """Keys in a dict by secret hash."""

    def __init__(self) -> None:
        self._keys: dict[str, ApiKey] = {}
        self._lock = threading.Lock()

    def add(self, key: ApiKey) -> None:
        with self._lock:
            self._keys[key.secret_hash] = key

    def find(self, secret_hash: str) -> ApiKey | None:
        with self._lock:
            return self._keys.get(secret_hash)

    def all(self) -> list[ApiKey]:
        with self._lock:
            return sorted(self._keys.values(), key=lambda k: k.created_at)

    def revoke(self, key_id: str) -> bool:
        with self._lock:
            for hash_, key in self._keys.items():
                if key.key_id == key_id:
                    self._keys[hash_] = msgspec.structs.replace(key, revoked=True)
                    return True
        return False

    def expire(self, key_id: str, at: datetime) -> bool:
        with self._lock:
            for hash_, key in self._keys.items():
                if key.key_id == key_id:
                    if key.expires_at is None or at < key.expires_at:
                        self._keys[hash_] = msgspec.structs.replace(key, expires_at=at)
                    return True
        return False

    def touch(self, used: Mapping[str, datetime]) -> None:
        with self._lock:
            for hash_, key in self._keys.items():
                at = used.get(key.key_id)
                if at is not None and (key.last_used_at is None or key.last_used_at < at):
                    self._keys[hash_] = msgspec.structs.replace(key, last_used_at=at)

"""In-memory ``InstallationStore``: values for the life of the process (tests, throwaway)."""

from __future__ import annotations

import threading

from retailor.storage.base import InstallationStore, check_installation_entry


class MemoryInstallationStore(InstallationStore):
    """Installation values in a dict, behind a lock."""

    def __init__(self) -> None:
        self._values: dict[str, str] = {}
        self._lock = threading.Lock()

    def get(self, name: str) -> str | None:
        check_installation_entry(name)
        with self._lock:
            return self._values.get(name)

    def get_or_create(self, name: str, value: str) -> str:
        check_installation_entry(name, value)
        with self._lock:
            return self._values.setdefault(name, value)

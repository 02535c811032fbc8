"""``InstallationStore`` in the data directory: one private file per value
(``<data>/identity.salt`` for the identity salt), created atomically (written aside, then
linked into place, which fails when another process linked first)."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from retailor.storage.base import InstallationStore, check_installation_entry
from retailor.storage.permissions import make_private_dir


class FileInstallationStore(InstallationStore):
    """Installation values as files of a data directory."""

    def __init__(self, data_dir: Path) -> None:
        self._dir = data_dir

    def get(self, name: str) -> str | None:
        check_installation_entry(name)
        try:
            return (self._dir / name).read_text().strip() or None
        except FileNotFoundError:
            return None

    def get_or_create(self, name: str, value: str) -> str:
        check_installation_entry(name, value)
        held = self.get(name)
        if held is not None:
            return held
        make_private_dir(self._dir)
        aside = self._dir / f".{name}.{secrets.token_hex(4)}.tmp"
        fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(value)
                handle.flush()
                os.fsync(handle.fileno())
            with contextlib.suppress(FileExistsError):  # another process linked first
                os.link(aside, self._dir / name)
        finally:
            aside.unlink(missing_ok=True)
        held = self.get(name)
        assert held is not None
        return held

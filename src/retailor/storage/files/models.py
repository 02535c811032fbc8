"""``ModelRegistry`` as files: ``<dir>/<name>/v<N>.json`` (record), ``v<N>.bin`` (the
fitted model's bytes) and ``<dir>/<name>/active``, and
``last``: the highest version ever given, so that a removed number is not given again."""

from __future__ import annotations

import fcntl
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec

from retailor.storage.base import ModelRecord, ModelRegistry
from retailor.storage.permissions import make_private_dir


class FileModelRegistry(ModelRegistry):
    """Versions as JSON files written atomically; the active version named in a small file."""

    def __init__(self, root: Path) -> None:
        self._root = root

    def _dir(self, name: str) -> Path:
        if not name or "/" in name or name.startswith("."):
            raise ValueError(f"invalid model name {name!r}")
        return self._root / name

    def save(
        self,
        name: str,
        params: dict[str, Any],
        metrics: dict[str, Any],
        *,
        activate: bool = True,
        artifact: bytes | None = None,
    ) -> ModelRecord:
        folder = self._dir(name)
        make_private_dir(folder)
        with open(folder / ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            version = max([_last(folder), *(r.version for r in self.versions(name))]) + 1
            record = ModelRecord(
                name=name,
                version=version,
                created_at=datetime.now(UTC),
                params=params,
                metrics=metrics,
            )
            if artifact is not None:
                _atomic_write(folder / f"v{version}.bin", artifact)
            _atomic_write(folder / f"v{version}.json", msgspec.json.encode(record))
            if activate:
                _atomic_write(folder / "active", str(version).encode())
            _atomic_write(folder / "last", str(version).encode())
        return record

    def delete(self, name: str, version: int) -> bool:
        folder = self._dir(name)
        with open(folder / ".lock", "a") if folder.exists() else open(os.devnull) as lock:
            if folder.exists():
                fcntl.flock(lock, fcntl.LOCK_EX)
            if not (folder / f"v{version}.json").exists():
                return False
            if _last(folder) < version:
                _atomic_write(folder / "last", str(version).encode())
            active = self.active(name)
            if active is not None and active.version == version:
                raise ValueError(f"version {version} of {name!r} is active")
            (folder / f"v{version}.bin").unlink(missing_ok=True)
            (folder / f"v{version}.json").unlink()
        return True

    def active(self, name: str) -> ModelRecord | None:
        folder = self._dir(name)
        try:
            version = int((folder / "active").read_text().strip())
            return msgspec.json.decode((folder / f"v{version}.json").read_bytes(), type=ModelRecord)
        except (FileNotFoundError, ValueError):
            return None

    def artifact(self, name: str, version: int) -> bytes | None:
        try:
            return (self._dir(name) / f"v{version}.bin").read_bytes()
        except FileNotFoundError:
            return None

    def activate(self, name: str, version: int) -> ModelRecord:
        folder = self._dir(name)
        try:
            record = msgspec.json.decode(
                (folder / f"v{version}.json").read_bytes(), type=ModelRecord
            )
        except FileNotFoundError:
            raise KeyError(f"model {name!r} has no version {version}") from None
        with open(folder / ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            _atomic_write(folder / "active", str(version).encode())
        return record

    def versions(self, name: str) -> list[ModelRecord]:
        folder = self._dir(name)
        if not folder.exists():
            return []
        records = [
            msgspec.json.decode(p.read_bytes(), type=ModelRecord) for p in folder.glob("v*.json")
        ]
        return sorted(records, key=lambda r: r.version)

    def names(self) -> list[str]:
        if not self._root.exists():
            return []
        return sorted(p.name for p in self._root.iterdir() if p.is_dir() and any(p.glob("v*.json")))

    def active_versions(self) -> dict[str, int]:
        if not self._root.exists():
            return {}
        found = {}
        for folder in sorted(self._root.iterdir()):
            try:
                found[folder.name] = int((folder / "active").read_text().strip())
            except (FileNotFoundError, NotADirectoryError, ValueError):
                continue
        return found


def _last(folder: Path) -> int:
    """The highest version ever given in ``folder`` (0 when none)."""
    try:
        return int((folder / "last").read_text().strip())
    except (FileNotFoundError, ValueError):
        return 0


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)

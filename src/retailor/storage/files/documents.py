"""Definitions kept as JSON files, ``<dir>/<id>.json`` (placements, offers), written
atomically so the CLI and the server can share a data directory."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import msgspec

from retailor.domain.ids import definition_id_problem
from retailor.storage.permissions import make_private_dir


class InvalidIdError(ValueError):
    """Ids are 1 to 128 letters, digits, dots, dashes and underscores."""


def check_id(kind: str, value: str) -> str:
    """``value`` when it is a valid id, else :class:`InvalidIdError` saying what is allowed."""
    problem = definition_id_problem(kind, value)
    if problem is not None:
        raise InvalidIdError(problem)
    return value


class JsonDocuments:
    """One JSON document per id in a directory."""

    def __init__(self, root: Path, kind: str) -> None:
        self._root = root
        self._kind = kind

    def _path(self, doc_id: str) -> Path:
        return self._root / f"{check_id(self._kind, doc_id)}.json"

    def put(self, doc_id: str, document: Any) -> None:
        path = self._path(doc_id)
        make_private_dir(self._root)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(msgspec.json.encode(document))
        os.replace(tmp, path)

    def get(self, doc_id: str) -> dict[str, Any] | None:
        try:
            data: dict[str, Any] = msgspec.json.decode(self._path(doc_id).read_bytes())
        except FileNotFoundError:
            return None
        return data

    def delete(self, doc_id: str) -> bool:
        try:
            self._path(doc_id).unlink()
        except FileNotFoundError:
            return False
        return True

    def all(self) -> dict[str, dict[str, Any]]:
        if not self._root.exists():
            return {}
        return {
            p.stem: msgspec.json.decode(p.read_bytes())
            for p in sorted(self._root.glob("*.json"))
            if definition_id_problem(self._kind, p.stem) is None
        }

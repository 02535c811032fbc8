"""Segment definitions as files, ``<dir>/<id>.json``, so CLI and server share them."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec

from retailor.domain.ids import definition_id_problem
from retailor.storage.permissions import make_private_dir


class StoredSegment(msgspec.Struct, kw_only=True):
    segment_id: str
    definition: dict[str, Any]
    updated_at: datetime


class InvalidSegmentIdError(ValueError):
    """Segment ids are 1 to 128 letters, digits, dots, dashes and underscores."""


class FileSegmentStore:
    """Definitions of segments, one JSON file each."""

    def __init__(self, root: Path) -> None:
        self._root = root

    def _path(self, segment_id: str) -> Path:
        problem = definition_id_problem("segment", segment_id)
        if problem is not None:
            raise InvalidSegmentIdError(problem)
        return self._root / f"{segment_id}.json"

    def put(self, segment_id: str, definition: dict[str, Any]) -> StoredSegment:
        path = self._path(segment_id)
        make_private_dir(self._root)
        stored = StoredSegment(
            segment_id=segment_id, definition=definition, updated_at=datetime.now(UTC)
        )
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(msgspec.json.encode(stored))
        os.replace(tmp, path)
        return stored

    def get(self, segment_id: str) -> StoredSegment | None:
        try:
            return msgspec.json.decode(self._path(segment_id).read_bytes(), type=StoredSegment)
        except FileNotFoundError:
            return None

    def all(self) -> list[StoredSegment]:
        if not self._root.exists():
            return []
        return sorted(
            (
                msgspec.json.decode(p.read_bytes(), type=StoredSegment)
                for p in self._root.glob("*.json")
            ),
            key=lambda s: s.segment_id,
        )

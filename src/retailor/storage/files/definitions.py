"""``DefinitionStore`` as files of the data directory, so that the CLI and a running
server share them: ``placements/<id>.json`` and ``offers/<id>.json`` hold the document
itself (its ``updated_at`` is the file's modification time), ``segments/<id>.json`` the
document with its id and time (``{"segment_id", "definition", "updated_at"}``).

Every write also appends a line (``{"kind", "id", "op"}``) to ``definitions.journal``: the
revision of a write is the size of the journal once its line is in, so a process learns
what another one changed by reading the journal from the revision it holds, and nothing
more when its size has not moved. Definitions written before the journal existed are at
revision 0. Writers take ``definitions.lock`` exclusively (``flock``) and replace a file
atomically before they append its line; readers take it shared, so that a file and the
journal always agree.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec

from retailor.domain.ids import check_definition_id
from retailor.storage.base import (
    DEFINITION_KINDS,
    DefinitionChanges,
    DefinitionStore,
    StoredDefinition,
    check_kind,
)
from retailor.storage.permissions import PRIVATE_FILE, make_private_dir

log = logging.getLogger(__name__)

#: The folder of each kind, under the data directory.
FOLDERS = {
    "placement": "placements",
    "offer": "offers",
    "segment": "segments",
    "experiment": "experiments",
    "holdout": "holdout",
}
JOURNAL = "definitions.journal"
LOCK = "definitions.lock"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class _SegmentFile(msgspec.Struct, kw_only=True):
    """How a segment definition is kept: the document with its id and time."""

    segment_id: str
    definition: dict[str, Any]
    updated_at: datetime


class _JournalLine(msgspec.Struct, kw_only=True):
    kind: str
    id: str
    op: str


_encode = msgspec.json.Encoder().encode
_decode_line = msgspec.json.Decoder(_JournalLine).decode
_decode_segment = msgspec.json.Decoder(_SegmentFile).decode
_decode_document = msgspec.json.Decoder(dict[str, Any]).decode


class FileDefinitionStore(DefinitionStore):
    """Definitions in the folders of a data directory (see the module docstring)."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self._journal = root / JOURNAL
        self._mutex = threading.Lock()
        #: the revision of the latest journalled write of each (kind, id) read so far
        self._written: dict[tuple[str, str], int] = {}
        self._read_to = 0

    # -- locking and the journal ------------------------------------------------------

    @contextmanager
    def _locked(self, *, exclusive: bool) -> Iterator[None]:
        """Hold the store's lock (and this instance's mutex) for a ``with`` block. A
        reader of a data directory that does not exist yet takes no lock: there is
        nothing to read."""
        with self._mutex:
            if not exclusive and not self._root.exists():
                yield
                return
            make_private_dir(self._root)
            fd = os.open(self._root / LOCK, os.O_RDWR | os.O_CREAT, PRIVATE_FILE)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
                yield
            finally:
                os.close(fd)  # releases the lock

    def _catch_up(self) -> int:
        """Read the journal lines appended since the last call; the current revision.

        Only whole lines count: a line cut short by a crash is skipped. A journal that
        shrank was removed by hand, and is read again from its start."""
        try:
            size = os.stat(self._journal).st_size
        except FileNotFoundError:
            size = 0
        if size < self._read_to:
            self._written.clear()
            self._read_to = 0
        if size > self._read_to:
            with open(self._journal, "rb") as handle:
                handle.seek(self._read_to)
                data = handle.read(size - self._read_to)
            offset = self._read_to
            for line in data[: data.rfind(b"\n") + 1].splitlines(keepends=True):
                offset += len(line)
                try:
                    entry = _decode_line(line)
                except msgspec.DecodeError:
                    continue
                self._written[(entry.kind, entry.id)] = offset
            self._read_to = offset
        return self._read_to

    def _append(self, kind: str, definition_id: str, op: str) -> int:
        """Journal a write (under the exclusive lock); its revision."""
        self._catch_up()
        fd = os.open(self._journal, os.O_RDWR | os.O_APPEND | os.O_CREAT, PRIVATE_FILE)
        try:
            line = _encode(_JournalLine(kind=kind, id=definition_id, op=op)) + b"\n"
            size = os.fstat(fd).st_size
            if size > self._read_to:  # a line cut short by a crash: end it first
                line = b"\n" + line
            os.write(fd, line)
        finally:
            os.close(fd)
        return self._catch_up()

    # -- files --------------------------------------------------------------------------

    def _path(self, kind: str, definition_id: str) -> Path:
        check_kind(kind)
        return self._root / FOLDERS[kind] / f"{check_definition_id(kind, definition_id)}.json"

    def _read(self, kind: str, definition_id: str, path: Path) -> StoredDefinition | None:
        """The definition in ``path``, or None when there is no such file (or it does not
        decode: it is left out, with a warning)."""
        try:
            data = path.read_bytes()
            if kind == "segment":
                segment = _decode_segment(data)
                document, updated_at = segment.definition, segment.updated_at
            else:
                document, updated_at = _decode_document(data), _from_ns(path.stat().st_mtime_ns)
        except FileNotFoundError:
            return None
        except msgspec.DecodeError as exc:
            log.warning("leaving out %s, which does not decode: %s", path, exc)
            return None
        return StoredDefinition(
            kind=kind,
            id=definition_id,
            document=document,
            updated_at=updated_at,
            revision=self._written.get((kind, definition_id), 0),
        )

    def _ids(self, kind: str) -> list[str]:
        folder = self._root / FOLDERS[kind]
        if not folder.exists():
            return []
        found = []
        for path in folder.glob("*.json"):
            try:
                found.append(check_definition_id(kind, path.stem))
            except ValueError:
                continue  # not a definition Retailor wrote
        return sorted(found)

    # -- the port -------------------------------------------------------------------------

    def put(self, kind: str, definition_id: str, document: dict[str, Any]) -> StoredDefinition:
        path = self._path(kind, definition_id)
        updated_at = datetime.now(UTC)
        if kind == "segment":
            data = _encode(
                _SegmentFile(segment_id=definition_id, definition=document, updated_at=updated_at)
            )
        else:
            data = _encode(document)
        with self._locked(exclusive=True):
            make_private_dir(path.parent)
            _replace(path, data, _to_ns(updated_at))
            revision = self._append(kind, definition_id, "put")
        return StoredDefinition(
            kind=kind,
            id=definition_id,
            document=_decode_document(_encode(document)),
            updated_at=updated_at,
            revision=revision,
        )

    def get(self, kind: str, definition_id: str) -> StoredDefinition | None:
        path = self._path(kind, definition_id)
        with self._locked(exclusive=False):
            self._catch_up()
            return self._read(kind, definition_id, path)

    def delete(self, kind: str, definition_id: str) -> bool:
        path = self._path(kind, definition_id)
        with self._locked(exclusive=True):
            try:
                path.unlink()
            except FileNotFoundError:
                return False
            self._append(kind, definition_id, "delete")
        return True

    def all(self, kind: str) -> list[StoredDefinition]:
        check_kind(kind)
        with self._locked(exclusive=False):
            self._catch_up()
            found = (self._read(kind, i, self._path(kind, i)) for i in self._ids(kind))
            return [stored for stored in found if stored is not None]

    def revision(self) -> int:
        with self._locked(exclusive=False):
            return self._catch_up()

    def changed_since(self, revision: int) -> DefinitionChanges:
        with self._locked(exclusive=False):
            now = self._catch_up()
            if now == revision > 0:  # the common case: nothing new
                return DefinitionChanges(revision=revision, changed=[], deleted=[])
            touched = {key for key, at in self._written.items() if at > revision}
            if revision <= 0:  # everything held, written before the journal existed too
                touched.update((kind, i) for kind in DEFINITION_KINDS for i in self._ids(kind))
            changed: list[StoredDefinition] = []
            deleted: list[tuple[str, str]] = []
            for kind, definition_id in sorted(touched):
                stored = self._read(kind, definition_id, self._path(kind, definition_id))
                if stored is None:
                    deleted.append((kind, definition_id))
                else:
                    changed.append(stored)
        changed.sort(key=lambda s: s.revision)
        return DefinitionChanges(revision=max(now, revision), changed=changed, deleted=deleted)


def _replace(path: Path, data: bytes, mtime_ns: int) -> None:
    """Write ``path`` whole or not at all, durably, with that modification time."""
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.utime(tmp, ns=(mtime_ns, mtime_ns))
    os.replace(tmp, path)


def _to_ns(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1) * 1000


def _from_ns(ns: int) -> datetime:
    return _EPOCH + timedelta(microseconds=ns // 1000)

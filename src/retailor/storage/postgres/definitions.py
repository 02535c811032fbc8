"""PostgreSQL ``DefinitionStore``: the ``definitions`` table (``sql/0003_definitions.sql``).

Every write runs in a transaction that first takes an advisory lock of the schema's
definitions and keeps it until it commits: revisions (a sequence) are therefore committed
in the order they are drawn, and a reader that sees revision ``r`` sees every write up to
``r``. A deletion leaves a row without a document, so ``changed_since`` can report it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec

from retailor.domain.ids import check_definition_id
from retailor.storage.base import (
    DefinitionChanges,
    DefinitionStore,
    StoredDefinition,
    check_kind,
)
from retailor.storage.postgres.database import PostgresDatabase

_WRITE_LOCK = "SELECT pg_advisory_xact_lock(hashtext('retailor.definitions:' || current_schema()))"
_NEXT = "nextval(pg_get_serial_sequence('definitions', 'revision'))"
_COLUMNS = "kind, id, document::text, updated_at, revision"
_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(dict[str, Any]).decode


def _to_stored(row: tuple[Any, ...]) -> StoredDefinition:
    kind, definition_id, document, updated_at, revision = row
    return StoredDefinition(
        kind=kind,
        id=definition_id,
        document=_decode(document),
        updated_at=updated_at,
        revision=revision,
    )


class PostgresDefinitionStore(DefinitionStore):
    """Definitions in a ``PostgresDatabase``."""

    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db

    def put(self, kind: str, definition_id: str, document: dict[str, Any]) -> StoredDefinition:
        check_kind(kind)
        check_definition_id(kind, definition_id)
        text = _encode(document).decode()
        with self._db.connection() as conn, conn.transaction():
            conn.execute(_WRITE_LOCK)
            row = conn.execute(
                "INSERT INTO definitions (kind, id, document, updated_at) "
                "VALUES (%s, %s, %s::json, %s) ON CONFLICT (kind, id) DO UPDATE SET "
                f"document = excluded.document, updated_at = excluded.updated_at, revision = {_NEXT} "
                f"RETURNING {_COLUMNS}",
                (kind, definition_id, text, datetime.now(UTC)),
            ).fetchone()
        assert row is not None
        return _to_stored(row)

    def get(self, kind: str, definition_id: str) -> StoredDefinition | None:
        check_kind(kind)
        check_definition_id(kind, definition_id)
        with self._db.connection() as conn:
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM definitions "
                "WHERE kind = %s AND id = %s AND document IS NOT NULL",
                (kind, definition_id),
            ).fetchone()
        return None if row is None else _to_stored(row)

    def delete(self, kind: str, definition_id: str) -> bool:
        check_kind(kind)
        check_definition_id(kind, definition_id)
        with self._db.connection() as conn, conn.transaction():
            conn.execute(_WRITE_LOCK)
            row = conn.execute(
                f"UPDATE definitions SET document = NULL, updated_at = %s, revision = {_NEXT} "
                "WHERE kind = %s AND id = %s AND document IS NOT NULL RETURNING revision",
                (datetime.now(UTC), kind, definition_id),
            ).fetchone()
        return row is not None

    def all(self, kind: str) -> list[StoredDefinition]:
        check_kind(kind)
        with self._db.connection() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM definitions "
                "WHERE kind = %s AND document IS NOT NULL ORDER BY id",
                (kind,),
            ).fetchall()
        return [_to_stored(row) for row in rows]

    def revision(self) -> int:
        with self._db.connection() as conn:
            row = conn.execute("SELECT coalesce(max(revision), 0) FROM definitions").fetchone()
        return int(row[0]) if row else 0

    def changed_since(self, revision: int) -> DefinitionChanges:
        with self._db.connection() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM definitions WHERE revision > %s ORDER BY revision",
                (revision,),
            ).fetchall()
        changed = [_to_stored(row) for row in rows if row[2] is not None]
        deleted = [(row[0], row[1]) for row in rows if row[2] is None]
        return DefinitionChanges(
            revision=max([revision, *(row[4] for row in rows)]), changed=changed, deleted=deleted
        )

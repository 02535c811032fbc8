"""PostgreSQL ``ModelRegistry``: ``model_versions`` (parameters and metrics as JSON, the
fitted model's bytes) and ``model_active``, so that workers on hosts that share no disk
load the same versions.

Saving a version takes an advisory lock on the model's name for its transaction: two
workers saving one model get consecutive numbers (the primary key would refuse a number
taken twice in any case, so no version is ever overwritten). ``model_numbers`` keeps the
highest number each model was given, so that a removed version's number is never given
again.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec

from retailor.storage.base import ModelRecord, ModelRegistry
from retailor.storage.postgres.database import PostgresDatabase

_COLUMNS = "name, version, created_at, params::text, metrics::text"
_NAME_LOCK = (
    "SELECT pg_advisory_xact_lock(hashtext('retailor.models:' || current_schema()), hashtext(%s))"
)
_NEXT_VERSION = (
    "SELECT greatest((SELECT max(version) FROM model_versions WHERE name = %(name)s), "
    "(SELECT last FROM model_numbers WHERE name = %(name)s), 0) + 1"
)
_GIVEN = (
    "INSERT INTO model_numbers (name, last) VALUES (%s, %s) "
    "ON CONFLICT (name) DO UPDATE SET last = greatest(model_numbers.last, excluded.last)"
)
_decode = msgspec.json.Decoder(dict[str, Any]).decode
_encode = msgspec.json.Encoder().encode


def _to_record(row: tuple[Any, ...]) -> ModelRecord:
    name, version, created_at, params, metrics = row
    return ModelRecord(
        name=name,
        version=version,
        created_at=created_at,
        params=_decode(params),
        metrics=_decode(metrics),
    )


class PostgresModelRegistry(ModelRegistry):
    """Model versions in a ``PostgresDatabase``."""

    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db

    def save(
        self,
        name: str,
        params: dict[str, Any],
        metrics: dict[str, Any],
        *,
        activate: bool = True,
        artifact: bytes | None = None,
    ) -> ModelRecord:
        if not name:
            raise ValueError("a model needs a name")
        created_at = datetime.now(UTC)
        with self._db.connection() as conn, conn.transaction():
            conn.execute(_NAME_LOCK, [name])
            row = conn.execute(_NEXT_VERSION, {"name": name}).fetchone()
            version = int(row[0]) if row else 1
            conn.execute(
                "INSERT INTO model_versions (name, version, created_at, params, metrics, artifact) "
                "VALUES (%s, %s, %s, %s::json, %s::json, %b)",
                (name, version, created_at, _encode(params).decode(), _encode(metrics).decode(),
                 artifact),
            )  # fmt: skip
            conn.execute(_GIVEN, [name, version])
            if activate:
                _make_active(conn, name, version)
        return ModelRecord(
            name=name, version=version, created_at=created_at, params=params, metrics=metrics
        )

    def artifact(self, name: str, version: int) -> bytes | None:
        with self._db.connection() as conn, conn.cursor(binary=True) as cur:
            row = cur.execute(
                "SELECT artifact FROM model_versions WHERE name = %s AND version = %s",
                [name, version],
            ).fetchone()
        return None if row is None or row[0] is None else bytes(row[0])

    def activate(self, name: str, version: int) -> ModelRecord:
        with self._db.connection() as conn, conn.transaction():
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM model_versions WHERE name = %s AND version = %s",
                [name, version],
            ).fetchone()
            if row is None:
                raise KeyError(f"model {name!r} has no version {version}")
            _make_active(conn, name, version)
        return _to_record(row)

    def delete(self, name: str, version: int) -> bool:
        with self._db.connection() as conn, conn.transaction():
            conn.execute(_NAME_LOCK, [name])
            held = conn.execute(
                "SELECT 1 FROM model_versions WHERE name = %s AND version = %s", [name, version]
            ).fetchone()
            if held is None:
                return False
            active = conn.execute(
                "SELECT 1 FROM model_active WHERE name = %s AND version = %s", [name, version]
            ).fetchone()
            if active is not None:
                raise ValueError(f"version {version} of {name!r} is active")
            conn.execute(_GIVEN, [name, version])
            conn.execute(
                "DELETE FROM model_versions WHERE name = %s AND version = %s", [name, version]
            )
        return True

    def active(self, name: str) -> ModelRecord | None:
        with self._db.connection() as conn:
            row = conn.execute(
                "SELECT v.name, v.version, v.created_at, v.params::text, v.metrics::text "
                "FROM model_active a JOIN model_versions v USING (name, version) "
                "WHERE a.name = %s",
                [name],
            ).fetchone()
        return None if row is None else _to_record(row)

    def versions(self, name: str) -> list[ModelRecord]:
        with self._db.connection() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM model_versions WHERE name = %s ORDER BY version",
                [name],
            ).fetchall()
        return [_to_record(row) for row in rows]

    def names(self) -> list[str]:
        with self._db.connection() as conn:
            rows = conn.execute("SELECT DISTINCT name FROM model_versions ORDER BY name").fetchall()
        return [row[0] for row in rows]

    def active_versions(self) -> dict[str, int]:
        with self._db.connection() as conn:
            rows = conn.execute("SELECT name, version FROM model_active ORDER BY name").fetchall()
        return {str(name): int(version) for name, version in rows}


def _make_active(conn: Any, name: str, version: int) -> None:
    conn.execute(
        "INSERT INTO model_active (name, version) VALUES (%s, %s) "
        "ON CONFLICT (name) DO UPDATE SET version = excluded.version",
        [name, version],
    )

"""Looking for a person's identifiers in everything Retailor keeps: every file of a data
directory (raw bytes, also as UTF-16 and UTF-32, inside zip and gzip members, every text
column of every DuckDB file), PostgreSQL's tables and relation files, and Redis's values."""

from __future__ import annotations

import contextlib
import gzip
import io
import zipfile
from collections.abc import Iterable
from pathlib import Path

import duckdb

ENCODINGS = ("utf-8", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be")


def _variants(needle: str) -> list[bytes]:
    return [needle.encode(e) for e in ENCODINGS]


def scan_bytes(data: bytes, needles: Iterable[str], where: str) -> list[str]:
    """Where each needle occurs in ``data`` (and in the zip or gzip members it holds)."""
    found = []
    for needle in needles:
        if any(v in data for v in _variants(needle)):
            found.append(f"{where}: {needle}")
    if data[:2] == b"\x1f\x8b":
        with contextlib.suppress(OSError, EOFError):
            found += scan_bytes(gzip.decompress(data), needles, f"{where}[gzip]")
    if data[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                for name in archive.namelist():
                    found += scan_bytes(archive.read(name), needles, f"{where}[{name}]")
        except zipfile.BadZipFile:
            pass
    return found


def scan_duckdb(path: Path, needles: Iterable[str]) -> list[str]:
    """Every text (and JSON) column of every table of a DuckDB file."""
    wanted = list(needles)
    found = []
    conn = duckdb.connect(str(path), read_only=True)
    try:
        columns = conn.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE data_type IN ('VARCHAR', 'JSON') OR data_type LIKE '%[]'"
        ).fetchall()
        for table, column in columns:
            for needle in wanted:
                hit = conn.execute(
                    f'SELECT count(*) FROM "{table}" '
                    f'WHERE strpos(CAST("{column}" AS VARCHAR), ?) > 0',
                    [needle],
                ).fetchall()[0][0]
                if hit:
                    found.append(f"{path.name}:{table}.{column}: {needle}")
    finally:
        conn.close()
    return found


def scan_data_dir(data_dir: Path, needles: Iterable[str]) -> list[str]:
    """Every file of ``data_dir``: its bytes, and DuckDB files column by column (the
    server must be stopped: DuckDB files are opened)."""
    wanted = list(needles)
    found: list[str] = []
    for path in sorted(p for p in data_dir.rglob("*") if p.is_file()):
        found += scan_bytes(path.read_bytes(), wanted, str(path.relative_to(data_dir)))
        if path.suffix == ".duckdb":
            found += scan_duckdb(path, wanted)
    return found


def _schema_of(dsn: str) -> str:
    """The schema a test DSN's connections work in (``search_path`` in its options)."""
    import re
    from urllib.parse import unquote

    match = re.search(r"search_path=([A-Za-z0-9_]+)", unquote(dsn))
    assert match, dsn
    return match.group(1)


_RELATIONS = """
WITH mine AS (
    SELECT c.oid, c.reltoastrelid FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = %(schema)s AND c.relkind IN ('r', 'i', 'm', 't')
), toast AS (
    SELECT reltoastrelid AS oid FROM mine WHERE reltoastrelid <> 0
), toast_indexes AS (
    SELECT indexrelid AS oid FROM pg_index WHERE indrelid IN (SELECT oid FROM toast)
)
SELECT pg_relation_filepath(oid) FROM (
    SELECT oid FROM mine UNION SELECT oid FROM toast UNION SELECT oid FROM toast_indexes
) AS r WHERE pg_relation_filepath(oid) IS NOT NULL
"""


def scan_postgres(dsn: str, needles: Iterable[str]) -> list[str]:
    """Every text column of every table of the DSN's schema, and the bytes of every file
    of its tables, indexes and TOAST (after a checkpoint, so the pages are on disk)."""
    import psycopg

    wanted = list(needles)
    schema = _schema_of(dsn)
    found: list[str] = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        columns = conn.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = %s AND data_type IN "
            "('text', 'character varying', 'json', 'jsonb', 'bytea', 'ARRAY')",
            [schema],
        ).fetchall()
        for table, column, data_type in columns:
            text = (
                f"encode(\"{column}\", 'escape')" if data_type == "bytea" else f'"{column}"::text'
            )
            for needle in wanted:
                hit = conn.execute(
                    f'SELECT count(*) FROM "{schema}"."{table}" WHERE strpos({text}, %s) > 0',
                    [needle],
                ).fetchall()[0][0]
                if hit:
                    found.append(f"pg:{table}.{column}: {needle}")
        conn.execute("CHECKPOINT")
        for (path,) in conn.execute(_RELATIONS, {"schema": schema}).fetchall():
            data = conn.execute("SELECT pg_read_binary_file(%s::text)", [path]).fetchall()[0][0]
            if data:
                found += scan_bytes(bytes(data), wanted, f"pg-file:{path}")
    return found


def scan_redis(dsn: str, needles: Iterable[str]) -> list[str]:
    """Every key of the DSN's namespace: its name, its value read by type, and its DUMP."""
    import re

    import redis

    wanted = list(needles)
    match = re.search(r"namespace=([A-Za-z0-9_]+)", dsn)
    assert match, dsn
    client = redis.Redis.from_url(dsn.split("?")[0])
    found: list[str] = []
    try:
        for key in client.scan_iter(match=f"{match.group(1)}:*", count=1000):
            kind = client.type(key).decode()
            parts: list[bytes] = [key, client.dump(key) or b""]
            if kind == "string":
                parts.append(client.get(key) or b"")
            elif kind == "hash":
                parts += [b for kv in client.hgetall(key).items() for b in kv]
            elif kind == "list":
                parts += client.lrange(key, 0, -1)
            elif kind == "set":
                parts += list(client.smembers(key))
            elif kind == "zset":
                parts += client.zrange(key, 0, -1)
            elif kind == "stream":
                parts += [
                    b for _, fields in client.xrange(key) for kv in fields.items() for b in kv
                ]
            found += scan_bytes(b"\x00".join(parts), wanted, f"redis:{key.decode()}")
    finally:
        client.close()
    return found

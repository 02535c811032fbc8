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

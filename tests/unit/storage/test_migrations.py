"""Schemas change only through numbered migrations, in PostgreSQL and in DuckDB: applied
once, in order, safely from several processes at once, and never to a newer schema."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import psycopg
import pytest

from retailor.storage.duckdb.database import MIGRATIONS as DUCKDB_MIGRATIONS
from retailor.storage.duckdb.database import DuckDBDatabase
from retailor.storage.errors import StorageUnavailableError
from retailor.storage.factory import migrate_storage, open_storage
from retailor.storage.migrations import load_migrations
from retailor.storage.postgres.database import MIGRATIONS as POSTGRES_MIGRATIONS


def migrate_command(*args: str) -> subprocess.Popen[str]:
    """``retailor db migrate ARGS`` started in its own process."""
    return subprocess.Popen(
        [sys.executable, "-m", "retailor", "db", "migrate", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )


def run_migrate(*args: str) -> tuple[int, str, str]:
    """Run ``retailor db migrate ARGS``: its exit code, output and error output."""
    process = migrate_command(*args)
    out, err = process.communicate(timeout=60)
    return process.returncode, out, err


def ledger(dsn: str) -> list[tuple[int, str]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute("SELECT version, name FROM schema_migrations ORDER BY 1").fetchall()


def test_the_migrations_are_numbered_from_one() -> None:
    for migrations in (POSTGRES_MIGRATIONS, DUCKDB_MIGRATIONS):
        assert [m.version for m in migrations] == list(range(1, len(migrations) + 1))
    assert str(POSTGRES_MIGRATIONS[0]) == "0001_initial"


def test_postgres_migrating_twice_changes_nothing(postgres_dsn: str) -> None:
    assert [str(m) for m in migrate_storage(postgres_dsn)] == ["0001_initial", "0002_definitions"]
    assert migrate_storage(postgres_dsn) == []
    assert ledger(postgres_dsn) == [(1, "initial"), (2, "definitions")]


MIGRATION_KEY = "hashtext('retailor.migrate:' || current_schema())"


def test_two_processes_migrating_at_once_both_succeed(postgres_dsn: str) -> None:
    with psycopg.connect(postgres_dsn, autocommit=True) as holder:
        # hold the migration lock until both processes wait for it, so that they race
        holder.execute(f"SELECT pg_advisory_lock({MIGRATION_KEY})")
        runs = [migrate_command("--storage", postgres_dsn) for _ in range(2)]
        waiting = 0
        deadline = time.monotonic() + 60
        while waiting < 2 and time.monotonic() < deadline and all(r.poll() is None for r in runs):
            time.sleep(0.05)
            row = holder.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
                f"AND objid::bigint = ({MIGRATION_KEY}::bigint & 4294967295)"
            ).fetchone()
            waiting = row[0] if row else 0
        holder.execute(f"SELECT pg_advisory_unlock({MIGRATION_KEY})")
    results = [(run.wait(60), *run.communicate(timeout=60)) for run in runs]
    assert waiting == 2, results
    assert [code for code, _, _ in results] == [0, 0], results
    printed = sorted(out.strip() for _, out, _ in results)
    assert printed == [
        "applied 0001_initial\napplied 0002_definitions",
        "the schema is up to date",
    ]
    assert ledger(postgres_dsn) == [(1, "initial"), (2, "definitions")]


def test_a_schema_newer_than_the_code_is_refused(postgres_dsn: str, tmp_path: Path) -> None:
    migrate_storage(postgres_dsn)
    with psycopg.connect(postgres_dsn) as conn:
        conn.execute("INSERT INTO schema_migrations (version, name) VALUES (99, 'future')")
    with pytest.raises(StorageUnavailableError, match="version 99, newer than this Retailor"):
        open_storage(postgres_dsn, tmp_path)
    code, _, err = run_migrate("--storage", postgres_dsn)
    assert code == 2 and "newer than this Retailor" in err and "Traceback" not in err


def test_an_unreachable_database_is_a_clear_error(tmp_path: Path) -> None:
    code, _, err = run_migrate("--storage", "postgresql://someone:s3cret@127.0.0.1:9/retailor")
    assert code == 2
    assert "cannot connect to PostgreSQL at someone@127.0.0.1:9/retailor" in " ".join(err.split())
    assert "s3cret" not in err and "Traceback" not in err


def test_duckdb_migrates_once_and_records_it(tmp_path: Path) -> None:
    code, out, _ = run_migrate("--data", str(tmp_path))
    assert (code, out.strip()) == (0, "applied 0001_initial")
    database = DuckDBDatabase(tmp_path / "retailor.duckdb")
    assert database.applied == []
    database.close()
    with duckdb.connect(str(tmp_path / "retailor.duckdb")) as conn:
        assert conn.execute("SELECT version, name FROM schema_migrations").fetchall() == [
            (1, "initial")
        ]


def test_a_duckdb_file_made_before_migrations_is_taken_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    with duckdb.connect(str(path)) as conn:  # what the first releases created at start
        conn.execute(DUCKDB_MIGRATIONS[0].sql)
        conn.execute(
            "INSERT INTO events VALUES ('e1', 'page_viewed', now(), now(), 'c1', NULL, NULL, "
            "NULL, NULL, NULL, '{}', '{}')"
        )
    storage = open_storage(f"duckdb://{path}", tmp_path)
    try:
        assert storage.events.count() == 1
    finally:
        storage.close()
    assert migrate_storage(f"duckdb://{path}") == []


def test_migrations_must_be_numbered_without_gaps(tmp_path: Path) -> None:
    package = tmp_path / "gappy_migrations"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "0001_first.sql").write_text("SELECT 1;")
    (package / "0003_third.sql").write_text("SELECT 3;")
    sys.path.insert(0, str(tmp_path))
    try:
        with pytest.raises(RuntimeError, match=r"not numbered 1..n: \[1, 3\]"):
            load_migrations("gappy_migrations")
    finally:
        sys.path.remove(str(tmp_path))

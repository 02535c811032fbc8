"""``benchmarks/erasure.py`` at a tiny size, so that it cannot rot: it loads a history,
erases one person and a batch on DuckDB (and PostgreSQL, when reachable), with models
trained, and writes figures that hold together. Never a timing assertion."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import POSTGRES_DSN

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "erasure.py"


def postgres_reachable() -> str:
    """The test database's DSN; the test fails under CI without it, else is skipped."""
    import psycopg

    try:
        psycopg.connect(POSTGRES_DSN, connect_timeout=5).close()
    except psycopg.OperationalError as exc:
        message = f"PostgreSQL is not reachable at {POSTGRES_DSN}: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return POSTGRES_DSN


def run(tmp_path: Path, *options: str) -> dict[str, object]:
    figures = tmp_path / "figures.json"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--events", "2000", "--batch", "3",
         "--train", "popularity,item_item", "--json", str(figures), *options],
        capture_output=True,
        text=True,
        timeout=240,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "one erasure: reclaim" in done.stdout
    loaded: dict[str, object] = json.loads(figures.read_text())
    return loaded


def check(backend: dict[str, object], ceiling: str) -> None:
    peers = backend["peers_s"]
    assert isinstance(peers, dict)
    assert {"rebuild", ceiling, "train", "start", "bulk load"} <= set(peers)
    assert all(seconds > 0 for seconds in peers.values())
    rounds = backend["rounds"]
    assert isinstance(rounds, dict)
    assert rounds["one"]["people"] == 1 and rounds["batch"]["people"] == 3
    for r in rounds.values():
        assert set(r["seconds"]) == {"delete", "rederive", "reclaim"}
        assert r["receipt"]["event_log"] > 0  # everyone has events
        assert r["receipt"]["derived.model_versions_removed"] == 2  # the two trained models
        assert r["events_left"] == 0
        assert r["bytes_before"] > 0 and r["bytes_after"] > 0


def test_embedded(tmp_path: Path) -> None:
    figures = run(tmp_path)
    runs = figures["runs"]
    assert isinstance(runs, list) and len(runs) == 1
    assert runs[0]["backend"] == "DuckDB (embedded)"
    check(runs[0], "file copy")


def test_with_postgres(tmp_path: Path) -> None:
    import psycopg

    dsn = postgres_reachable()
    figures = run(tmp_path, "--postgres", dsn)
    runs = figures["runs"]
    assert isinstance(runs, list) and [r["backend"] for r in runs] == [
        "DuckDB (embedded)",
        "PostgreSQL",
    ]
    check(runs[1], "full scan")
    schema = runs[1]["where"]
    assert isinstance(schema, str) and schema.startswith("bench_erasure_")
    with psycopg.connect(dsn) as conn:  # its schema is gone
        left = conn.execute("SELECT count(*) FROM pg_namespace WHERE nspname = %s", [schema])
        assert left.fetchone() == (0,)

"""The SpaceReclaimer contract (see storage/privacy.py): against every adapter, rows not
deleted are still there and the stores keep working after ``reclaim``; for the stores
with files, the files hold no byte of a deleted row afterwards (DuckDB: the database file
and its write-ahead log; PostgreSQL: the files of every table, index and TOAST table of
the schema, read with ``pg_read_binary_file``), while they did before."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from retailor.domain.decisions import DecisionRecord
from retailor.domain.events import Event, EventType
from retailor.domain.privacy import Subject
from retailor.domain.quarantine import Rejection
from retailor.storage.factory import Storage, open_storage
from retailor.storage.privacy import ErasureRecord
from retailor.storage.schema import events_to_table, table_to_events

T0 = datetime(2026, 6, 1, tzinfo=UTC)
#: What the deleted rows hold, and nothing else does.
GONE = "zq-gone-4417"
ERASED = Subject(ids=(GONE,), texts=(f"{GONE}@example.com",))


def event(n: int, customer: str, **props: Any) -> Event:
    return Event(
        event_id=f"e{n}",
        type=EventType.IDENTIFY if props else EventType.PRODUCT_VIEWED,
        timestamp=T0 + timedelta(days=n * 20),  # several months: several partitions
        received_at=T0 + timedelta(days=n * 20),
        customer_id=customer,
        properties={"traits": props} if props else {"item_id": f"sku-{n}"},
    )


def decision(n: int, customer: str) -> DecisionRecord:
    return DecisionRecord(
        decision_id=f"d{n}",
        at=T0 + timedelta(minutes=n),
        placement="home",
        customer=customer,
        anonymous_id=None,
        context={},
        items=["x"],
        sources=["trending_now"],
        offers=[],
        model_versions={},
        personalized=False,
        fallback=None,
        latency_ms=0.1,
    )


def rejection(n: int, payload: str) -> Rejection:
    return Rejection(
        quarantine_id=f"q{n}",
        received_at=T0,
        source="http:/v1/events",
        reason="bad",
        payload=payload,
        event_id=None,
        index=n,
    )


def fill(storage: Storage) -> None:
    """Rows of two people, one of whom is then erased from the event log, the decision
    log and the quarantine."""
    long_text = "x" * 5_000  # kept rows large enough to go to TOAST tables too
    storage.events.append(
        events_to_table(
            [
                event(1, GONE, email=f"{GONE}@example.com", note=long_text),
                event(2, "keep-1", email="keep@example.com", note=long_text),
                event(3, GONE),
                event(4, "keep-1"),
            ]
        )
    )
    storage.decisions.append([decision(1, GONE), decision(2, "keep-1")])
    storage.quarantine.add(
        [
            rejection(1, f'{{"email": "{GONE}@example.com", "pad": "{"y" * 3_000}"}}'),
            rejection(2, '{"x": 1}'),
        ]
    )
    assert storage.events.erase(ERASED) == 2
    assert storage.decisions.erase(ERASED) == 1
    assert storage.quarantine.erase(ERASED) == 1


def check_kept(storage: Storage) -> None:
    """The rows not deleted are all there, and every store still takes new ones."""
    kept = [e for b in storage.events.scan() for e in table_to_events(b)]
    assert [(e.event_id, e.customer_id) for e in kept] == [("e2", "keep-1"), ("e4", "keep-1")]
    assert kept[0].properties["traits"]["note"] == "x" * 5_000
    assert [r.decision_id for r in storage.decisions.scan()] == ["d2"]
    assert [r.quarantine_id for r in storage.quarantine.list()] == ["q2"]
    assert storage.events.append(events_to_table([event(5, "keep-2")])).accepted == 1
    assert storage.events.append(events_to_table([event(5, "keep-2")])).accepted == 0
    storage.quarantine.add([rejection(3, "new")])
    assert storage.quarantine.count() == 2
    record = ErasureRecord(erasure_id="er1", status="pending", target_hash="h", requested_at=T0)
    storage.privacy.add_erasure(record)
    storage.privacy.save_erasure(record)
    assert storage.privacy.pending_erasures() == [record]


def test_reclaim_keeps_every_row_not_deleted(storage: Storage) -> None:
    fill(storage)
    before, after = storage.reclaimer.reclaim()
    assert before >= 0 and after >= 0
    check_kept(storage)
    storage.reclaimer.reclaim()  # again, with nothing deleted since
    assert storage.events.count() == 3


def _duckdb_bytes(data_dir: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(data_dir.glob("r.duckdb*")) if p.is_file())


def test_the_duckdb_file_holds_no_byte_of_a_deleted_row(tmp_path: Path) -> None:
    storage = open_storage(f"duckdb://{tmp_path / 'r.duckdb'}", tmp_path)
    try:
        fill(storage)
        assert GONE.encode() in _duckdb_bytes(tmp_path)  # deleted, not yet overwritten
        before, after = storage.reclaimer.reclaim()
        assert before > 0 and after > 0
        assert GONE.encode() not in _duckdb_bytes(tmp_path)
        check_kept(storage)
    finally:
        storage.close()
    reopened = open_storage(f"duckdb://{tmp_path / 'r.duckdb'}", tmp_path)
    try:
        assert reopened.events.count() == 3 and reopened.quarantine.count() == 2
        assert GONE.encode() not in _duckdb_bytes(tmp_path)
    finally:
        reopened.close()


#: Every relation of the schema with files: tables (partitions too), indexes, and the
#: TOAST tables of the schema's tables with their indexes (which live in ``pg_toast``).
_FILES = """
WITH mine AS (
    SELECT oid, reltoastrelid FROM pg_class
    WHERE relnamespace = current_schema()::regnamespace
), rels AS (
    SELECT oid FROM mine
    UNION SELECT reltoastrelid FROM mine WHERE reltoastrelid <> 0
    UNION SELECT i.indexrelid FROM pg_index i JOIN mine ON i.indrelid = mine.reltoastrelid
)
SELECT oid::regclass::text, pg_relation_filepath(oid) FROM rels
WHERE pg_relation_filepath(oid) IS NOT NULL
"""


def _relation_files(conn: psycopg.Connection[Any]) -> dict[str, str]:
    return {path: name for name, path in conn.execute(_FILES).fetchall()}


def _holding(conn: psycopg.Connection[Any], paths: dict[str, str], needle: bytes) -> list[str]:
    """The relations among ``paths`` whose file holds ``needle`` (after a checkpoint, so
    that what is in shared buffers is in the files too)."""
    conn.execute("CHECKPOINT")
    found = []
    for path, name in paths.items():
        row = conn.execute(  # a file given up by a rewrite may be gone already
            "SELECT CASE WHEN (pg_stat_file(%(p)s, true)).size IS NOT NULL "
            "THEN pg_read_binary_file(%(p)s) END",
            {"p": path},
        ).fetchone()
        if row is not None and row[0] is not None and needle in bytes(row[0]):
            found.append(name)
    return sorted(found)


def test_the_postgres_files_hold_no_byte_of_a_deleted_row(
    postgres_dsn: str, tmp_path: Path
) -> None:
    storage = open_storage(postgres_dsn, tmp_path)
    try:
        with psycopg.connect(postgres_dsn, autocommit=True) as conn:
            superuser = conn.execute(
                "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
            ).fetchone()
            if not (superuser and superuser[0]):
                pytest.skip("reading the relation files needs a superuser")
            # large payloads out of line and uncompressed: the deleted one goes to TOAST
            conn.execute("ALTER TABLE quarantine ALTER COLUMN payload SET STORAGE EXTERNAL")
            fill(storage)
            old = _relation_files(conn)
            holding = _holding(conn, old, GONE.encode())
            # deleted, not yet overwritten: in the heaps and in the indexes on customers
            assert "decisions" in holding and any(n.startswith("pg_toast.") for n in holding)
            assert any(n.startswith("events_p") for n in holding)
            assert any("customer" in n for n in holding)  # events_p…_customer_id_idx
            before, after = storage.reclaimer.reclaim()
            assert before > 0 and after > 0
            new = _relation_files(conn)
            assert set(new) != set(old)  # every table got fresh files
            assert _holding(conn, {**old, **new}, GONE.encode()) == []
            check_kept(storage)
    finally:
        storage.close()

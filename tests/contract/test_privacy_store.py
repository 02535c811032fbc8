"""The PrivacyStore contract (see storage/privacy.py), against every adapter: memory,
DuckDB (also reopened from its file) and PostgreSQL (also through another process's
view)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import pytest

from retailor.storage.factory import Storage, open_storage
from retailor.storage.memory.privacy import MemoryPrivacyStore
from retailor.storage.privacy import ErasureRecord, PrivacyStore

T0 = datetime(2026, 12, 1, 9, 30, 15, 123456, tzinfo=UTC)

#: Opens one more view of the same store (the same object in memory; DuckDB reopened from
#: its file; PostgreSQL as another worker would).
OpenPrivacy = Callable[[], PrivacyStore]


@pytest.fixture(params=["memory", "duckdb", "postgres"])
def open_privacy(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OpenPrivacy]:
    if request.param == "memory":
        store = MemoryPrivacyStore()
        yield lambda: store
        return
    opened: list[Storage] = []
    if request.param == "duckdb":
        dsn = f"duckdb://{tmp_path / 'r.duckdb'}"

        def reopen() -> PrivacyStore:  # one process owns the file: close, then reopen
            for storage in opened:
                storage.close()
            opened.clear()
            opened.append(open_storage(dsn, tmp_path))
            return opened[-1].privacy

        yield reopen
    else:
        dsn = request.getfixturevalue("postgres_dsn")

        def open_view() -> PrivacyStore:
            opened.append(open_storage(dsn, tmp_path))
            return opened[-1].privacy

        yield open_view
    for storage in opened:
        storage.close()


def request_for(n: int, **fields: object) -> ErasureRecord:
    base: dict[str, object] = {
        "erasure_id": f"er{n}",
        "status": "pending",
        "target_hash": f"hash-{n}",
        "requested_at": T0 + timedelta(minutes=n),
        "identifier": f"person{n}@example.com",
    }
    base.update(fields)
    return ErasureRecord(**base)  # type: ignore[arg-type]


def test_requests_are_kept_and_replaced(open_privacy: OpenPrivacy) -> None:
    store = open_privacy()
    assert store.get_erasure("er1") is None
    assert store.pending_erasures() == []
    store.add_erasure(request_for(1))
    store = open_privacy()
    assert store.get_erasure("er1") == request_for(1)
    done = msgspec.structs.replace(
        request_for(1),
        status="done",
        finished_at=T0 + timedelta(hours=1),
        receipt={"events": 12, "decisions": 0, "quarantine": 3},
        identifier=None,
    )
    store.save_erasure(done)
    store = open_privacy()
    got = store.get_erasure("er1")
    assert got == done
    assert got is not None and got.finished_at is not None and got.finished_at.tzinfo is not None
    assert store.pending_erasures() == []


def test_pending_are_the_waiting_and_the_failed_oldest_first(open_privacy: OpenPrivacy) -> None:
    store = open_privacy()
    store.add_erasure(request_for(3))
    store.add_erasure(request_for(1, status="running"))
    store.add_erasure(request_for(2, status="failed", error="PostgreSQL was down"))
    store.add_erasure(request_for(0, status="done", identifier=None, receipt={"events": 1}))
    store.add_erasure(request_for(4, requested_at=T0 + timedelta(minutes=3)))  # a tie: by id
    store = open_privacy()
    assert [(r.erasure_id, r.status) for r in store.pending_erasures()] == [
        ("er2", "failed"),
        ("er3", "pending"),
        ("er4", "pending"),
    ]
    assert store.pending_erasures()[0].error == "PostgreSQL was down"
    store.save_erasure(request_for(2, status="done", identifier=None))
    assert [r.erasure_id for r in open_privacy().pending_erasures()] == ["er3", "er4"]


def test_suppress_lift_and_the_revision(open_privacy: OpenPrivacy) -> None:
    store = open_privacy()
    assert store.suppressed() == frozenset() and store.revision() == 0
    assert store.suppress(["h1", "h2", "h1"], T0) == 2
    first = store.revision()
    assert first > 0
    assert store.suppress(["h2"], T0) == 0  # already there: nothing changes
    assert store.suppress([], T0) == 0
    assert store.revision() == first
    assert store.suppress(["h2", "h3"], T0 + timedelta(days=1)) == 1
    second = store.revision()
    assert second > first
    store = open_privacy()
    assert store.suppressed() == frozenset({"h1", "h2", "h3"})
    assert store.revision() == second
    assert store.lift("h2") is True
    assert store.lift("h2") is False
    assert store.lift("never") is False
    third = store.revision()
    assert third > second
    store = open_privacy()
    assert store.suppressed() == frozenset({"h1", "h3"}) and store.revision() == third

"""The AuditLog contract, against every adapter: memory, DuckDB (reopened from the file,
as after a restart) and PostgreSQL (views opened as other workers would)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import msgspec
import pytest

from retailor.storage.audit import AuditEntry, AuditLog
from retailor.storage.factory import Storage, open_storage
from retailor.storage.memory.audit import MemoryAuditLog

#: Opens one more view of the same entries, as another process (or a restart) would.
OpenAudit = Callable[[], AuditLog]
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def entry(
    action: str = "PUT /v1/segments/{segment_id}",
    *,
    seconds: float = 0,
    key_id: str | None = "key_admin_1",
    target_hash: str | None = "h1",
    status: int = 200,
) -> AuditEntry:
    return AuditEntry(
        at=T0 + timedelta(seconds=seconds),
        key_id=key_id,
        action=action,
        target_hash=target_hash,
        status=status,
    )


@pytest.fixture(params=["memory", "duckdb", "postgres"])
def open_audit(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OpenAudit]:
    if request.param == "memory":
        log = MemoryAuditLog()
        yield lambda: log
        return
    opened: list[Storage] = []
    if request.param == "duckdb":
        path = tmp_path / "r.duckdb"

        def reopen() -> AuditLog:  # one process owns the file: close, then reopen
            for storage in opened:
                storage.close()
            opened.clear()
            opened.append(open_storage(f"duckdb://{path}", tmp_path))
            return opened[-1].audit

        yield reopen
    else:
        dsn = request.getfixturevalue("postgres_dsn")

        def open_view() -> AuditLog:
            opened.append(open_storage(dsn, tmp_path))
            return opened[-1].audit

        yield open_view
    for storage in opened:
        storage.close()


def test_entries_come_back_newest_first_equal_and_durable(open_audit: OpenAudit) -> None:
    log = open_audit()
    first, second = entry(seconds=1), entry("DELETE /v1/experiments/{experiment_id}", seconds=2)
    nobody = entry("GET /v1/audit", seconds=3, key_id=None, target_hash=None, status=401)
    log.append([first, second])
    log.append([nobody])
    assert open_audit().list() == [nobody, second, first]


def test_entries_of_one_moment_come_last_appended_first(open_audit: OpenAudit) -> None:
    log = open_audit()
    a, b, c = entry(status=200), entry(status=404), entry(status=422)
    log.append([a, b])
    log.append([c])
    assert log.list() == [c, b, a]


def test_limit_keeps_the_newest(open_audit: OpenAudit) -> None:
    log = open_audit()
    log.append([entry(seconds=n, status=200 + n) for n in range(5)])
    assert [e.status for e in log.list(2)] == [204, 203]
    assert log.list(0) == []


def test_since_is_inclusive(open_audit: OpenAudit) -> None:
    log = open_audit()
    log.append([entry(seconds=n, status=200 + n) for n in range(5)])
    got = log.list(since=T0 + timedelta(seconds=3))
    assert [e.status for e in got] == [204, 203]


def test_action_is_a_prefix_taken_literally(open_audit: OpenAudit) -> None:
    log = open_audit()
    log.append(
        [
            entry("keys.create", seconds=1),
            entry("keys.revoke", seconds=2),
            entry("PUT /v1/segments/{segment_id}", seconds=3),
            entry("key_s.create", seconds=4),
            entry("keysXcreate", seconds=5),
        ]
    )
    assert [e.action for e in log.list(action="keys.")] == ["keys.revoke", "keys.create"]
    assert [e.action for e in log.list(action="key_")] == ["key_s.create"]  # _ is no wildcard
    assert [e.action for e in log.list(action="PUT /v1/segments/{")] == [
        "PUT /v1/segments/{segment_id}"
    ]
    assert log.list(action="%") == []


def test_key_and_target_filters(open_audit: OpenAudit) -> None:
    log = open_audit()
    log.append(
        [
            entry(seconds=1, key_id="key_a", target_hash="t1"),
            entry(seconds=2, key_id="key_b", target_hash="t1"),
            entry(seconds=3, key_id="key_a", target_hash="t2"),
            entry(seconds=4, key_id=None, target_hash=None),
        ]
    )
    assert seconds(log.list(key_id="key_a")) == [3, 1]
    assert seconds(log.list(target_hash="t1")) == [2, 1]
    assert seconds(log.list(key_id="key_a", target_hash="t1", since=T0)) == [1]


def test_times_come_back_as_utc(open_audit: OpenAudit) -> None:
    log = open_audit()
    paris = timezone(timedelta(hours=1))
    log.append([msgspec.structs.replace(entry(), at=datetime(2026, 3, 1, 13, 0, 0, 1, paris))])
    (got,) = open_audit().list()
    assert got.at == datetime(2026, 3, 1, 12, 0, 0, 1, tzinfo=UTC)
    assert got.at.utcoffset() == timedelta(0)


def seconds(entries: list[AuditEntry]) -> list[int]:
    return [round((e.at - T0).total_seconds()) for e in entries]

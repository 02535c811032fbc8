"""The PostgreSQL event log where it differs from the others: several workers on one
database, and monthly partitions made as events arrive."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from retailor.domain.events import Event, EventType
from retailor.domain.privacy import Subject
from retailor.storage.factory import Storage, open_storage
from retailor.storage.schema import events_to_table

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def view(n: int, days: int) -> Event:
    return Event(event_id=f"e{n}", type=EventType.PAGE_VIEWED, timestamp=T0 + timedelta(days=days),
                 received_at=T0, customer_id=f"c{n % 7}")  # fmt: skip


@pytest.fixture
def workers(postgres_dsn: str, tmp_path: Path) -> Iterator[list[Storage]]:
    """Two workers' storage on one database (each with its own pool, as two processes)."""
    opened = [open_storage(postgres_dsn, tmp_path) for _ in range(2)]
    yield opened
    for storage in opened:
        storage.close()


def test_workers_appending_the_same_ids_at_once_store_each_once(workers: list[Storage]) -> None:
    ids = 3_000
    accepted = [0, 0]
    failures: list[BaseException] = []
    start = threading.Barrier(len(workers))

    def work(index: int) -> None:
        rng = random.Random(index)
        try:
            start.wait()
            for _ in range(12):
                chosen = rng.sample(range(ids), 400)
                # timestamps over ten months: the workers make the partitions together
                batch = [view(n, days=n % 300) for n in chosen]
                accepted[index] += workers[index].events.append(events_to_table(batch)).accepted
            rest = [view(n, days=n % 300) for n in range(ids)]
            accepted[index] += workers[index].events.append(events_to_table(rest)).accepted
        except BaseException as exc:  # reported below, with the thread's traceback
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(workers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert sum(accepted) == ids
    assert workers[0].events.count() == workers[1].events.count() == ids


def test_each_month_gets_a_partition(postgres_dsn: str, workers: list[Storage]) -> None:
    log = workers[0].events
    log.append(events_to_table([view(1, 0), view(2, 40), view(3, -1)]))
    log.append(events_to_table([view(4, 41)]))
    with psycopg.connect(postgres_dsn) as conn:
        rows = conn.execute(
            "SELECT c.relname, count(*) OVER () FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'events'::regclass ORDER BY c.relname"
        ).fetchall()
        per_month = conn.execute(
            "SELECT tableoid::regclass::text, count(*) FROM events GROUP BY 1 ORDER BY 1"
        ).fetchall()
    assert [name for name, _ in rows] == ["events_p202512", "events_p202601", "events_p202602"]
    assert per_month == [("events_p202512", 1), ("events_p202601", 1), ("events_p202602", 2)]
    # another worker appends to the months the first one made
    assert workers[1].events.append(events_to_table([view(5, 42), view(4, 3)])).accepted == 1


def test_erasing_frees_the_ids_for_every_worker(workers: list[Storage]) -> None:
    workers[0].events.append(events_to_table([view(0, 1), view(7, 2), view(1, 3)]))
    assert workers[1].events.erase(Subject(ids=("c0",))) == 2
    assert workers[0].events.append(events_to_table([view(0, 5), view(1, 5)])).accepted == 1
    assert workers[1].events.count() == 2

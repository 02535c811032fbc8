"""The DuckDB event log across a restart: a position given before events were removed is
not given again, even when the removed events were the newest."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from retailor.domain.events import Event, EventType
from retailor.domain.privacy import Subject
from retailor.storage.factory import open_storage
from retailor.storage.schema import events_to_table

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def view(event_id: str, customer: str) -> Event:
    return Event(
        event_id=event_id,
        type=EventType.PRODUCT_VIEWED,
        timestamp=T0,
        received_at=T0,
        customer_id=customer,
        properties={"item_id": "sku-1"},
    )


def test_positions_of_removed_events_are_not_given_again_after_a_restart(tmp_path: Path) -> None:
    dsn = f"duckdb://{tmp_path / 'r.duckdb'}"
    storage = open_storage(dsn, tmp_path)
    for n, who in enumerate(["c2", "c1", "c1"]):
        storage.events.append(events_to_table([view(f"e{n}", who)]))
    assert storage.events.erase(Subject(ids=("c1",))) == 2
    storage.close()
    again = open_storage(dsn, tmp_path)
    try:
        assert again.events.position() == 3
        assert again.events.append(events_to_table([view("e9", "c2")])).position == 4
    finally:
        again.close()
    third = open_storage(dsn, tmp_path)
    try:
        assert third.events.position() == 4
    finally:
        third.close()

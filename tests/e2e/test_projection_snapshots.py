"""A worker started later loads the newest snapshot of the projections and folds only the
appends after it; what it then shows equals a rebuild from the whole log."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from retailor.domain.events import Event, EventType
from retailor.runtime.services import build_services, open_shared
from retailor.settings import Settings
from retailor.storage.factory import open_storage
from retailor.storage.schema import events_to_table


def _viewed(n: int, customer: str) -> Event:
    from datetime import UTC, datetime, timedelta

    return Event(
        event_id=f"snap-{n}",
        type=EventType.PRODUCT_VIEWED,
        timestamp=datetime(2026, 11, 1, tzinfo=UTC) + timedelta(minutes=n),
        received_at=datetime(2026, 11, 1, tzinfo=UTC) + timedelta(minutes=n),
        customer_id=customer,
        anonymous_id=f"device-{customer}",
        properties={"item_id": f"sku-{n % 7}"},
    )


def test_a_later_worker_starts_from_the_snapshot_and_reads_only_what_came_after(
    postgres_dsn: str, redis_dsn: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(
        data_dir=tmp_path / "a", storage=postgres_dsn, state=redis_dsn, identity_salt="s"
    )
    settings.data_dir.mkdir()
    storage, shared = open_storage(postgres_dsn, settings.data_dir), open_shared(settings)
    assert shared is not None
    for start in range(0, 300, 50):
        storage.events.append(
            events_to_table([_viewed(n, f"c{n % 20}") for n in range(start, start + 50)])
        )
    first = build_services(settings, storage, background=False, shared=shared)
    assert first.snapshot() == 6
    later = [_viewed(n, f"c{n % 25}") for n in range(300, 340)]  # five new customers too
    storage.events.append(events_to_table(later))

    caplog.set_level(logging.INFO, logger="retailor.runtime.services")
    second = build_services(settings, storage, background=False, shared=shared)
    assert second.feed is not None and second.feed.position == 7
    assert "loaded from the snapshot at position 6" in caplog.text
    assert second.feed.folded_from_log == 1  # the one append after the snapshot

    rebuilt = build_services(
        Settings(data_dir=tmp_path / "a", storage=postgres_dsn, identity_salt="s"),
        storage,
        background=False,
    )  # embedded-style: folds the whole log
    for n in range(25):
        key = f"c{n}"
        mine, truth = second.profiles.view(key), rebuilt.profiles.view(key)
        assert mine is not None and truth is not None
        assert (mine.identifiers, mine.traits, mine.recent) == (
            truth.identifiers,
            truth.traits,
            truth.recent,
        )
    for keys in (["c:c3"], ["c:c21", "a:device-c21"]):
        assert second.decisions.features.snapshot(keys) == rebuilt.decisions.features.snapshot(keys)
    for services in (first, second, rebuilt):
        services.close()
    shared.close()
    storage.close()

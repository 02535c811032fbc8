"""The EventLog contract, run against every adapter (see storage/base.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyarrow as pa

from retailor.domain.events import Channel, Event, EventType
from retailor.domain.privacy import Subject
from retailor.storage.factory import Storage
from retailor.storage.schema import EVENT_SCHEMA, events_to_table, table_to_events

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def make(event_id: str, minutes: int = 0, customer: str | None = "c1", **kw: object) -> Event:
    fields: dict[str, object] = {
        "event_id": event_id,
        "type": EventType.PRODUCT_VIEWED,
        "timestamp": T0 + timedelta(minutes=minutes),
        "received_at": T0 + timedelta(hours=1),
        "customer_id": customer,
        "properties": {"item_id": "sku-1", "extra": {"nested": [1, 2]}},
    }
    fields.update(kw)
    return Event(**fields)  # type: ignore[arg-type]


def append(storage: Storage, *events: Event) -> tuple[int, list[str]]:
    result = storage.events.append(events_to_table(list(events)))
    return result.accepted, result.duplicates


def test_append_then_read_back_exactly(storage: Storage) -> None:
    original = make(
        "e1",
        anonymous_id="a1",
        channel=Channel.APP,
        store_id="s1",
        session_id="x",
        decision_id="d1",
        context={"ip": "1.2.3.4"},
    )
    assert append(storage, original) == (1, [])
    assert storage.events.count() == 1
    [batch] = list(storage.events.scan())
    assert batch.schema.equals(EVENT_SCHEMA)
    assert table_to_events(batch) == [original]


def test_an_id_is_stored_once(storage: Storage) -> None:
    assert append(storage, make("e1"), make("e2")) == (2, [])
    assert append(storage, make("e2", minutes=5), make("e3")) == (1, ["e2"])
    assert storage.events.count() == 3
    stored = {e.event_id: e for b in storage.events.scan() for e in table_to_events(b)}
    assert stored["e2"].timestamp == T0  # the first occurrence wins


def test_repeats_within_one_append_keep_the_first(storage: Storage) -> None:
    accepted, duplicates = append(storage, make("e1", minutes=1), make("e1", minutes=2), make("e2"))
    assert (accepted, duplicates) == (2, ["e1"])
    [first] = [e for b in storage.events.scan() for e in table_to_events(b) if e.event_id == "e1"]
    assert first.timestamp == T0 + timedelta(minutes=1)


def test_empty_append(storage: Storage) -> None:
    result = storage.events.append(EVENT_SCHEMA.empty_table())
    assert (result.accepted, result.duplicates) == (0, [])


def test_scan_orders_by_time_and_filters(storage: Storage) -> None:
    append(
        storage,
        make("late", minutes=30),
        make("early", minutes=1),
        make("other", minutes=10, customer="c2"),
        make("order", minutes=20, type=EventType.PAGE_VIEWED, properties={}),
    )
    ids = [e.event_id for b in storage.events.scan() for e in table_to_events(b)]
    assert ids == ["early", "other", "order", "late"]
    window = storage.events.scan(start=T0 + timedelta(minutes=10), end=T0 + timedelta(minutes=30))
    assert [e.event_id for b in window for e in table_to_events(b)] == ["other", "order"]
    mine = storage.events.scan(customer_id="c1", types=["product_viewed"])
    assert [e.event_id for b in mine for e in table_to_events(b)] == ["early", "late"]


def test_scan_yields_batches_of_the_asked_size(storage: Storage) -> None:
    append(storage, *[make(f"e{i}", minutes=i) for i in range(25)])
    sizes = [b.num_rows for b in storage.events.scan(batch_size=10)]
    assert sum(sizes) == 25 and max(sizes) <= 10


def test_timeline_newest_first_by_customer_or_anonymous_id(storage: Storage) -> None:
    append(
        storage,
        make("a", minutes=1),
        make("b", minutes=3, customer=None, anonymous_id="c1"),
        make("c", minutes=2),
        make("x", minutes=9, customer="someone-else"),
    )
    assert [e.event_id for e in storage.events.timeline("c1", 10)] == ["b", "c", "a"]
    assert [e.event_id for e in storage.events.timeline("c1", 2)] == ["b", "c"]
    assert storage.events.timeline("nobody", 10) == []


def test_timeline_of_some_types(storage: Storage) -> None:
    consent = {"type": EventType.CONSENT_UPDATED, "properties": {"purposes": {"analytics": True}}}
    append(
        storage,
        make("a", minutes=1),
        make("b", minutes=3, customer=None, anonymous_id="c1", **consent),
        make("c", minutes=2, **consent),
        make("x", minutes=9, customer="someone-else", **consent),
    )
    got = storage.events.timeline(["c1"], 10, types=["consent_updated"])
    assert [e.event_id for e in got] == ["b", "c"]
    assert [e.event_id for e in storage.events.timeline("c1", 1, ["consent_updated"])] == ["b"]
    assert storage.events.timeline("c1", 10, types=[]) == []
    assert [e.event_id for e in storage.events.timeline("c1", 10, None)] == ["b", "c", "a"]


def test_out_of_order_and_late_events_are_accepted(storage: Storage) -> None:
    append(storage, make("new", minutes=60))
    append(storage, make("old", minutes=-60 * 24 * 365))
    assert storage.events.count() == 2


def test_erase_removes_a_customer_and_frees_the_ids(storage: Storage) -> None:
    append(
        storage, make("a"), make("b", customer=None, anonymous_id="c1"), make("k", customer="c2")
    )
    assert storage.events.erase(Subject(ids=("c1",))) == 2
    assert storage.events.count() == 1
    assert append(storage, make("a")) == (1, [])


def test_append_accepts_a_table_with_columns_in_any_nullability(storage: Storage) -> None:
    table = events_to_table([make("e1")])
    loose = pa.table({name: table.column(name) for name in table.column_names})
    assert storage.events.append(loose).accepted == 1


def test_an_id_that_comes_back_in_another_month_is_a_duplicate(storage: Storage) -> None:
    assert append(storage, make("e1")) == (1, [])
    assert append(storage, make("e1", minutes=60 * 24 * 45), make("e2")) == (1, ["e1"])
    stored = {e.event_id: e for b in storage.events.scan() for e in table_to_events(b)}
    assert stored["e1"].timestamp == T0 and storage.events.count() == 2


def test_duplicates_are_listed_in_input_order(storage: Storage) -> None:
    append(storage, make("held"))
    result = storage.events.append(
        events_to_table([make("a"), make("held"), make("a"), make("b"), make("held")])
    )
    assert (result.accepted, result.duplicates) == (2, ["held", "a", "held"])


def test_a_history_over_many_months_comes_back_in_time_order(storage: Storage) -> None:
    days = [400, 3, 95, 31, 250, 0, 180, 62]
    append(storage, *[make(f"e{d}", minutes=60 * 24 * d) for d in days])
    assert [e.event_id for b in storage.events.scan() for e in table_to_events(b)] == [
        f"e{d}" for d in sorted(days)
    ]
    spring = storage.events.scan(start=T0 + timedelta(days=60), end=T0 + timedelta(days=181))
    assert [e.event_id for b in spring for e in table_to_events(b)] == ["e62", "e95", "e180"]


def _ids(batches: object) -> list[str]:
    return [e.event_id for b in batches for e in table_to_events(b)]  # type: ignore[attr-defined]


def test_appends_take_positions_one_after_another(storage: Storage) -> None:
    assert storage.events.position() == 0
    first = storage.events.append(events_to_table([make("p1"), make("p2")]))
    again = storage.events.append(events_to_table([make("p1")]))  # duplicates only
    second = storage.events.append(events_to_table([make("p3", minutes=-60)]))
    assert (first.position, again.position, second.position) == (1, None, 2)
    assert storage.events.position() == 2


def test_read_after_gives_a_range_of_positions_in_order(storage: Storage) -> None:
    for n in range(4):
        storage.events.append(events_to_table([make(f"r{n}a", minutes=-n), make(f"r{n}b")]))
    assert _ids(storage.events.read_after(1, 3)) == ["r1a", "r1b", "r2a", "r2b"]
    assert _ids(storage.events.read_after(None, 1)) == ["r0a", "r0b"]
    assert _ids(storage.events.read_after(4, 9)) == []
    assert len(_ids(storage.events.read_after(0, 4, batch_size=3))) == 8


def test_positions_have_no_gap_when_appends_race(storage: Storage) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def put(n: int) -> int | None:
        return storage.events.append(events_to_table([make(f"race{n}"), make("shared")])).position

    with ThreadPoolExecutor(8) as pool:
        positions = sorted(p for p in pool.map(put, range(40)) if p is not None)
    assert positions == list(range(1, 41))
    assert sorted(_ids(storage.events.read_after(None, 40))).count("shared") == 1


def test_arrivals_count_events_by_the_minute_they_were_received(storage: Storage) -> None:
    received = T0 + timedelta(hours=1)
    append(
        storage,
        make("e1", received_at=received + timedelta(seconds=5)),
        make("e2", minutes=-600, received_at=received + timedelta(seconds=59)),  # late event
        make("e3", received_at=received + timedelta(minutes=2, seconds=1)),
        make("e4", received_at=received + timedelta(minutes=9)),  # past the end
    )
    got = storage.events.arrivals(received, received + timedelta(minutes=9))
    assert got == [(received, 2), (received + timedelta(minutes=2), 1)]
    assert all(minute.tzinfo is not None for minute, _ in got)
    assert storage.events.arrivals(T0, received) == []


def test_visitors_are_the_distinct_people_of_each_period(storage: Storage) -> None:
    append(
        storage,
        make("e1", minutes=5, customer="c1"),
        make("e2", minutes=6, customer="c1"),  # same hour, same person: once
        make("e3", minutes=7, customer=None, anonymous_id="a1"),
        make("e4", minutes=8, customer="c1", anonymous_id="a1"),
        make("e5", minutes=65, customer="c2"),
        make("e6", minutes=60 * 24 + 1, customer="c3"),  # the next day
        make("e7", minutes=60 * 48, customer="c9"),  # past the end
    )
    end = T0 + timedelta(days=2)
    hour = timedelta(hours=1)
    assert storage.events.visitors(T0, end, "hour") == [
        (T0, None, "a1"),
        (T0, "c1", None),
        (T0, "c1", "a1"),
        (T0 + hour, "c2", None),
        (T0 + 24 * hour, "c3", None),
    ]
    assert storage.events.visitors(T0, end, "day") == [
        (T0, None, "a1"),
        (T0, "c1", None),
        (T0, "c1", "a1"),
        (T0, "c2", None),
        (T0 + 24 * hour, "c3", None),
    ]
    assert storage.events.visitors(T0 + hour, end) == [(None, "c2", None), (None, "c3", None)]


def _one_per_append(storage: Storage, *events: Event) -> dict[str, int]:
    """Append each event on its own; the position each got, by id."""
    at: dict[str, int] = {}
    for e in events:
        result = storage.events.append(events_to_table([e]))
        assert result.position is not None
        at[e.event_id] = result.position
    return at


def _at(storage: Storage, position: int) -> list[str]:
    return _ids(storage.events.read_after(position - 1, position))


ANN = Subject(ids=("c1", "a-c1"), texts=("ann@example.com", 'Zoë "Z" Smith'))


def test_erase_finds_a_subject_by_id_and_inside_properties_or_context(storage: Storage) -> None:
    identify = EventType.IDENTIFY
    at = _one_per_append(
        storage,
        make("by-customer"),
        make("by-visitor", customer=None, anonymous_id="a-c1"),
        make("traits", type=identify, customer="c7", properties={"traits": {"email": "ann@example.com"}}),
        make("context", customer="c8", context={"page": {"url": "/?mail=ann@example.com"}}),
        make("escaped", customer="c9", type=identify, properties={"traits": {"name": 'Zoë "Z" Smith'}}),
        make("quoted-id", customer="c2", properties={"item_id": "sku-1", "ref": "c1"}),
        make("longer-id", customer="c12", properties={"item_id": "c12", "ref": "xc1"}),
        make("other", customer="c3", context={"mail": "bob@example.com"}),
    )  # fmt: skip
    head = storage.events.position()
    gone = ["by-customer", "by-visitor", "traits", "context", "escaped", "quoted-id"]
    assert storage.events.erase(ANN) == len(gone)
    assert storage.events.count() == 2
    assert sorted(_ids(storage.events.scan())) == ["longer-id", "other"]
    # the events left keep their positions, and the log's head stays where it was
    assert storage.events.position() == head
    for event_id, position in at.items():
        assert _at(storage, position) == ([] if event_id in gone else [event_id])
    assert storage.events.erase(ANN) == 0
    # their ids may be stored again, at the next position
    assert storage.events.append(events_to_table([make("by-customer")])).position == head + 1
    assert storage.events.count() == 3


def test_erase_of_the_newest_events_gives_their_positions_to_no_one(storage: Storage) -> None:
    _one_per_append(storage, make("kept", customer="c2"), make("mine-1"), make("mine-2"))
    assert storage.events.erase(Subject(ids=("c1",))) == 2
    assert storage.events.position() == 3
    assert storage.events.append(events_to_table([make("next", customer="c2")])).position == 4
    assert _ids(storage.events.read_after(1, 4)) == ["next"]


def test_erase_by_text_alone_and_of_nobody(storage: Storage) -> None:
    _one_per_append(
        storage,
        make("mail", customer="c5", context={"traits": {"email": "ann@example.com"}}),
        make("kept", customer="c6"),
    )
    assert storage.events.erase(Subject()) == 0
    assert storage.events.erase(Subject(ids=("nobody",))) == 0
    assert storage.events.erase(Subject(texts=("ann@example.com",))) == 1
    assert _ids(storage.events.scan()) == ["kept"]


def test_expire_removes_one_type_before_a_time(storage: Storage) -> None:
    page = EventType.PAGE_VIEWED
    at = _one_per_append(
        storage,
        make("old-page", minutes=-60 * 24 * 40, type=page, properties={}),
        make("old-view", minutes=-60 * 24 * 40),
        make("edge-page", minutes=0, type=page, properties={}),
        make("new-page", minutes=10, type=page, properties={}),
    )
    assert storage.events.expire("page_viewed", T0) == 1
    assert storage.events.expire("page_viewed", T0) == 0
    assert sorted(_ids(storage.events.scan())) == ["edge-page", "new-page", "old-view"]
    assert _at(storage, at["new-page"]) == ["new-page"]
    assert storage.events.expire("page_viewed", T0 + timedelta(hours=1)) == 2
    assert storage.events.expire("cart_viewed", T0 + timedelta(days=1)) == 0
    assert _ids(storage.events.scan()) == ["old-view"]
    assert append(storage, make("old-page")) == (1, [])

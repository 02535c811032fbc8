"""Maintained event counts give the same membership as counting every customer's events
from scratch: whether definitions come before the events (counted as they arrive) or after
(built from one scan of the log), across identity merges, windows that expire, items that
change category, and a rebuild."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from datetime import timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from retailor.domain.catalog import CatalogItem
from retailor.domain.events import Event
from retailor.profiles.event_counts import micros
from retailor.profiles.segmentation import SegmentService
from retailor.profiles.segments import evaluate, parse
from retailor.profiles.service import ProfileService
from retailor.storage.files.definitions import FileDefinitionStore
from retailor.storage.memory.events import MemoryEventLog
from retailor.storage.schema import events_to_table
from tests.unit.profiles.test_identity import ev, order

DAY = 60 * 24
SHOES = [CatalogItem(item_id="boot", category=["Fashion", "Shoes"]),
         CatalogItem(item_id="mug", category=["Home", "Kitchen"])]  # fmt: skip
PEOPLE = [("c1", None), ("c2", None), (None, "a1"), (None, "a2"), ("c1", "a1"), ("c3", "a2"),
          ("c2", "a3"), (None, "a3")]  # fmt: skip


@st.composite
def histories(draw: st.DrawFn) -> list[Event]:
    """Out-of-order events of a few people whose devices get linked (merges)."""
    made = []
    for n in range(draw(st.integers(1, 40))):
        customer, anon = draw(st.sampled_from(PEOPLE))
        minutes = draw(st.integers(0, 120)) * DAY + draw(st.integers(0, DAY))
        kind = draw(st.sampled_from(["view", "order", "page", "identify"]))
        item = draw(st.sampled_from(["boot", "mug", "hat"]))
        if kind == "view":
            made.append(ev("product_viewed", minutes, customer, anon, item_id=item))
        elif kind == "order":
            made.append(order(minutes, customer, anon, f"o{n}", (item, 1, 10.0)))
        elif kind == "page":
            made.append(ev("page_viewed", minutes, customer, anon))
        else:
            made.append(ev("identify", minutes, customer, anon))
    return made


@st.composite
def event_conditions(draw: st.DrawFn) -> dict[str, Any]:
    condition: dict[str, Any] = {
        "event": draw(
            st.sampled_from(
                [
                    "product_viewed",
                    "order_completed",
                    "page_viewed",
                    ["product_viewed", "order_completed"],
                ]
            )
        ),
        "min_count": draw(st.integers(0, 3)),
    }
    if draw(st.booleans()):
        condition["within_days"] = draw(st.sampled_from([1, 7, 30, 45.5]))
    if draw(st.booleans()):
        condition["max_count"] = draw(st.integers(0, 3))
    match = draw(st.sampled_from([None, "category", "item_id"]))
    if match == "category":
        condition["category"] = "Shoes"
    elif match == "item_id":
        condition["item_id"] = "boot"
    return condition


@st.composite
def definitions(draw: st.DrawFn) -> dict[str, Any]:
    parts: list[dict[str, Any]] = draw(st.lists(event_conditions(), min_size=1, max_size=3))
    if draw(st.booleans()):
        parts.append({"not": draw(event_conditions())})
    if draw(st.booleans()):
        parts.append({"trait": "order_count", "op": "gte", "value": 1})
    return {draw(st.sampled_from(["all", "any"])): parts}


def setup(tmp_path: Path) -> tuple[ProfileService, MemoryEventLog, SegmentService]:
    profiles = ProfileService("salt")
    log = MemoryEventLog()
    store = FileDefinitionStore(tmp_path / f"s{next(_dirs)}")
    return profiles, log, SegmentService(store, profiles, log)


_dirs = iter(range(10**9))


def fold(profiles: ProfileService, log: MemoryEventLog, events: list[Event]) -> None:
    """What the writer does: store, then hand the stored events to the profiles."""
    if events:
        log.append(events_to_table(events))
        profiles.apply(events)


def from_scratch(segments: SegmentService, events: list[Event]) -> dict[str, list[str]]:
    """Every segment's members, counting each customer's own events (where its profile
    holds them) in windows ending at the newest event."""
    profiles = segments.profiles
    scale = profiles.scale()
    assert scale is not None
    mine: dict[str, list[Event]] = {}
    for event in events:
        ref = profiles.primary_ref(event)
        key = profiles.customer_of(event, ref) if ref is not None else None
        if key is not None:
            mine.setdefault(key, []).append(event)
    found: dict[str, list[str]] = {}
    for segment_id in ("s0", "s1"):
        defined = segments.get(segment_id)
        assert defined is not None
        condition = parse(defined.stored.document)
        found[segment_id] = sorted(
            key
            for key in profiles.customer_keys()
            if (view := profiles.view(key)) is not None
            and evaluate(
                condition,
                view.traits,
                view.consent,
                mine.get(key, []),
                scale.as_of,
                profiles.category_of,
            )
        )
    return found


def maintained(segments: SegmentService) -> dict[str, list[str]]:
    assert segments.idle(30)  # a change of category refreshes counts in the background
    found: dict[str, list[str]] = {}
    for segment_id in ("s0", "s1"):
        membership = segments.members(segment_id)
        assert membership is not None
        found[segment_id] = membership.members
        for key in segments.profiles.customer_keys():  # one customer at a time agrees
            assert (segment_id in segments.segments_of(key)) == (key in membership.members)
    return found


FAST = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))


@FAST
@given(histories(), definitions(), definitions(), st.integers(0, 40), st.booleans())
def test_counted_as_events_arrive_equals_from_scratch(
    tmp_path: Path,
    events: list[Event],
    first: dict[str, Any],
    second: dict[str, Any],
    cut: int,
    catalog_late: bool,
) -> None:
    profiles, log, segments = setup(tmp_path)
    if not catalog_late:
        profiles.remember_items(SHOES)
    segments.put("s0", first)
    fold(profiles, log, events[:cut])
    segments.put("s1", second)  # built from the log, then counted as events arrive
    fold(profiles, log, events[cut:])
    if catalog_late:  # the boots become shoes after their events: counts follow
        profiles.remember_items(SHOES)
    assert maintained(segments) == from_scratch(segments, events)


@FAST
@given(histories(), definitions(), definitions())
def test_rebuilt_from_the_log_equals_from_scratch(
    tmp_path: Path, events: list[Event], first: dict[str, Any], second: dict[str, Any]
) -> None:
    profiles, log, segments = setup(tmp_path)
    profiles.remember_items(SHOES)
    segments.put("s0", first)
    segments.put("s1", second)
    log.append(events_to_table(events))
    profiles.rebuild(log.scan())  # the start of a server: every definition fed by one pass
    assert maintained(segments) == from_scratch(segments, events)


def test_a_window_expires_as_newer_events_arrive(tmp_path: Path) -> None:
    profiles, log, segments = setup(tmp_path)
    segments.put("s", {"all": [{"event": "product_viewed", "within_days": 7, "min_count": 2}]})
    fold(profiles, log, [ev("product_viewed", 0, "amy", item_id="x"),
                         ev("product_viewed", DAY, "amy", item_id="x")])  # fmt: skip
    assert segments.segments_of("amy") == ["s"]
    fold(profiles, log, [ev("page_viewed", 7 * DAY + 1, "bob")])  # the first view is 7 days old
    assert segments.segments_of("amy") == []


def test_merging_two_customers_adds_their_counts(tmp_path: Path) -> None:
    profiles, log, segments = setup(tmp_path)
    segments.put("s", {"all": [{"event": "product_viewed", "min_count": 3}]})
    fold(profiles, log, [ev("product_viewed", m, None, "dev", item_id="x") for m in (1, 2)])
    fold(profiles, log, [ev("product_viewed", 3, "amy", None, item_id="x")])
    assert segments.segments_of("amy") == [] and segments.segments_of("dev") == []
    fold(profiles, log, [ev("identify", 4, "amy", "dev")])  # the device is amy's
    assert profiles.resolve("dev") == "amy" and segments.segments_of("amy") == ["s"]


def test_a_customer_keeps_only_the_times_that_can_matter(tmp_path: Path) -> None:
    profiles, log, segments = setup(tmp_path)
    segments.put("s", {"all": [{"event": "product_viewed", "within_days": 30, "min_count": 3}]})
    fold(profiles, log, [ev("product_viewed", m * 60, "amy", item_id="x") for m in range(500)])
    (condition,) = segments.get("s").counts  # type: ignore[union-attr]
    counter = segments.counts._counters[condition]
    assert counter.times is not None and len(counter.times["amy"]) == 3
    assert segments.counts.count(condition, "amy", micros(profiles.newest)) == 3  # type: ignore[arg-type]
    segments.put("t", {"all": [{"event": "product_viewed", "within_days": 1, "min_count": 2}]})
    (scanned,) = segments.get("t").counts  # type: ignore[union-attr]
    assert segments.counts._counters[scanned].times == {"amy": counter.times["amy"][-2:]}
    fold(profiles, log, [ev("page_viewed", 500 * 60 + 31 * DAY, "bob")])
    fold(profiles, log, [ev("product_viewed", 500 * 60 + 31 * DAY, "amy", item_id="x")])
    assert counter.times["amy"] == (micros(profiles.newest),)  # type: ignore[arg-type]
    assert segments.segments_of("amy") == []
    assert segments.counts._counters[scanned].times == {"amy": counter.times["amy"]}


def test_reading_a_customer_reads_no_event_log(tmp_path: Path) -> None:
    profiles, log, segments = setup(tmp_path)
    fold(profiles, log, [ev("product_viewed", m, "amy", item_id="x") for m in range(3)])
    segments.put("s", {"all": [{"event": "product_viewed", "within_days": 1, "min_count": 3}]})
    scans = []
    real_scan, real_timeline = log.scan, log.timeline
    log.scan = lambda *a, **k: scans.append("scan") or real_scan(*a, **k)  # type: ignore[method-assign]
    log.timeline = lambda *a, **k: scans.append("timeline") or real_timeline(*a, **k)  # type: ignore[method-assign]
    assert segments.segments_of("amy") == ["s"]
    fold(profiles, log, [ev("product_viewed", 2 * DAY, "amy", item_id="x")])
    assert segments.segments_of("amy") == []
    assert segments.members("s") is not None and scans == []


def test_event_time_as_whole_microseconds() -> None:
    at = ev("page_viewed", 0).timestamp + timedelta(microseconds=1)
    assert micros(at) - micros(at - timedelta(microseconds=1)) == 1


def test_events_arriving_while_a_definition_is_built_count_once(tmp_path: Path) -> None:
    profiles, log, segments = setup(tmp_path)
    fold(profiles, log, [ev("product_viewed", m, "amy", item_id="x") for m in range(3)])
    committed = ev("product_viewed", 3, "amy", item_id="x")
    log.append(events_to_table([committed]))  # stored; the scan sees it, it is folded later
    later = ev("product_viewed", 4, "amy", item_id="x")

    def meanwhile(install: Callable[[], None]) -> Future[None]:
        """Events folded after the scan, before the counts are installed (the writer)."""
        profiles.apply([committed])
        fold(profiles, log, [later])
        install()
        done: Future[None] = Future()
        done.set_result(None)
        return done

    segments.builder.settle = meanwhile
    exactly_five = {"event": "product_viewed", "min_count": 5, "max_count": 5}
    segments.put("five", {"all": [exactly_five]})
    assert segments.segments_of("amy") == ["five"]


def test_customers_merged_while_a_definition_is_built_keep_their_counts(tmp_path: Path) -> None:
    profiles, log, segments = setup(tmp_path)
    fold(profiles, log, [ev("product_viewed", m, None, "dev", item_id="x") for m in range(2)])
    fold(profiles, log, [ev("product_viewed", 5, "amy", None, item_id="x"),
                         ev("page_viewed", 5, "amy", None), ev("page_viewed", 6, None, "dev")])  # fmt: skip

    def meanwhile(install: Callable[[], None]) -> Future[None]:
        fold(profiles, log, [ev("product_viewed", 6, None, "dev", item_id="x")])
        fold(profiles, log, [ev("identify", 7, "amy", "dev")])  # dev is amy's now
        install()
        done: Future[None] = Future()
        done.set_result(None)
        return done

    segments.builder.settle = meanwhile
    both = {"all": [{"event": "product_viewed", "min_count": 4, "max_count": 4},
                    {"event": "page_viewed", "min_count": 2, "max_count": 2}]}  # fmt: skip
    segments.put("s", both)
    assert profiles.resolve("dev") == "amy" and segments.segments_of("amy") == ["s"]


def test_wait_idle_returns_once_the_builds_started_before_are_installed(tmp_path: Path) -> None:
    profiles, log, segments = setup(tmp_path)
    fold(profiles, log, [ev("product_viewed", m, "amy", item_id="x") for m in range(3)])
    gate = threading.Event()

    def held(install: Callable[[], None]) -> Future[None]:
        gate.wait()
        install()
        done: Future[None] = Future()
        done.set_result(None)
        return done

    segments.builder.settle = held
    try:
        segments.put("s", {"all": [{"event": "product_viewed", "min_count": 3}]}, wait=0)
        assert not segments.builder.wait_idle(timeout=0.05)  # the install is held back
        assert not segments.ready("s")
        gate.set()
        assert segments.builder.wait_idle(timeout=60)
        assert segments.ready("s") and segments.segments_of("amy") == ["s"]
        assert segments.builder.wait_idle(timeout=0)  # nothing under way: idle at once
    finally:
        gate.set()
        segments.close()

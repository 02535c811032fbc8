"""Every parser of what arrives over the wire, fed anything: it refuses with its own
documented error and nothing else, and what it accepts keeps the invariants the rest of
the server relies on. Ids, times, whole numbers and nesting (``domain``), splitting a batch,
native events and bodies, Segment messages (``ingest``), and request bodies: compressed,
JSON or YAML definitions (``api.http``).

The definitions, reports, dashboard periods, settings, files and CLI inputs are in
``test_definition_parsers_hypothesis.py``."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import math
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
import yaml
from hypothesis import example, given
from hypothesis import strategies as st
from starlette.requests import Request

from retailor.api.http import inflate, load_yaml_definition, read_body, read_definition
from retailor.api.problems import ProblemError
from retailor.domain import numbers
from retailor.domain.events import EventType, order_revenue
from retailor.domain.ids import (
    DEFINITION_ID_PATTERN,
    ID_PATTERN,
    MAX_ID_LENGTH,
    REFUSED_RANGES,
    InvalidIdError,
    check_definition_id,
    definition_id_problem,
    id_problem,
)
from retailor.domain.nesting import MAX_NESTING, surely_shallow, too_deep, walk
from retailor.ingest.segment import SegmentMappingError, to_native
from retailor.ingest.service import BodyRejectedError, prepare_native, split_native_body
from retailor.ingest.splitting import (
    UnsplittableError,
    array_items,
    batch_items,
    id_member,
    object_members,
)
from retailor.ingest.validation import EventValidator, Invalid
from retailor.storage.schema import events_to_table
from tests.unit.hostile_strategies import (
    MODERATE,
    any_bytes,
    any_text,
    json_bytes,
    json_values,
    objects,
)

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
VALIDATOR = EventValidator()

# -- ids ---------------------------------------------------------------------------------


def _refused(char: str) -> bool:
    return any(low <= ord(char) <= high for low, high in REFUSED_RANGES)


@MODERATE
@given(any_text | st.text(min_size=250, max_size=300))
@example("c1\n")
@example("\u00a0")
def test_an_accepted_id_shows_every_character_it_holds(value: str) -> None:
    import re

    problem = id_problem(value)
    if problem is None:
        assert 1 <= len(value) <= MAX_ID_LENGTH
        assert not any(_refused(c) for c in value)
        assert value.strip()
    else:
        assert isinstance(problem, str) and problem
    surrogates = any(0xD800 <= ord(c) <= 0xDFFF for c in value)  # the document leaves them out
    if value and len(value) <= MAX_ID_LENGTH and not surrogates:
        assert (re.search(ID_PATTERN, value) is not None) == (problem is None)


@MODERATE
@given(any_text | st.from_regex(DEFINITION_ID_PATTERN, fullmatch=True))
@example("../x")
@example("a" * 129)
def test_an_accepted_definition_id_is_a_plain_file_name(value: str) -> None:
    try:
        checked = check_definition_id("offer", value)
    except InvalidIdError as exc:
        assert str(exc) == definition_id_problem("offer", value)
        return
    assert checked == value and 1 <= len(value) <= 128
    assert value.isascii() and value[0].isalnum()
    assert all(c.isalnum() or c in "._-" for c in value)
    assert "/" not in value and "\\" not in value and value not in (".", "..")


# -- whole numbers and nesting -------------------------------------------------------------


class _Page(msgspec.Struct):
    limit: int
    rows: list[int] = []
    share: float = 0.5


@MODERATE
@given(json_values(["limit", "rows", "share"], [8.0, 8, 8.5, [1.0, 2]]))
@example({"limit": 8.0, "rows": [1.0, 2]})
@example({"limit": 1e300})
def test_whole_floats_become_ints_and_nothing_else_changes(data: Any) -> None:
    before = msgspec.json.encode(data) if _finite(data) else None
    try:
        page = numbers.convert(data, _Page)
    except msgspec.ValidationError:
        return
    assert isinstance(page.limit, int) and all(isinstance(r, int) for r in page.rows)
    if before is not None:
        sent = msgspec.json.decode(before)
        assert page.limit == sent["limit"]
        assert page.rows == sent.get("rows", [])


def _finite(value: Any) -> bool:
    return all(not (isinstance(v, float) and not math.isfinite(v)) for v, _, _ in walk(value))


def _depth(value: Any) -> int:
    """The levels of lists and mappings in ``value`` (0 for a scalar), recursively."""
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


@MODERATE
@given(json_values(), st.integers(1, 6))
def test_too_deep_finds_exactly_the_containers_past_the_limit(value: Any, limit: int) -> None:
    where = too_deep(value, limit)
    assert (where is None) == (_depth(value) <= limit)
    if where is not None:
        assert where.startswith("$")
    if _finite(value):
        raw = msgspec.json.encode(value)
        if surely_shallow(raw, limit + 1):
            assert where is None


# -- splitting a batch ---------------------------------------------------------------------


@MODERATE
@given(any_bytes)
@example(b'{"events": [{"a": 1}, "')
@example(b"[" * 3000)
def test_splitting_refuses_only_with_unsplittable(body: bytes) -> None:
    for split in (array_items, object_members, lambda b: batch_items(b, "events")):
        with contextlib.suppress(UnsplittableError):
            split(body)
    found = id_member(body, "event_id", "messageId")
    assert found is None or isinstance(found, str)


# -- native events -------------------------------------------------------------------------

ENVELOPE = ["event_id", "type", "timestamp", "customer_id", "anonymous_id", "channel"]
ENVELOPE += ["store_id", "session_id", "decision_id", "properties", "context"]
PROPERTY_NAMES = ["item_id", "quantity", "price", "lines", "revenue", "discount", "order_id"]
PROPERTY_NAMES += ["query", "items", "offer_id", "points", "consent", "traits", "previous_id"]
WORDS: list[Any] = [t.value for t in EventType] + ["web", "app", "store", "sku-1", "c1"]
WORDS += [NOW.isoformat(), "2026-03-01", int(NOW.timestamp()), NOW.timestamp() * 1000]

native_events = objects(
    ENVELOPE + PROPERTY_NAMES,
    WORDS,
    required={
        "event_id": "e1",
        "type": "product_viewed",
        "customer_id": "c1",
        "properties": {"item_id": "sku-1"},
    },
)


def _check_accepted(event: Any) -> None:
    """What an accepted event guarantees: ids a person can read, someone named, a time
    since 1970 and at most a day ahead, shallow free-form data, finite amounts, and a row
    the event log can store."""
    assert id_problem(event.event_id) is None
    assert event.customer_id is not None or event.anonymous_id is not None
    for value in (event.customer_id, event.anonymous_id, event.store_id, event.session_id):
        assert value is None or id_problem(value) is None
    assert event.timestamp.tzinfo is not None
    assert datetime(1970, 1, 1, tzinfo=UTC) <= event.timestamp <= NOW + timedelta(days=1)
    assert too_deep(event.properties, MAX_NESTING) is None
    assert too_deep(event.context, MAX_NESTING) is None
    if event.type == EventType.ORDER_COMPLETED:
        revenue = order_revenue(event.properties)
        assert math.isfinite(revenue)
    events_to_table([event])


@MODERATE
@given(json_bytes(native_events) | any_bytes)
@example(b'{"event_id": "e", "type": "product_viewed", "customer_id": "c", "timestamp": 1e30}')
@example(b'{"event_id": "e", "type": "identify", "customer_id": "c", "timestamp": -1}')
def test_a_native_event_is_an_event_or_invalid(raw: bytes) -> None:
    try:
        event = VALIDATOR.from_json(raw, NOW)
    except Invalid as exc:
        assert str(exc)
        return
    _check_accepted(event)


@MODERATE
@given(native_events)
def test_an_event_from_a_file_is_an_event_or_invalid(data: dict[str, Any]) -> None:
    try:
        event = VALIDATOR.from_mapping(data, NOW)
    except Invalid:
        return
    _check_accepted(event)


@MODERATE
@given(
    st.lists(json_bytes(native_events) | any_bytes, max_size=5).map(
        lambda items: b'{"events": [' + b", ".join(items) + b"]}"
    )
    | any_bytes
)
def test_a_body_of_events_is_refused_whole_or_event_by_event(body: bytes) -> None:
    try:
        raws = split_native_body(body, max_events=100)
    except BodyRejectedError as exc:
        assert exc.status in (400, 413, 422)
        return
    prepared = prepare_native(raws, VALIDATOR, NOW, "test")
    assert len(prepared.events) + len(prepared.rejected) == len(raws)
    for rejected in prepared.rejected:
        assert not rejected.reason.startswith("could not be read"), rejected  # a defect
    for event in prepared.events:
        _check_accepted(event)


# -- Segment messages ----------------------------------------------------------------------

SEGMENT_KEYS = ["type", "event", "userId", "anonymousId", "messageId", "timestamp"]
SEGMENT_KEYS += ["originalTimestamp", "sentAt", "context", "properties", "traits", "name"]
SEGMENT_KEYS += ["category", "previousId", "groupId", "channel", "products", "product_id"]
SEGMENT_KEYS += ["price", "quantity", "order_id", "total", "revenue", "query", "app", "page"]
SEGMENT_WORDS: list[Any] = ["track", "identify", "page", "screen", "alias", "group"]
SEGMENT_WORDS += ["Product Viewed", "Order Completed", "Order Refunded", "Products Searched"]
SEGMENT_WORDS += ["Product Added", "Coupon Applied", "Promotion Viewed", "Checkout Started"]
SEGMENT_WORDS += [NOW.isoformat(), "1970-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "u1", 42]

segment_messages = objects(
    SEGMENT_KEYS,
    SEGMENT_WORDS,
    required={"type": "track", "event": "Product Viewed", "userId": "u1", "messageId": "m1"},
)


@MODERATE
@given(
    segment_messages | json_values(SEGMENT_KEYS, SEGMENT_WORDS), st.sampled_from([None, "track"])
)
@example(
    {"type": "track", "event": "x", "userId": "u", "originalTimestamp": "0001-01-01T00:00:00Z",
     "sentAt": "9999-12-31T23:59:59Z"},
    None,
)  # fmt: skip
def test_a_segment_message_maps_to_an_event_or_is_refused(message: Any, implied: Any) -> None:
    try:
        native = to_native(message, NOW, implied)
    except SegmentMappingError as exc:
        assert str(exc)
        return
    assert isinstance(native, dict) and isinstance(native.get("event_id"), str)
    try:
        event = VALIDATOR.from_mapping(native, NOW)
    except Invalid:
        return
    _check_accepted(event)


# -- request bodies ------------------------------------------------------------------------

LIMIT = 4096


@MODERATE
@given(st.binary(max_size=300), st.sampled_from(["gzip", "deflate"]))
def test_a_compressed_body_round_trips(data: bytes, encoding: str) -> None:
    packed = gzip.compress(data) if encoding == "gzip" else zlib.compress(data)
    assert inflate(packed, encoding, LIMIT) == data


@MODERATE
@given(any_bytes | st.binary(max_size=300).map(gzip.compress), st.sampled_from(["gzip", "deflate"]))
def test_a_compressed_body_is_read_within_the_limit_or_refused(body: bytes, encoding: str) -> None:
    try:
        data = inflate(body, encoding, LIMIT)
    except ProblemError as exc:
        assert exc.status in (400, 413)
        return
    assert len(data) <= LIMIT


def _request(body: bytes, headers: dict[str, str]) -> Request:
    chunks = [body[i : i + 97] for i in range(0, len(body), 97)] or [b""]
    messages = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
        for i, chunk in enumerate(chunks)
    ]

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    scope = {
        "type": "http",
        "method": "PUT",
        "path": "/",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }
    return Request(scope, receive)


yaml_texts = (
    json_values(["sources", "source", "rules", "k", "name"]).map(
        lambda v: yaml.safe_dump(v, allow_unicode=True).encode("utf-8", "surrogatepass")
    )
    | st.text(alphabet="&*!|>-:[]{}#'\"\\ \n\tabc019.~%@`", max_size=80).map(str.encode)
    | st.sampled_from(
        [b"a: &x [1]\nb: *x\n", b"!!python/object:os.system x", b"- " * 2000, b"\xff\xfe"]
    )
)


@MODERATE
@given(
    yaml_texts | any_bytes,
    st.sampled_from(["application/json", "application/yaml"]),
    st.sampled_from(["", "gzip", "deflate", "br"]),
    st.sampled_from([None, "0", "99999999", "abc"]),
)
def test_a_definition_body_is_a_value_or_a_problem(
    body: bytes, content_type: str, encoding: str, declared: str | None
) -> None:
    headers = {"content-type": content_type}
    if encoding:
        headers["content-encoding"] = encoding
        if encoding == "gzip":
            body = gzip.compress(body)
    if declared is not None:
        headers["content-length"] = declared
    try:
        value = asyncio.run(read_definition(_request(body, headers), LIMIT))
    except ProblemError as exc:
        assert exc.status in (400, 413, 415, 422), exc.status
        return
    assert _finite(value) and too_deep(value, 64) is None
    if encoding in ("", "gzip") and declared != "99999999":
        assert len(asyncio.run(read_body(_request(body, headers), LIMIT))) <= LIMIT


@MODERATE
@given(json_values())
def test_yaml_definitions_round_trip(value: Any) -> None:
    if not _finite(value) or not _no_surrogates(value):
        return
    text = yaml.safe_dump(value)  # escaped: PyYAML writes U+0085 raw and reads it as a break
    assert load_yaml_definition(text) == value


def _no_surrogates(value: Any) -> bool:
    def clean(text: Any) -> bool:
        return not isinstance(text, str) or not any(0xD800 <= ord(c) <= 0xDFFF for c in text)

    return all(
        clean(v) and (not isinstance(v, dict) or all(clean(k) for k in v))
        for v, _, _ in walk(value)
    )


@pytest.mark.parametrize(
    "text", [b"a: &x [1]\nb: *x\n", b'name: "\\ud800"\n', b"[" * 5000, b"a: !!binary x"]
)
def test_the_yaml_a_definition_may_not_hold_is_a_yaml_error(text: bytes) -> None:
    with pytest.raises((yaml.YAMLError, RecursionError)):
        load_yaml_definition(text)


def test_the_whole_number_examples_hold() -> None:  # the regression examples, spelled out
    assert numbers.convert({"limit": 8.0}, _Page).limit == 8
    with pytest.raises(msgspec.ValidationError):
        numbers.convert({"limit": 8.5}, _Page)

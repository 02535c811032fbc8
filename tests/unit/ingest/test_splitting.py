"""Splitting a JSON body around its broken members."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from retailor.ingest.splitting import (
    UnsplittableError,
    array_items,
    batch_items,
    id_member,
    object_members,
)

values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@given(st.lists(values, max_size=6), st.sampled_from([None, 2]))
def test_items_are_the_members_as_encoded(items: list[object], indent: int | None) -> None:
    text = json.dumps(items, indent=indent).encode()
    assert [json.loads(raw) for raw in array_items(text)] == items


@given(st.dictionaries(st.text(), values, max_size=5))
def test_object_members_by_key(members: dict[str, object]) -> None:
    text = json.dumps(members).encode()
    assert {k: json.loads(v) for k, v in object_members(text).items()} == members


def test_what_is_wrong_inside_a_member_stays_there() -> None:
    text = b'[{"a": NaN}, "c-\\ud800", 1e309, {"x": "\xff"}, ' + b"[" * 2000 + b"]" * 2000 + b"]"
    items = array_items(text)
    assert items[:4] == [b'{"a": NaN}', b'"c-\\ud800"', b"1e309", b'{"x": "\xff"}']
    assert len(items) == 5


def test_brackets_inside_strings_do_not_count() -> None:
    assert array_items(b'["]", "\\"[", {"k": "}"}]') == [b'"]"', b'"\\"["', b'{"k": "}"}']


@pytest.mark.parametrize(
    "text",
    [b"", b"{}", b"[1, 2", b"[1, 2]]", b'["never ends]', b"[1] x", b"[}"],
)
def test_unbalanced_text_cannot_be_split(text: bytes) -> None:
    with pytest.raises(UnsplittableError):
        array_items(text)


def test_a_batch_has_its_key_alone() -> None:
    assert batch_items(b'{"events": [1, 2]}', "events") == [b"1", b"2"]
    with pytest.raises(UnsplittableError):
        batch_items(b'{"events": [1], "more": 2}', "events")
    with pytest.raises(UnsplittableError):
        batch_items(b'{"other": [1]}', "events")


def test_empty_members_are_kept_for_their_decoder_to_refuse() -> None:
    assert array_items(b"[1,,2,]") == [b"1", b"", b"2", b""]
    assert array_items(b"[ ]") == []


def test_an_id_is_read_from_a_broken_object() -> None:
    assert id_member(b'{"x": NaN, "event_id": "e-1"}', "event_id") == "e-1"
    assert id_member(b'{"messageId": 17}', "event_id", "messageId") == "17"
    assert id_member(b'{"event_id": [1]}', "event_id") is None
    assert id_member(b"[1", "event_id") is None

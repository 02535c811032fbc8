"""What an id may hold: the refused ranges are exactly Unicode's invisible categories, and
the pattern reads the same in Python as the words that explain it."""

from __future__ import annotations

import importlib
import pkgutil
import re
import sys
import unicodedata

import jsonschema_rs
import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

import retailor
from retailor.domain.ids import (
    ID_PATTERN,
    REFUSED_RANGES,
    IdChecked,
    Identifier,
    IdFields,
    definition_id_problem,
    id_problem,
)

REFUSED_CATEGORIES = {"Cc", "Cf", "Cs", "Zl", "Zp"}


def test_the_refused_ranges_are_the_invisible_categories() -> None:
    refused = {code for low, high in REFUSED_RANGES for code in range(low, high + 1)}
    by_category = {
        code
        for code in range(sys.maxunicode + 1)
        if unicodedata.category(chr(code)) in REFUSED_CATEGORIES
    }
    assert refused == by_category


class _Holder(IdChecked):
    value: Identifier


def _accepted(value: str) -> bool:
    try:
        msgspec.convert({"value": value}, _Holder)
    except msgspec.ValidationError:
        return False
    return True


@pytest.mark.parametrize(
    "value", ["sku-1", "17850", "é中文", "a b", " padded ", "ABC/12", "x" * 256, "🛒"]
)
def test_ordinary_ids_pass(value: str) -> None:
    assert id_problem(value) is None
    assert _accepted(value)


@pytest.mark.parametrize(
    "value",
    ["", " ", "\t\n", "c1\n", "c\x00", "\u202ec1", "c\u200b1", "\ufeffc1", "c\u2028", "x" * 257],
)
def test_ids_hiding_characters_or_blank_are_refused(value: str) -> None:
    assert id_problem(value) is not None
    assert not _accepted(value)


_PATTERN = re.compile(ID_PATTERN)


@given(st.text(max_size=20))
def test_the_check_and_the_documented_pattern_agree(value: str) -> None:
    documented = 1 <= len(value) <= 256 and _PATTERN.search(value) is not None
    assert _accepted(value) == (id_problem(value) is None) == documented


def _structs() -> list[type]:
    for module in pkgutil.walk_packages(retailor.__path__, "retailor."):
        if not module.name.endswith("__main__"):
            importlib.import_module(module.name)
    found: list[type] = []
    todo = [msgspec.Struct]
    while todo:
        kind = todo.pop()
        found.append(kind)
        todo.extend(kind.__subclasses__())
    return [k for k in found if k.__module__.startswith("retailor.")]


def test_every_struct_with_an_id_field_checks_it() -> None:
    unchecked = [
        f"{kind.__module__}.{kind.__qualname__}.{field.name}"
        for kind in _structs()
        for field in msgspec.structs.fields(kind)
        if (field.type == Identifier or Identifier in getattr(field.type, "__args__", ()))
        and not issubclass(kind, IdFields)
    ]
    assert unchecked == []  # IdChecked checks as it decodes; EventValidator checks events


@pytest.mark.parametrize("how", ["json", "mapping"])
@pytest.mark.parametrize(
    "where",
    ["customer_id", "session_id", "properties.order_id", "properties.lines[1].item_id"],
)
@pytest.mark.parametrize("bad", ["x\n", "x\u200b", "  "])
def test_events_refuse_hidden_ids_wherever_they_are(how: str, where: str, bad: str) -> None:
    from datetime import UTC, datetime

    from retailor.ingest.validation import EventValidator, Invalid

    event: dict[str, object] = {
        "event_id": "e1",
        "type": "order_completed",
        "customer_id": "c1",
        "properties": {
            "order_id": "o1",
            "lines": [
                {"item_id": "a", "quantity": 1, "price": 2.0},
                {"item_id": "b", "quantity": 1, "price": 2.0},
            ],
        },
    }
    if where == "properties.lines[1].item_id":
        event["properties"]["lines"][1]["item_id"] = bad  # type: ignore[index]
    elif where.startswith("properties."):
        event["properties"][where.split(".")[1]] = bad  # type: ignore[index]
    else:
        event[where] = bad
    validator = EventValidator()
    now = datetime.now(UTC)
    with pytest.raises(Invalid, match=where.rsplit(".", 1)[-1].split("[")[0]):
        if how == "json":
            validator.from_json(msgspec.json.encode(event), now)
        else:
            validator.from_mapping(event, now)


def _document_validator() -> jsonschema_rs.Validator:
    return jsonschema_rs.validator_for(msgspec.json.schema(Identifier))


def test_the_documented_pattern_compiles_outside_python() -> None:
    # JSON Schema tools that read text as Unicode scalar values (jsonschema_rs here, the
    # validator of the API fuzzer) must be able to use the document's pattern
    _document_validator()


@given(st.text(max_size=20))
def test_the_documented_pattern_and_the_server_agree(value: str) -> None:
    assert _document_validator().is_valid(value) == _accepted(value)


@pytest.mark.parametrize("value", ["a", "0", "spring-sale_2.v1", "x" * 128])
def test_definition_ids_pass(value: str) -> None:
    assert definition_id_problem("offer", value) is None


@pytest.mark.parametrize("value", ["", ".hidden", "-x", "a/b", "a b", "a\n", "é", "x" * 129])
def test_definition_ids_that_are_no_plain_file_names_are_refused(value: str) -> None:
    assert definition_id_problem("offer", value) is not None

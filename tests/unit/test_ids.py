"""What an id may hold: the refused ranges are exactly Unicode's invisible categories, and
the pattern reads the same in Python as the words that explain it."""

from __future__ import annotations

import sys
import unicodedata

import jsonschema_rs
import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from retailor.domain.ids import REFUSED_RANGES, Identifier, definition_id_problem, id_problem

REFUSED_CATEGORIES = {"Cc", "Cf", "Cs", "Zl", "Zp"}


def test_the_refused_ranges_are_the_invisible_categories() -> None:
    refused = {code for low, high in REFUSED_RANGES for code in range(low, high + 1)}
    by_category = {
        code
        for code in range(sys.maxunicode + 1)
        if unicodedata.category(chr(code)) in REFUSED_CATEGORIES
    }
    assert refused == by_category


class _Holder(msgspec.Struct):
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


@given(st.text(max_size=20))
def test_the_pattern_and_the_explanation_agree(value: str) -> None:
    assert _accepted(value) == (id_problem(value) is None)


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

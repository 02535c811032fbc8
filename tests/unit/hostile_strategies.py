"""Hypothesis strategies for what a hostile or careless client sends: any text, any bytes,
any JSON, and JSON shaped like what a parser expects (its own field names and values mixed
with junk), so that generated inputs reach past a parser's first check.

The property tests of every parser of outside input use them
(``test_parsers_hypothesis.py``, ``test_definition_parsers_hypothesis.py``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

#: Every property test here: enough examples to find the odd case, few enough that each
#: module runs in seconds; no deadline (a busy machine is not a failure).
MODERATE = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

_ODD = ["", " ", "\t", "\n", "\x00", "\u202e", "\u200b", "\ufeff", "NaN", "-0", "1e309"]
#: Text as a JSON or YAML decoder hands it on: any Unicode scalar value, controls and
#: format characters included (the decoders refuse lone surrogates).
decoded_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=40) | st.sampled_from(
    _ODD
)
#: Any Python text, lone surrogates included (query strings, file names, settings).
any_text = st.text(max_size=40) | st.sampled_from([*_ODD, "\ud800", "a\udfffb"])

#: Numbers as JSON decoders give them, and the ones they should never give.
any_number = (
    st.integers()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.sampled_from([0, -1, 1.0, 8.0, 0.5, 1e308, -1e308, 2**63, -(2**63) - 1])
)

scalars = st.none() | st.booleans() | any_number | decoded_text


def json_values(keys: Sequence[str] = (), words: Sequence[Any] = ()) -> st.SearchStrategy[Any]:
    """Any value a JSON or YAML decoder may give (including non-finite floats), whose object keys are often
    ``keys`` and whose leaves are often ``words``: the vocabulary of one parser."""
    key = st.sampled_from(list(keys)) | decoded_text if keys else decoded_text
    leaf = scalars | st.sampled_from(list(words)) if words else scalars
    return st.recursive(
        leaf,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(key, inner, max_size=5),
        max_leaves=20,
    )


def objects(
    keys: Sequence[str], words: Sequence[Any] = (), required: dict[str, Any] | None = None
) -> st.SearchStrategy[dict[str, Any]]:
    """JSON objects with some of ``keys`` (values from :func:`json_values` of the same
    vocabulary) and now and then a stray key; ``required`` fields are usually present with
    a sensible value, so that the rest of the object is looked at."""
    inner = json_values(keys, words)
    base = st.dictionaries(st.sampled_from(list(keys)) | decoded_text, inner, max_size=6)
    if not required:
        return base
    given = dict(required)
    keep = st.lists(st.sampled_from([True, True, True, False]), min_size=len(given))
    return st.builds(
        lambda found, flags: {
            **found,
            **{k: v for (k, v), kept in zip(given.items(), flags, strict=False) if kept},
        },
        base,
        keep,
    )


def json_bytes(values: st.SearchStrategy[Any]) -> st.SearchStrategy[bytes]:
    """``values`` encoded as JSON text (``NaN``/``Infinity`` where floats are not finite,
    as careless encoders write them), sometimes cut short or with a byte flipped."""

    def encode(value: Any) -> bytes:
        return json.dumps(value, allow_nan=True, ensure_ascii=False).encode(
            "utf-8", "surrogatepass"
        )

    def damage(data: bytes, how: int, at: int) -> bytes:
        if not data or how == 0:
            return data
        cut = at % len(data)
        if how == 1:
            return data[:cut]
        return data[:cut] + bytes([(data[cut] + 1) % 256]) + data[cut + 1 :]

    return st.builds(
        damage, values.map(encode), st.sampled_from([0, 0, 0, 1, 2]), st.integers(0, 10**6)
    )


#: Any bytes at all, or JSON-ish bytes.
any_bytes = st.binary(max_size=200) | json_bytes(json_values())


def vocabulary(kind: Any) -> tuple[list[str], list[Any]]:
    """The field names of ``kind`` (a msgspec type) and of every type inside it, and the
    values its literals and enums allow: what to mix into generated definitions."""
    import msgspec.inspect as mi

    names: set[str] = set()
    words: list[Any] = []
    seen: set[int] = set()
    stack: list[Any] = [mi.type_info(kind)]
    while stack:
        info = stack.pop()
        if id(info) in seen:
            continue
        seen.add(id(info))
        if isinstance(info, mi.StructType | mi.DataclassType | mi.TypedDictType):
            if isinstance(info, mi.StructType) and info.tag_field is not None:
                names.add(info.tag_field)
                words.append(info.tag)
            for field in info.fields:
                names.add(field.encode_name)
                stack.append(field.type)
        elif isinstance(info, mi.LiteralType):
            words += list(info.values)
        elif isinstance(info, mi.EnumType):
            words += [member.value for member in info.cls]
        elif isinstance(info, mi.UnionType):
            stack += list(info.types)
        elif isinstance(info, mi.ListType | mi.SetType | mi.FrozenSetType | mi.VarTupleType):
            stack.append(info.item_type)
        elif isinstance(info, mi.TupleType):
            stack += list(info.item_types)
        elif isinstance(info, mi.DictType):
            stack += [info.key_type, info.value_type]
        elif isinstance(info, mi.Metadata):
            stack.append(info.type)
    return sorted(names), words

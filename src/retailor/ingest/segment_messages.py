"""The fields of a Segment message that Retailor reads, with their types: what
:func:`retailor.ingest.segment.to_native` checks a message against before mapping it, and
what the OpenAPI document shows for the Segment endpoints. Fields not listed here are
allowed (Segment libraries send more) and kept in ``context.segment``.

A message of ``/v1/track`` (``identify``, ``page``, ``screen``, ``alias``) may leave out
``type``; in ``/v1/batch`` every message says its ``type``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

import msgspec
from msgspec import Meta, Struct

from retailor.domain.ids import END, ID_PATTERN, MAX_ID_LENGTH
from retailor.domain.timestamps import EventTime, Timestamp

#: The kinds of message: ``group`` is read in batches only (it has no endpoint of its own).
KINDS = ("track", "identify", "page", "screen", "alias", "group")
SINGLE_KINDS = KINDS[:-1]

#: A number given as an id: its digits make the id, which has 256 characters at most
#: (whole numbers as they are; others within 2**53, which they keep exactly).
NumberId = (
    Annotated[int, Meta(extra_json_schema={"minimum": -(10**255 - 1), "maximum": 10**256 - 1})]
    | Annotated[float, Meta(ge=-(2**53), le=2**53)]
)
#: An id as Segment text: empty (no id at all) or an id.
SegmentIdText = Annotated[str, Meta(max_length=MAX_ID_LENGTH, pattern=f"^{END}|{ID_PATTERN}")]
#: Segment ids are text, but libraries send numbers too.
SegmentId = SegmentIdText | NumberId | None
Data = dict[str, Any] | None


class _Message(Struct, kw_only=True):
    messageId: SegmentId = None
    userId: SegmentId = None
    anonymousId: SegmentId = None
    timestamp: EventTime = None
    originalTimestamp: EventTime = None
    sentAt: Timestamp | None = None
    properties: Data = None
    traits: Data = None
    context: Data = None


#: What each kind reads beyond the common fields.
_OWN_FIELDS: dict[str, list[tuple[str, Any, Any]]] = {
    "track": [("event", Annotated[str, Meta(min_length=1, max_length=256)], msgspec.NODEFAULT)],
    "identify": [],
    "page": [("name", str | None, None), ("category", str | None, None)],
    "screen": [("name", str | None, None), ("category", str | None, None)],
    "alias": [("previousId", SegmentId, None)],
    "group": [("groupId", SegmentId, None)],
}


def _given(*names: str) -> dict[str, Any]:
    """``names`` are there, and not empty."""
    given = {"anyOf": [{"type": "string", "minLength": 1}, {"type": "number"}]}
    return {"required": list(names), "properties": {name: given for name in names}}


#: A message names someone: ``userId`` or ``anonymousId``; an alias names both the user
#: and the id it had before (``previousId``). The mapped event is refused otherwise.
NAMES_SOMEONE: dict[str, Any] = {"anyOf": [_given("userId"), _given("anonymousId")]}
ALIAS_NAMES_BOTH = _given("userId", "previousId")


def _struct(kind: str, *, tagged: bool) -> Any:
    fields = list(_OWN_FIELDS[kind])
    if tagged:
        return msgspec.defstruct(
            f"{kind.title()}Message",
            fields,
            bases=(_Message,),
            kw_only=True,
            tag_field="type",
            tag=kind,
        )
    fields.insert(0, ("type", Literal[kind], kind))
    return msgspec.defstruct(f"{kind.title()}Call", fields, bases=(_Message,), kw_only=True)


#: Each kind of message as a batch holds it (``type`` says which), by kind.
MESSAGES: dict[str, Any] = {kind: _struct(kind, tagged=True) for kind in KINDS}
#: The body of ``/v1/<kind>`` by kind, documented with the rule that spans its fields.
CALLS: dict[str, Any] = {
    kind: Annotated[
        _struct(kind, tagged=False),
        Meta(extra_json_schema={"allOf": [NAMES_SOMEONE, ALIAS_NAMES_BOTH]})
        if kind == "alias"
        else Meta(extra_json_schema=NAMES_SOMEONE),
    ]
    for kind in SINGLE_KINDS
}
AnyMessage: Any = Annotated[
    Union[tuple(MESSAGES.values())],  # noqa: UP007
    Meta(
        extra_json_schema={
            "allOf": [
                NAMES_SOMEONE,
                {
                    "if": {"required": ["type"], "properties": {"type": {"const": "alias"}}},
                    "then": ALIAS_NAMES_BOTH,
                },
            ]
        }
    ),
]


class BatchEnvelope(Struct, kw_only=True):
    """A batch around its messages (each is read on its own, so one that does not hold
    costs only itself)."""

    batch: list[Any]
    context: Data = None
    sentAt: Timestamp | None = None


class SegmentBatchIn(BatchEnvelope, kw_only=True):
    """A Segment batch: ``{"batch": [message, ...]}``; a batch ``context`` is merged under
    each message's own."""

    batch: list[AnyMessage]

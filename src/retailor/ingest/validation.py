"""Validate one incoming event (native format) into an ``Event``, or say why it is rejected."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Union

import msgspec
from msgspec import Meta

from retailor.domain.events import (
    PROPERTY_SCHEMAS,
    REQUIRES_CUSTOMER,
    Channel,
    Event,
    EventType,
    Identifier,
    check_properties,
)
from retailor.domain.ids import IdFields
from retailor.domain.nesting import MAX_NESTING, surely_shallow, too_deep
from retailor.domain.timestamps import EventTime


def _plain(text: bytes) -> bool:
    """Whether JSON text surely holds no id that ``id_problem`` refuses: it is ASCII with
    no escape (so no control or format character) and no string that is empty or starts
    with a space (so no blank one). Byte searches at C speed; a false "no" only costs the
    full check."""
    return text.isascii() and b"\\" not in text and b'""' not in text and b'" ' not in text


_EPOCH_MS_THRESHOLD = 100_000_000_000  # numbers above this are epoch milliseconds
_OLDEST = datetime(1970, 1, 1, tzinfo=UTC)
_TYPES = ", ".join(t.value for t in EventType)
_CHANNELS = ", ".join(c.value for c in Channel)


class _Envelope(IdFields, kw_only=True, forbid_unknown_fields=True):
    """What every event carries, whatever its type."""

    event_id: Identifier
    timestamp: EventTime = None
    customer_id: Identifier | None = None
    anonymous_id: Identifier | None = None
    channel: Channel | None = None
    store_id: Identifier | None = None
    session_id: Identifier | None = None
    decision_id: Identifier | None = None
    properties: dict[str, Any] = {}
    context: dict[str, Any] = {}


class EventIn(_Envelope, kw_only=True, forbid_unknown_fields=True):
    """The native wire form of an event, before the rules that span fields."""

    type: EventType


def _documented(event_type: EventType) -> Any:
    """The event of one type as the OpenAPI document shows it: its properties' schema
    (required when some property is), and ``customer_id`` required where the type needs it
    (the rules :meth:`EventValidator.finish` applies)."""
    props = PROPERTY_SCHEMAS[event_type]
    needed = any(field.required for field in msgspec.structs.fields(props))
    fields: list[tuple[str, Any, Any]] = [
        ("properties", props, msgspec.NODEFAULT if needed else msgspec.field(default_factory=dict))
    ]
    if event_type in REQUIRES_CUSTOMER:
        fields.append(("customer_id", Identifier, msgspec.NODEFAULT))
    name = "".join(part.title() for part in event_type.value.split("_")) + "Event"
    return msgspec.defstruct(
        name,
        fields,
        bases=(_Envelope,),
        kw_only=True,
        forbid_unknown_fields=True,
        tag_field="type",
        tag=event_type.value,
    )


_NAMES_SOMEONE = {
    "anyOf": [
        {"required": [name], "properties": {name: {"type": "string"}}}
        for name in ("customer_id", "anonymous_id")
    ]
}
#: One native event as the OpenAPI document shows it: one schema per type, and someone
#: named (``customer_id`` or ``anonymous_id``).
DocumentedEvent: Any = Annotated[
    Union[tuple(_documented(t) for t in EventType)],  # noqa: UP007
    Meta(extra_json_schema={"allOf": [_NAMES_SOMEONE]}),
]


class Invalid(Exception):
    """An event broke a rule; ``str(exc)`` is the reason shown to the sender."""


@dataclass(frozen=True)
class EventValidator:
    """Checks events against the envelope and per-type rules.

    ``max_future`` bounds how far ahead of the server clock a timestamp may be.
    """

    max_future: timedelta = timedelta(hours=24)

    def from_json(self, raw: bytes | msgspec.Raw, received_at: datetime) -> Event:
        """Validate one event given as JSON bytes; raises ``Invalid``."""
        try:
            wire = _decoder.decode(raw)
        except msgspec.ValidationError as exc:
            raise Invalid(_where(exc)) from None
        except (msgspec.DecodeError, UnicodeDecodeError) as exc:
            raise Invalid(f"not valid JSON: {exc}") from None
        except RecursionError:
            raise Invalid("the event nests lists and objects too deeply") from None
        text = raw if isinstance(raw, bytes) else bytes(raw)  # msgspec.Raw from a batch
        return self.finish(
            wire,
            received_at,
            shallow=surely_shallow(text, MAX_NESTING),
            plain=_plain(text),
        )

    def from_mapping(self, data: Any, received_at: datetime) -> Event:
        """Validate one event given as a mapping (from a file or another format)."""
        if not isinstance(data, dict):
            raise Invalid(f"an event must be a JSON object, got {type(data).__name__}")
        try:
            wire = msgspec.convert(data, EventIn, strict=True)
        except msgspec.ValidationError as exc:
            raise Invalid(_where(exc)) from None
        return self.finish(wire, received_at)

    def finish(
        self, wire: EventIn, received_at: datetime, *, shallow: bool = False, plain: bool = False
    ) -> Event:
        """Apply the rules that span fields and build the stored ``Event``. ``shallow``
        says the caller knows the event cannot nest :data:`MAX_NESTING` levels; ``plain``,
        that its text cannot hold an id :func:`~retailor.domain.ids.id_problem` refuses
        (ASCII with no escape and no blank string: the check of ids is then skipped)."""
        if not plain:
            problem = wire.id_problem()
            if problem is not None:
                raise Invalid(problem)
        if not shallow:
            for name in ("properties", "context"):
                where = too_deep(getattr(wire, name), MAX_NESTING - 1, name)
                if where is not None:
                    raise Invalid(
                        f"{name} nest lists and objects more than {MAX_NESTING} levels deep"
                        f" - at `{where}`"
                    )
        event_type = wire.type
        if wire.customer_id is None and wire.anonymous_id is None:
            raise Invalid("the event names no one: give customer_id or anonymous_id")
        if event_type in REQUIRES_CUSTOMER and wire.customer_id is None:
            raise Invalid(f"a {event_type.value} event needs customer_id")
        channel = wire.channel
        timestamp = self._timestamp(wire.timestamp, received_at)
        problem = check_properties(event_type, wire.properties, ids=not plain)
        if problem:
            raise Invalid(problem)
        return Event(
            event_id=wire.event_id,
            type=event_type,
            timestamp=timestamp,
            received_at=received_at,
            customer_id=wire.customer_id,
            anonymous_id=wire.anonymous_id,
            channel=channel,
            store_id=wire.store_id,
            session_id=wire.session_id,
            decision_id=wire.decision_id,
            properties=wire.properties,
            context=wire.context,
        )

    def _timestamp(self, value: datetime | float | None, received_at: datetime) -> datetime:
        if value is None:
            return received_at
        if isinstance(value, bool):
            raise Invalid("timestamp must be an RFC 3339 string or epoch seconds")
        if isinstance(value, int | float):
            seconds = value / 1000 if abs(value) > _EPOCH_MS_THRESHOLD else value
            try:
                ts = datetime.fromtimestamp(seconds, tz=UTC)
            except (OverflowError, OSError, ValueError):
                raise Invalid(f"timestamp {value} is out of range") from None
        else:
            ts = value if value.tzinfo else value.replace(tzinfo=UTC)
            try:
                ts = ts.astimezone(UTC)
            except OverflowError:
                raise Invalid(f"timestamp {value.isoformat()} is out of range") from None
        if ts > received_at + self.max_future:
            raise Invalid(
                f"timestamp {ts.isoformat()} is more than {self.max_future} ahead of the "
                f"server clock ({received_at.isoformat()})"
            )
        if ts < _OLDEST:
            raise Invalid(f"timestamp {ts.isoformat()} is before 1970")
        return ts


_decoder = msgspec.json.Decoder(EventIn)


_UNKNOWN = re.compile(r"^Invalid enum value (.*) - at `\$\.(type|channel)`$")


def _where(exc: msgspec.ValidationError) -> str:
    text = str(exc)
    unknown = _UNKNOWN.match(text)
    if unknown is not None:
        value, field = unknown.groups()
        if field == "type":
            return f"unknown event type {value}; known types: {_TYPES}"
        return f"unknown channel {value}; known: {_CHANNELS}"
    if text.startswith("Expected `object`, got `") and "- at" not in text:
        return "an event must be a JSON object, got " + text.removeprefix("Expected `object`, got ")
    return text.replace("at `$.", "at `")

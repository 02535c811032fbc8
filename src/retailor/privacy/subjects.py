"""Finding everything that names one person: from any identifier (a customer or visitor
id, ``email:…``, ``phone:…``, ``loyalty_card:…``) to their whole identity cluster, the ids
rows are keyed by, the identifiers as they were written in their events, and the salted
hashes a suppression list keeps."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from retailor.domain.customers import CustomerRef, IdentifierKind
from retailor.domain.events import Event, EventType
from retailor.domain.privacy import Subject
from retailor.identity.identifiers import (
    event_identifiers,
    hashed,
    normalize_email,
    normalize_phone,
    prefixed,
)
from retailor.profiles.service import ProfileService
from retailor.storage.base import EventLog

#: Traits and properties whose values are identifiers as people wrote them.
_WRITTEN = ("email", "phone", "loyalty_card", "card_id", "payment_token")
#: How many of a person's events are read to find how they wrote their identifiers.
_READ_LIMIT = 1_000_000


@dataclass(frozen=True)
class ResolvedSubject:
    """One person as the stores match them, and what the suppression list keeps."""

    subject: Subject
    #: the canonical customer (None when no identity cluster knows the identifier)
    key: str | None
    #: every identifier of the cluster in the identity graph's form
    refs: tuple[CustomerRef, ...]


def graph_ref(identifier: str, salt: str) -> CustomerRef:
    """``identifier`` as the identity graph keeps it (addresses, phones and payment tokens
    hashed); a plain id is a customer id."""
    split = prefixed(identifier)
    if split is None:
        return CustomerRef(IdentifierKind.CUSTOMER_ID, identifier)
    kind, value = split
    if kind is IdentifierKind.EMAIL:
        return CustomerRef(kind, hashed(kind, normalize_email(value) or value, salt))
    if kind is IdentifierKind.PHONE:
        return CustomerRef(kind, hashed(kind, normalize_phone(value) or value, salt))
    if kind is IdentifierKind.PAYMENT_TOKEN:
        return CustomerRef(kind, hashed(kind, value, salt))
    return CustomerRef(kind, value)


def suppression_hash(ref: CustomerRef, salt: str) -> str:
    """What the suppression list keeps of one identifier (in the graph's form)."""
    return hashed(ref.kind, ref.value, f"suppress\x1f{salt}")


def resolve_subject(identifier: str, profiles: ProfileService, events: EventLog) -> ResolvedSubject:
    """The person ``identifier`` names, with every identifier of their cluster."""
    salt = profiles.salt
    key = profiles.resolve(identifier)
    refs: list[CustomerRef] = [graph_ref(identifier, salt)]
    if key is not None:
        refs += profiles.graph.members(key)
    ids = {
        r.value for r in refs if r.kind in (IdentifierKind.CUSTOMER_ID, IdentifierKind.ANONYMOUS_ID)
    }
    ids |= {f"a:{r.value}" for r in refs if r.kind is IdentifierKind.ANONYMOUS_ID}
    if key is not None:
        ids.add(key)
    texts = {r.value for r in refs if r.kind is IdentifierKind.LOYALTY_CARD}
    split = prefixed(identifier)
    texts.add(split[1] if split is not None else identifier)
    plain = sorted(i for i in ids if not i.startswith("a:"))
    written, more = _written(events.timeline(plain, _READ_LIMIT) if plain else [], salt)
    texts |= written
    refs += more
    return ResolvedSubject(
        subject=Subject(ids=tuple(sorted(ids)), texts=tuple(sorted(t for t in texts if t))),
        key=key,
        refs=tuple(dict.fromkeys(refs)),
    )


def _written(found: Iterable[Event], salt: str) -> tuple[set[str], list[CustomerRef]]:
    """The identifiers as written in a person's events, and those events' identifiers in
    the graph's form (an identifier the graph refused to link still names them)."""
    texts: set[str] = set()
    refs: list[CustomerRef] = []
    for event in found:
        props = event.properties
        traits = props.get("traits") if event.type is EventType.IDENTIFY else props
        for source in (traits, props):
            if isinstance(source, dict):
                for name in _WRITTEN:
                    value = source.get(name)
                    if isinstance(value, str | int) and not isinstance(value, bool):
                        texts.add(str(value).strip())
        refs += event_identifiers(event, salt)
    return texts, refs

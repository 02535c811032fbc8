"""Consent: whether a customer may be contacted, or their data used, for a purpose — the
one rule every export of customers follows (segment exports, batch recommendations, the customer
columns of report exports) and campaigns will follow. Pure: it reads the consent a
profile holds (``ProfileView.consent``: purpose → the latest choice, from
``consent_updated`` events) and nothing else.

The purposes are those of ``consent_updated`` events (``personalization``,
``marketing_email``, ``marketing_sms``, ``marketing_push``, ``analytics``), plus
``marketing``, a marketing contact on some channel, which a customer refuses by
withdrawing any of the three marketing purposes. Also the changes of consent that
``consent_updated`` events record (:func:`consent_changes`), for a customer's history.

>>> may_contact({"marketing_email": False}, "marketing")
False
>>> may_contact({}, "marketing_email"), may_contact({}, "marketing_email", required=True)
(True, False)
>>> may_contact({"analytics": True}, "analytics", required=True)
True
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from retailor.domain.events import ConsentPurpose, Event, EventType

if TYPE_CHECKING:
    from retailor.profiles.service import ProfileService

#: A marketing contact on any channel (not a purpose of its own in events).
MARKETING = "marketing"
#: The purposes ``MARKETING`` stands for.
MARKETING_PURPOSES = (
    ConsentPurpose.MARKETING_EMAIL.value,
    ConsentPurpose.MARKETING_SMS.value,
    ConsentPurpose.MARKETING_PUSH.value,
)
#: Every purpose an export may be made for.
PURPOSES = (MARKETING, *(p.value for p in ConsentPurpose))


class UnknownPurposeError(ValueError):
    """A purpose that is none of :data:`PURPOSES`."""


def check_purpose(purpose: str) -> str:
    """``purpose`` when it is one of :data:`PURPOSES`; ``UnknownPurposeError`` saying
    which there are otherwise."""
    if purpose not in PURPOSES:
        raise UnknownPurposeError(
            f"unknown consent purpose {purpose!r}: use one of {', '.join(PURPOSES)}"
        )
    return purpose


def may_contact(consent: Mapping[str, bool], purpose: str, *, required: bool = False) -> bool:
    """May the customer whose consent is ``consent`` be contacted (or their data used)
    for ``purpose``?

    Never once they withdrew it (``marketing``: once they withdrew any marketing
    purpose). Yes once they gave it (``marketing``: every marketing purpose they were
    asked about given, at least one). Without any record: yes, unless the installation
    ``required`` explicit consent (the ``consent_required`` setting)."""
    if purpose == MARKETING:
        choices = [consent[p] for p in MARKETING_PURPOSES if p in consent]
        if not choices:
            return not required
        return all(choices)
    given = consent.get(purpose)
    return given if given is not None else not required


@dataclass(frozen=True)
class ConsentChange:
    """One purpose given or withdrawn, by one ``consent_updated`` event."""

    purpose: str
    granted: bool
    source: str | None
    at: datetime
    event_id: str
    channel: str | None = None


def consent_changes(events: Iterable[Event]) -> list[ConsentChange]:
    """The changes the ``consent_updated`` events among ``events`` record, in the order
    of the events (purposes of one event in name order)."""
    changes = []
    for event in events:
        if event.type is not EventType.CONSENT_UPDATED:
            continue
        source = event.properties.get("source")
        for purpose, granted in sorted(event.properties.get("purposes", {}).items()):
            changes.append(
                ConsentChange(
                    purpose=str(purpose),
                    granted=bool(granted),
                    source=source if isinstance(source, str) else None,
                    at=event.timestamp,
                    event_id=event.event_id,
                    channel=event.channel.value if event.channel is not None else None,
                )
            )
    return changes


def withdrawn_ids(profiles: ProfileService, purpose: str = "analytics") -> set[str]:
    """Every id (customer, visitor, canonical customer, ``a:``visitor) of the customers
    who withdrew ``purpose``: what a customer-level export leaves unnamed."""
    found: set[str] = set()
    keys = list(profiles.customer_keys())
    for key, consent in zip(keys, profiles.consents(keys), strict=True):
        if consent is not None and consent.get(purpose) is False:
            found.add(key)
            for identifier in profiles.identifiers_of(key):
                found.update((identifier, f"a:{identifier}"))
    return found

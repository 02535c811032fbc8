"""Extracting and normalising the identifiers an event carries. Email addresses and phone
numbers are kept only as salted hashes."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from retailor.domain.customers import CustomerRef, IdentifierKind
from retailor.domain.events import Event, EventType

_NON_DIGITS = re.compile(r"[^0-9]")
_KINDS = frozenset(kind.value for kind in IdentifierKind)


def prefixed(identifier: str) -> tuple[IdentifierKind, str] | None:
    """``identifier`` written as ``kind:value`` (``email:ann@example.com``,
    ``loyalty_card:123``), split; None for a plain id."""
    kind, sep, value = identifier.partition(":")
    return (IdentifierKind(kind), value) if sep and kind in _KINDS else None


def normalize_email(value: str) -> str | None:
    """``" Ada@Example.COM "`` → ``"ada@example.com"``; None when it is not an address."""
    email = value.strip().lower()
    return email if "@" in email and "." in email.rsplit("@", 1)[-1] else None


def normalize_phone(value: str) -> str | None:
    """Digits only, an international ``+`` or ``00`` prefix dropped (``+44 1234 567891``,
    ``0044 1234 567891`` and ``441234567891`` are one number); None when fewer than 6
    digits remain.

    >>> normalize_phone("+44 (1234) 567-891") == normalize_phone("0044 1234 567891")
    True
    """
    phone = _NON_DIGITS.sub("", value.strip())
    if phone.startswith("00"):
        phone = phone[2:]
    return phone if len(phone) >= 6 else None


def hashed(kind: IdentifierKind, value: str, salt: str) -> str:
    return hashlib.sha256(f"{salt}\x1f{kind.value}\x1f{value}".encode()).hexdigest()[:32]


def _text(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def event_identifiers(event: Event, salt: str) -> list[CustomerRef]:
    """Every identifier the event names, customer id first."""
    refs: list[CustomerRef] = []
    if event.customer_id:
        refs.append(CustomerRef(IdentifierKind.CUSTOMER_ID, event.customer_id))
    if event.anonymous_id:
        refs.append(CustomerRef(IdentifierKind.ANONYMOUS_ID, event.anonymous_id))
    props = event.properties
    traits = props.get("traits") if event.type is EventType.IDENTIFY else props
    if isinstance(traits, dict):
        email = _text(traits.get("email"))
        if email and (normal := normalize_email(email)):
            refs.append(
                CustomerRef(IdentifierKind.EMAIL, hashed(IdentifierKind.EMAIL, normal, salt))
            )
        phone = _text(traits.get("phone"))
        if phone and (normal := normalize_phone(phone)):
            refs.append(
                CustomerRef(IdentifierKind.PHONE, hashed(IdentifierKind.PHONE, normal, salt))
            )
        card = _text(traits.get("loyalty_card") or traits.get("card_id"))
        if card:
            refs.append(CustomerRef(IdentifierKind.LOYALTY_CARD, card))
        token = _text(traits.get("payment_token"))
        if token:
            refs.append(
                CustomerRef(
                    IdentifierKind.PAYMENT_TOKEN, hashed(IdentifierKind.PAYMENT_TOKEN, token, salt)
                )
            )
    if event.type is EventType.ALIAS:
        previous = _text(props.get("previous_id"))
        if previous:
            refs.append(CustomerRef(IdentifierKind.ANONYMOUS_ID, previous))
    return list(dict.fromkeys(refs))

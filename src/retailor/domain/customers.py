"""Customers as the event log sees them: the identifiers an event names.

The identity graph and profiles build on these in their own packages.
"""

from __future__ import annotations

import enum

from msgspec import Struct


class IdentifierKind(enum.StrEnum):
    """Kinds of identifier that can point at a customer."""

    CUSTOMER_ID = "customer_id"
    ANONYMOUS_ID = "anonymous_id"
    EMAIL = "email"
    PHONE = "phone"
    LOYALTY_CARD = "loyalty_card"
    PAYMENT_TOKEN = "payment_token"


class CustomerRef(Struct, frozen=True):
    """One identifier of one kind, e.g. ``CustomerRef("customer_id", "c-42")``."""

    kind: IdentifierKind
    value: str

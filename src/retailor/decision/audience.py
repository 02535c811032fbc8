"""Who a decision is for: the canonical customer, every subject of the identity cluster
(for the online features), consent, loyalty tier, new or returning, and segments (only
evaluated when a rule or an offer asks; in memory, current as of the last event)."""

from __future__ import annotations

from dataclasses import dataclass

from retailor.domain.customers import IdentifierKind
from retailor.identity.identifiers import prefixed
from retailor.profiles.segmentation import SegmentService
from retailor.profiles.service import ProfileService

MAX_SUBJECTS = 20


@dataclass(frozen=True)
class Who:
    """The resolved customer of a request."""

    key: str | None  # canonical customer key, None for a stranger
    subjects: tuple[str, ...]  # online-feature keys (c:..., a:...)
    consent: dict[str, bool]
    loyalty_tier: str | None
    returning: bool
    #: who the request names: the canonical key, or for a customer id not seen yet that id
    #: (the key its first event will give it); offer caps and the decision log use it
    named: str | None = None
    #: the experiment unit: the canonical customer id when the request resolves to a
    #: customer (or names one not seen yet), else ``a:`` and the visitor id; None for a
    #: stranger
    unit: str | None = None
    #: the identifiers a unit of this person may have been recorded under: the cluster's
    #: customer ids and ``a:``-prefixed visitor ids
    identifiers: tuple[str, ...] = ()


class AudienceResolver:
    """Resolves identifiers and reads what decisions need of profiles and segments."""

    def __init__(self, profiles: ProfileService, segments: SegmentService) -> None:
        self.profiles = profiles
        self.segments = segments

    def who(self, customer_id: str | None, anonymous_id: str | None) -> Who:
        # a customer id may be any linked identifier (the caller holds a serve key); an
        # anonymous id is only ever an anonymous id
        key = self.profiles.resolve(customer_id) if customer_id else None
        if key is None and anonymous_id:
            key = self.profiles.resolve_anonymous(anonymous_id)
        subjects: list[str] = []
        if customer_id:
            subjects.append(f"c:{customer_id}")
        if anonymous_id:
            subjects.append(f"a:{anonymous_id}")
        state = None
        known_customer = False
        if key is not None:
            members = self.profiles.graph.members(key)
            for ref in members[:MAX_SUBJECTS]:
                if ref.kind is IdentifierKind.CUSTOMER_ID:
                    subjects.append(f"c:{ref.value}")
                elif ref.kind is IdentifierKind.ANONYMOUS_ID:
                    subjects.append(f"a:{ref.value}")
            # the canonical key is a customer id when the cluster has one (its smallest)
            known_customer = any(ref.kind is IdentifierKind.CUSTOMER_ID for ref in members)
            state = self.profiles.states.get(key)
        named = key
        # an email, a phone or a card written as kind:value is never echoed in clear
        plain_customer = customer_id if customer_id and prefixed(customer_id) is None else None
        if named is None and plain_customer:
            named = plain_customer
        unit = (
            key
            if known_customer
            else plain_customer or (f"a:{anonymous_id}" if anonymous_id else None)
        )
        identifiers = tuple(
            dict.fromkeys(
                [
                    *([key] if known_customer and key else []),
                    *(s[2:] if s.startswith("c:") else s for s in subjects),
                ]
            )
        )
        if state is None:
            return Who(
                key, tuple(dict.fromkeys(subjects)), {}, None, False, named, unit, identifiers
            )
        return Who(
            key=key,
            subjects=tuple(dict.fromkeys(subjects)),
            consent={p: bool(s.value) for p, s in list(state.consent.items())},
            loyalty_tier=str(state.loyalty_tier.value) if state.loyalty_tier else None,
            returning=bool(state.orders),
            named=named,
            unit=unit,
            identifiers=identifiers,
        )

    def any_segments(self) -> bool:
        """Whether any segment is defined."""
        return self.segments.defined()

    def segments_of(self, key: str | None) -> frozenset[str]:
        """The segments ``key`` belongs to now."""
        if key is None:
            return frozenset()
        return frozenset(self.segments.segments_of(key))

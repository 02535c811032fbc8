"""Business rules applied to ranked candidates: exclusions, include filters, boosts and
burials, margin boosting, pins, diversity limits, each only when its condition holds.

The engine asks :meth:`RuleSet.allows` of every item it would show, fallbacks and pins
included, so no rule-excluded item is ever returned.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from retailor.decision.catalog import CatalogIndex, ItemFacts
from retailor.domain.placements import (
    WEEKDAYS,
    Boost,
    BoostMargin,
    Bury,
    Condition,
    Diversity,
    Exclude,
    ExcludeHidden,
    ExcludeInCart,
    ExcludeOutOfStock,
    ExcludePurchased,
    Include,
    Match,
    Pin,
    Rule,
)

DAY = 86_400.0


@dataclass(slots=True)
class Candidate:
    """An item on its way to the answer: its blended score, best source and reasons."""

    item_id: str
    score: float
    source: str
    reasons: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RuleContext:
    """What conditions and customer-specific rules look at."""

    channel: str | None
    store_id: str | None
    segments: frozenset[str]
    now: datetime
    cart: frozenset[str]
    purchased: dict[str, float]  # item -> epoch seconds of the latest purchase


def condition_holds(condition: Condition | None, ctx: RuleContext) -> bool:
    """Whether every given part of ``condition`` holds for ``ctx``."""
    if condition is None:
        return True
    if condition.channels and ctx.channel not in condition.channels:
        return False
    if condition.stores and ctx.store_id not in condition.stores:
        return False
    if condition.segments and not ctx.segments.intersection(condition.segments):
        return False
    if condition.not_segments and ctx.segments.intersection(condition.not_segments):
        return False
    return in_schedule(
        ctx.now, condition.days, condition.hours, condition.starts_at, condition.ends_at
    )


def in_schedule(
    now: datetime,
    days: Sequence[str],
    hours: tuple[int, int] | None,
    starts_at: datetime | None,
    ends_at: datetime | None,
) -> bool:
    """Whether ``now`` is within a date range, on one of ``days``, within UTC ``hours``."""
    now = now.astimezone(UTC)
    if starts_at is not None and now < _aware(starts_at):
        return False
    if ends_at is not None and now >= _aware(ends_at):
        return False
    if days and WEEKDAYS[now.weekday()] not in days:
        return False
    if hours is not None:
        start, end = hours
        hour = now.hour
        inside = start <= hour < end if start <= end else (hour >= start or hour < end)
        if not inside:
            return False
    return True


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def matches(match: Match, facts: ItemFacts | None, item_id: str, now: float) -> bool:
    """Whether an item (``facts`` None when the catalog does not know it) matches."""
    if match.items and item_id not in match.items:
        return False
    if facts is None:
        return not (
            match.categories
            or match.brands
            or match.price_min is not None
            or match.price_max is not None
            or match.margin_above is not None
            or match.new_within_days is not None
            or match.stock_above is not None
            or match.attributes
        )
    if match.categories and not any(c in facts.category for c in match.categories):
        return False
    if match.brands and facts.brand not in match.brands:
        return False
    if match.price_min is not None and (facts.price is None or facts.price < match.price_min):
        return False
    if match.price_max is not None and (facts.price is None or facts.price > match.price_max):
        return False
    if match.margin_above is not None:
        rate = facts.margin_rate
        if rate is None or rate <= match.margin_above:
            return False
    if match.new_within_days is not None and (
        facts.created_at is None or now - facts.created_at > match.new_within_days * DAY
    ):
        return False
    if match.stock_above is not None and (facts.stock is None or facts.stock <= match.stock_above):
        return False
    return all(facts.attributes.get(k) == v for k, v in match.attributes.items())


class RuleSet:
    """The rules of one placement, bound to one request's context."""

    def __init__(self, rules: Sequence[Rule], ctx: RuleContext, catalog: CatalogIndex) -> None:
        self.ctx = ctx
        self.catalog = catalog
        self.now = ctx.now.timestamp()
        active = [r for r in rules if condition_holds(r.when, ctx)]
        self.filters = [
            r
            for r in active
            if isinstance(
                r,
                ExcludeOutOfStock
                | ExcludeHidden
                | ExcludePurchased
                | ExcludeInCart
                | Include
                | Exclude,
            )
        ]
        self.scorers = [r for r in active if isinstance(r, Boost | Bury | BoostMargin)]
        self.pins = sorted(
            (r for r in active if isinstance(r, Pin)), key=lambda p: (p.position, p.item_id)
        )

        self._checks = [self._check(rule) for rule in self.filters]

    def _check(self, rule: Rule) -> Callable[[str, ItemFacts | None], bool]:
        """A function telling whether ``rule`` removes an item (compiled once per request)."""
        if isinstance(rule, ExcludeOutOfStock):
            floor = rule.min_stock
            return lambda _, f: f is not None and f.stock is not None and f.stock < floor
        if isinstance(rule, ExcludeHidden):
            return lambda _, f: f is not None and f.hidden
        if isinstance(rule, ExcludeInCart):
            cart = self.ctx.cart
            return lambda item, _: item in cart
        if isinstance(rule, ExcludePurchased):
            bought = rule
            return lambda item, f: self._bought(item, f, bought)
        if isinstance(rule, Include):
            keep = rule.match
            return lambda item, f: not matches(keep, f, item, self.now)
        assert isinstance(rule, Exclude)
        drop = rule.match
        return lambda item, f: matches(drop, f, item, self.now)

    def allows(self, item_id: str) -> bool:
        """Whether no active exclusion removes ``item_id`` (and every include keeps it)."""
        if not self._checks:
            return True
        facts = self.catalog.get(item_id)
        for check in self._checks:  # noqa: SIM110 - a plain loop is the fast path here
            if check(item_id, facts):
                return False
        return True

    def _bought(self, item_id: str, facts: ItemFacts | None, rule: ExcludePurchased) -> bool:
        at = self.ctx.purchased.get(item_id)
        if at is None:
            return False
        if rule.within_days is not None and self.now - at > rule.within_days * DAY:
            return False
        if facts is not None and rule.repurchasable_categories:
            return not any(c in facts.category for c in rule.repurchasable_categories)
        return True

    def adjusted(self, item_id: str, score: float) -> float:
        """``score`` after the boosts, burials and margin weighting that apply to the item."""
        facts = self.catalog.get(item_id)
        for rule in self.scorers:
            if isinstance(rule, BoostMargin):
                rate = facts.margin_rate if facts is not None else None
                if rate is not None:
                    score *= 1.0 + rule.weight * max(rate, 0.0)
            elif matches(rule.match, facts, item_id, self.now):
                score = score * rule.factor if isinstance(rule, Boost) else score / rule.factor
        return score

    def rescore(self, candidate: Candidate) -> None:
        """Apply boosts, burials and margin weighting to one candidate's score."""
        if self.scorers:
            candidate.score = self.adjusted(candidate.item_id, candidate.score)

    def ranking(self, scores: dict[str, float]) -> Iterator[str]:
        """Rescore ``scores`` in place now; then the allowed items best first, each checked
        only when the caller gets that far."""
        if self.scorers:
            for item in scores:
                scores[item] = self.adjusted(item, scores[item])
        order = sorted(scores, key=scores.__getitem__, reverse=True)  # ties: first seen first
        if not self._checks:
            return iter(order)
        return filter(self.allows, order)

    def apply(self, candidates: list[Candidate]) -> list[Candidate]:
        """:meth:`ranking` for candidates: rescored, best first, what the rules allow."""
        by_item = {c.item_id: c for c in candidates}
        scores = {c.item_id: c.score for c in candidates}
        kept = list(self.ranking(scores))
        for item in kept:
            by_item[item].score = scores[item]
        return [by_item[item] for item in kept]


class DiversityLimits:
    """How many chosen items each category and brand has, against a placement's limits."""

    def __init__(self, diversity: Diversity | None, catalog: CatalogIndex) -> None:
        self.per_category = diversity.max_per_category if diversity else None
        self.per_brand = diversity.max_per_brand if diversity else None
        self.level = diversity.category_level if diversity else -1
        self.active = self.per_category is not None or self.per_brand is not None
        self._catalog = catalog
        self._categories: dict[str, int] = {}
        self._brands: dict[str, int] = {}

    def admit(self, item_id: str) -> bool:
        """Count the item in when one more of its category and brand stays within the
        limits; False (and nothing counted) when it would not."""
        if not self.active:
            return True
        facts = self._catalog.get(item_id)
        if facts is None:
            return True
        per_category, per_brand = self.per_category, self.per_brand
        category = _category_at(facts, self.level) if per_category is not None else None
        brand = facts.brand if per_brand is not None else None
        over_category = (
            per_category is not None
            and category is not None
            and self._categories.get(category, 0) >= per_category
        )
        over_brand = (
            per_brand is not None and brand is not None and self._brands.get(brand, 0) >= per_brand
        )
        if over_category or over_brand:
            return False
        if category is not None:
            self._categories[category] = self._categories.get(category, 0) + 1
        if brand is not None:
            self._brands[brand] = self._brands.get(brand, 0) + 1
        return True


def diversify(ranked: Iterable[Candidate], limits: DiversityLimits, k: int) -> list[Candidate]:
    """The first ``k`` of ``ranked`` within the per-category and per-brand ``limits`` (which
    may already count items chosen before); when they leave fewer than ``k``, the rest is
    filled in rank order. ``ranked`` is read only as far as needed."""
    if k <= 0:
        return []
    if not limits.active:
        return list(itertools.islice(ranked, k))
    chosen: list[Candidate] = []
    skipped: list[Candidate] = []
    for candidate in ranked:
        if limits.admit(candidate.item_id):
            chosen.append(candidate)
            if len(chosen) == k:
                break
        else:
            skipped.append(candidate)
    return chosen + skipped[: k - len(chosen)]


def _category_at(facts: ItemFacts | None, level: int) -> str | None:
    if facts is None or not facts.category:
        return None
    path = facts.category
    if level < 0:
        return path[level] if -level <= len(path) else path[0]
    return path[min(level, len(path) - 1)]


def place_pins(
    chosen: list[Candidate],
    rules: RuleSet,
    k: int,
    exclude: Collection[str] = (),
    label: str = "featured",
) -> list[Candidate]:
    """Put every allowed pinned item at its position (1-based), keeping ``k`` items; an
    item the request excludes (or the one on screen) is never pinned."""
    if not rules.pins:
        return chosen
    out = list(chosen)
    for pin in rules.pins:
        if pin.item_id in exclude or not rules.allows(pin.item_id):
            continue
        existing = next((c for c in out if c.item_id == pin.item_id), None)
        if existing is not None:
            out.remove(existing)
        pinned = existing or Candidate(pin.item_id, 0.0, "pinned")
        pinned.reasons = [label, *[r for r in pinned.reasons if r != label]]
        out.insert(min(pin.position - 1, len(out)), pinned)
    return out[:k]

"""The simulated retailer: catalog, stores, offers and customers, drawn from one seed.

Everything a shopper decides comes from hidden parameters drawn here: a taste for a few
categories (a sparse Dirichlet draw over the categories), a style (a vector that items
share with their brand), price sensitivity, a visit rhythm with churn, a channel mix, a
loyalty tier, consents, and a response to each offer that depends on what Retailor can
observe (tier, channel, favourite department) plus a part only the shopper knows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np

DEPARTMENTS: dict[str, dict[str, float]] = {
    "Home": {"Kitchen": 24, "Bedding": 45, "Decor": 18, "Lighting": 35, "Storage": 15},
    "Fashion": {"Womenswear": 38, "Menswear": 36, "Shoes": 60, "Accessories": 22, "Kidswear": 19},
    "Beauty": {"Skincare": 21, "Makeup": 14, "Fragrance": 48, "Haircare": 11},
    "Grocery": {"Pantry": 5, "Snacks": 3.5, "Beverages": 4, "Coffee & Tea": 8},
    "Electronics": {"Audio": 70, "Phone Accessories": 20, "Smart Home": 55, "Gaming": 45},
    "Sports": {"Running": 55, "Fitness": 30, "Outdoor": 42, "Cycling": 38},
}
#: Departments whose items are bought again and again (Retailor's default rules know them).
CONSUMABLE_DEPARTMENTS = ("Grocery", "Beauty")
BRAND_TIERS = {"budget": 0.7, "mid": 1.0, "premium": 1.6}
BRAND_SYLLABLES = ("Nor", "Vel", "Ka", "Lum", "Ori", "Sta", "Bri", "Tam", "Qui", "Ro", "Zen")
TIERS = ("none", "silver", "gold")
CHANNELS = ("web", "app", "store")
#: How much more often shoppers come on each weekday (Monday first) and at each hour.
WEEKDAY_TRAFFIC = (0.9, 0.88, 0.92, 1.0, 1.1, 1.3, 1.2)
ONLINE_HOURS = np.array(
    [
        1,
        0.5,
        0.3,
        0.2,
        0.2,
        0.4,
        1,
        2,
        3,
        3.5,
        3.5,
        4,
        4.5,
        4,
        3.5,
        3.5,
        4,
        4.5,
        5.5,
        7,
        7.5,
        6,
        4,
        2,
    ]
)
STORE_HOURS = np.array([0] * 9 + [2, 4, 5, 6, 5, 5, 5, 6, 6, 5, 3, 1, 0, 0, 0], dtype=float)
STYLE_DIMENSIONS = 8


@dataclass(frozen=True)
class OfferSpec:
    """An offer the retailer runs, with the base of its hidden appeal."""

    offer_id: str
    name: str
    kind: str
    value: float
    min_basket: float = 0.0
    #: how much deeper it feels to a price-sensitive shopper
    depth: float = 0.0

    def cost(self, basket: float) -> float:
        """What redeeming it costs the retailer on a basket of this value."""
        if self.kind == "percent_off":
            return round(basket * self.value / 100, 2)
        if self.kind == "amount_off":
            return min(self.value, basket)
        if self.kind == "free_shipping":
            return 4.95
        if self.kind == "points_multiplier":
            return round(basket * 0.01 * (self.value - 1), 2)
        return 0.0

    def definition(self) -> dict[str, object]:
        """The ``PUT /v1/offers/{id}`` body."""
        body: dict[str, object] = {"name": self.name, "kind": self.kind, "cost": 3.0}
        if self.kind != "free_shipping":
            body["value"] = self.value
        if self.min_basket:
            body["min_basket"] = self.min_basket
        return body


OFFERS = (
    OfferSpec("pct-10", "10% off your order", "percent_off", 10, depth=0.5),
    OfferSpec("pct-20", "20% off your order", "percent_off", 20, depth=1.2),
    OfferSpec("free-shipping", "Free shipping", "free_shipping", 0, depth=0.3),
    OfferSpec("points-3x", "Triple loyalty points", "points_multiplier", 3, depth=0.0),
    OfferSpec("five-off", "5 off orders over 30", "amount_off", 5, min_basket=30, depth=0.6),
)
OFFER_BASE = np.array([-1.9, -1.7, -1.6, -2.3, -1.8])
#: Offer appeal by loyalty tier (rows: none, silver, gold), session channel (rows: web,
#: app) and favourite department (rows in DEPARTMENTS order).
OFFER_BY_TIER = np.array(
    [[0.3, 0.5, -0.2, -1.2, 0.2], [-0.2, 0.0, 0.9, 0.3, -0.1], [-0.6, -0.5, 0.1, 1.9, -0.3]]
)
OFFER_BY_CHANNEL = np.array([[0.0, 0.0, 0.7, -0.3, 0.1], [-0.2, -0.1, -0.4, 0.9, 0.0]])
OFFER_BY_DEPARTMENT = np.array(
    [
        [0.0, 0.2, 0.4, 0.0, 0.0],
        [0.1, 0.7, -0.2, 0.0, 0.0],
        [0.0, 0.0, 0.0, 0.4, 0.3],
        [-0.4, -0.4, 0.3, 0.0, 1.0],
        [0.8, 0.1, -0.3, 0.0, -0.5],
        [0.2, 0.0, 0.3, 0.0, 0.0],
    ]
)
#: The channels of an online visit (a visit begun from an email goes on on the web).
SESSION_CHANNELS = ("web", "app")


@dataclass(frozen=True)
class Scale:
    """How big the simulated retailer is and how long it runs."""

    customers: int
    items: int
    stores: int
    history_days: int
    days: int

    @property
    def total_days(self) -> int:
        return self.history_days + self.days


SCALES = {
    "tiny": Scale(customers=240, items=240, stores=2, history_days=5, days=4),
    "small": Scale(customers=900, items=600, stores=3, history_days=10, days=8),
    "default": Scale(customers=2_400, items=1_200, stores=5, history_days=21, days=14),
    "large": Scale(customers=12_000, items=4_000, stores=12, history_days=28, days=28),
}


@dataclass
class Catalog:
    """Items as arrays (index = position in ``item_ids``)."""

    item_ids: list[str]
    names: list[str]
    category: np.ndarray  # int index into categories
    brand: np.ndarray  # int index into brands
    price: np.ndarray
    cost: np.ndarray
    quality: np.ndarray
    style: np.ndarray  # (items, STYLE_DIMENSIONS)
    launch_day: np.ndarray  # int; <= 0 for items on sale from the start
    restock_level: np.ndarray
    categories: list[tuple[str, str]]  # (department, category)
    brands: list[tuple[str, str]]  # (name, tier)
    #: the shop's own ordering of each category's listing page (best sellers first)
    listing: dict[int, np.ndarray] = field(default_factory=dict)

    def department_of(self, item: int) -> int:
        department = self.categories[int(self.category[item])][0]
        return list(DEPARTMENTS).index(department)


@dataclass
class Customers:
    """Shoppers as arrays (index = person number); ``customer_ids[n]`` is the id the
    shop gives them once they register."""

    customer_ids: list[str]
    taste: np.ndarray  # (people, categories), rows sum to 1
    style: np.ndarray  # (people, STYLE_DIMENSIONS)
    price_sensitivity: np.ndarray
    tier: np.ndarray  # index into TIERS
    channel_mix: np.ndarray  # (people, 3) over CHANNELS
    visit_rate: np.ndarray  # expected visits per day
    arrival_day: np.ndarray  # first day they come (<= 0: already a registered customer)
    churn_day: np.ndarray  # from this day on they no longer come
    anonymous_share: np.ndarray  # share of online visits begun before logging in
    consent_personalization: np.ndarray
    consent_email: np.ndarray
    offer_taste: np.ndarray  # (people, offers): the part of the response only they know
    favourite_department: np.ndarray


@dataclass
class World:
    """One seeded retailer."""

    seed: int
    scale: Scale
    start: datetime
    catalog: Catalog
    customers: Customers
    stores: list[str]
    offers: tuple[OfferSpec, ...] = OFFERS

    def day_start(self, day: int) -> datetime:
        return self.start + timedelta(days=day)

    def utility(self, person: int) -> np.ndarray:
        """How much ``person`` likes each item (before the noise of the moment)."""
        cat = self.catalog
        people = self.customers
        taste = people.taste[person][cat.category]
        base = np.array([_base_price(c) for c in cat.categories])[cat.category]
        return np.asarray(
            np.log(len(cat.categories) * taste + 0.03)
            + 1.3 * (cat.style @ people.style[person]) / np.sqrt(STYLE_DIMENSIONS)
            + cat.quality
            - people.price_sensitivity[person] * np.log(cat.price / base)
        )

    def offer_response(self, person: int, channel: str) -> np.ndarray:
        """The probability that ``person`` redeems each offer when shown it at a checkout
        in this channel (what an oracle knows)."""
        people = self.customers
        depth = np.array([o.depth for o in self.offers])
        logit = (
            OFFER_BASE
            + OFFER_BY_TIER[people.tier[person]]
            + OFFER_BY_CHANNEL[SESSION_CHANNELS.index(channel)]
            + OFFER_BY_DEPARTMENT[people.favourite_department[person]]
            + (people.price_sensitivity[person] - 0.6) * depth
            + people.offer_taste[person]
        )
        return np.asarray(1.0 / (1.0 + np.exp(-logit)))


def _base_price(category: tuple[str, str]) -> float:
    return DEPARTMENTS[category[0]][category[1]]


def create_world(scale: Scale, seed: int, end: datetime | None = None) -> World:
    """Draw a retailer; its history and experiment end at ``end`` (default: today)."""
    rng = np.random.default_rng(seed)
    end = end or datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = end - timedelta(days=scale.total_days)
    catalog = _catalog(rng, scale)
    customers = _customers(rng, scale, catalog)
    stores = [f"store-{n + 1:02d}" for n in range(scale.stores)]
    return World(seed, scale, start, catalog, customers, stores)


def _catalog(rng: np.random.Generator, scale: Scale) -> Catalog:
    categories = [(d, c) for d, cats in DEPARTMENTS.items() for c in cats]
    brands: list[tuple[str, str]] = []
    brand_department: list[int] = []
    brand_style: list[np.ndarray] = []
    syllables = len(BRAND_SYLLABLES)
    pairs = [(a, b) for a in range(syllables) for b in range(syllables) if a != b]
    brand_names = rng.choice(len(pairs), len(DEPARTMENTS) * len(BRAND_TIERS), replace=False)
    for d, _ in enumerate(DEPARTMENTS):
        for tier in BRAND_TIERS:
            a, b = pairs[int(brand_names[len(brands)])]
            brands.append((f"{BRAND_SYLLABLES[a]}{BRAND_SYLLABLES[b].lower()}", tier))
            brand_department.append(d)
            brand_style.append(rng.normal(0, 1, STYLE_DIMENSIONS))
    weights = rng.dirichlet(np.full(len(categories), 4.0))
    category = rng.choice(len(categories), scale.items, p=weights)
    departments = list(DEPARTMENTS)
    brand = np.array(
        [
            rng.choice(
                [
                    b
                    for b, d in enumerate(brand_department)
                    if d == departments.index(categories[c][0])
                ]
            )
            for c in category
        ]
    )
    multiplier = np.array([BRAND_TIERS[brands[b][1]] for b in brand])
    base = np.array([_base_price(categories[c]) for c in category])
    price = np.round(base * multiplier * rng.lognormal(0, 0.35, scale.items), 0) - 0.01
    price = np.maximum(price, 0.99)
    margin_rate = rng.uniform(0.15, 0.45, scale.items) + 0.1 * (multiplier > 1.2)
    cost = np.round(price * (1 - margin_rate), 2)
    style = 0.7 * np.array([brand_style[b] for b in brand]) + 0.7 * rng.normal(
        0, 1, (scale.items, STYLE_DIMENSIONS)
    )
    quality = rng.normal(0, 0.8, scale.items)
    launch_day = np.where(
        rng.random(scale.items) < 0.08,
        rng.integers(max(1, scale.history_days // 3), scale.total_days, scale.items),
        0,
    )
    restock_level = rng.integers(4, 60, scale.items)
    item_ids = [f"SKU-{n + 1:05d}" for n in range(scale.items)]
    names = [
        f"{brands[brand[n]][0]} {categories[category[n]][1].rstrip('s')} {n + 1}"
        for n in range(scale.items)
    ]
    catalog = Catalog(
        item_ids, names, category, brand, price, cost, quality, style, launch_day,
        restock_level, categories, brands,
    )  # fmt: skip
    for c in range(len(categories)):
        members = np.flatnonzero(category == c)
        order = np.argsort(-(quality[members] + rng.normal(0, 0.6, len(members))))
        catalog.listing[c] = members[order]
    return catalog


def _customers(rng: np.random.Generator, scale: Scale, catalog: Catalog) -> Customers:
    n = scale.customers
    n_categories = len(catalog.categories)
    taste = rng.dirichlet(np.full(n_categories, 0.2), n)
    style = rng.normal(0, 1, (n, STYLE_DIMENSIONS))
    price_sensitivity = rng.lognormal(np.log(0.6), 0.5, n)
    tier = rng.choice(3, n, p=[0.55, 0.3, 0.15])
    channel_mix = rng.dirichlet([3.0, 2.0, 1.0], n)
    visit_rate = rng.gamma(2.0, 0.09, n) * np.array([1.0, 1.3, 1.8])[tier]
    new = rng.random(n) < 0.25
    arrival_day = np.where(new, rng.integers(1, scale.total_days, n), 0)
    churn_day = arrival_day + np.ceil(rng.exponential(150, n)).astype(int)
    anonymous_share = rng.beta(2, 6, n)
    consent_personalization = rng.random(n) < 0.93
    consent_email = rng.random(n) < 0.6
    offer_taste = rng.normal(0, 0.4, (n, len(OFFERS)))
    departments = list(DEPARTMENTS)
    department_of_category = np.array([departments.index(d) for d, _ in catalog.categories])
    department_taste = np.zeros((n, len(departments)))
    for c in range(n_categories):
        department_taste[:, department_of_category[c]] += taste[:, c]
    favourite_department = department_taste.argmax(axis=1)
    return Customers(
        customer_ids=[f"C{p + 1:06d}" for p in range(n)],
        taste=taste, style=style, price_sensitivity=price_sensitivity, tier=tier,
        channel_mix=channel_mix, visit_rate=visit_rate, arrival_day=arrival_day,
        churn_day=churn_day, anonymous_share=anonymous_share,
        consent_personalization=consent_personalization, consent_email=consent_email,
        offer_taste=offer_taste, favourite_department=favourite_department,
    )  # fmt: skip

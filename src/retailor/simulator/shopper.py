"""How one shopper behaves in one visit, given what the shop shows.

Every choice is a draw from the shopper's hidden utility for an item (``World.utility``)
plus the noise of the moment:

- a list (recommendations, a category page) is scanned from the top with attention
  falling by position; an examined item is clicked with probability
  ``sigmoid(utility - CLICK_BAR)``;
- a viewed item goes to the cart with probability ``sigmoid(CART_SLOPE * (utility -
  CART_BAR))`` if it is in stock;
- a full cart is bought with probability ``CHECKOUT_BASE``, or redeemed with the offer
  shown at the cart with the shopper's hidden probability for that offer (a redeemed
  offer always completes the order).

These constants set the funnel; ``FUNNEL_RANGES`` documents what a run should show and
the test suite holds the simulator to it.
"""

from __future__ import annotations

import numpy as np

CLICK_BAR = 3.0
CART_BAR = 3.8
CART_SLOPE = 1.4
RECOMMENDATION_ATTENTION = 0.82
LISTING_ATTENTION = 0.8
LISTING_LENGTH = 16
CHECKOUT_BASE = 0.55
NOISE = 0.5
#: Share of visits that leave after the landing page unless something on it is clicked.
BOUNCE = 0.35
#: Per online visit (documented ranges, checked by the tests at the tiny scale).
FUNNEL_RANGES = {
    "views_per_visit": (0.5, 6.0),
    "cart_rate": (0.05, 0.6),  # visits with something in the cart
    "conversion": (0.03, 0.45),  # visits that end in an order
    "checkout_given_cart": (0.5, 0.95),
}


def sigmoid(x: np.ndarray | float) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-np.asarray(x))))


def scan(
    items: list[int], utility: np.ndarray, rng: np.random.Generator, attention: float
) -> list[int]:
    """The items of a list the shopper opens, in the order shown."""
    if not items:
        return []
    idx = np.asarray(items)
    seen = rng.random(len(idx)) < attention ** np.arange(len(idx))
    noisy = utility[idx] + rng.normal(0, NOISE, len(idx))
    clicked = seen & (rng.random(len(idx)) < sigmoid(noisy - CLICK_BAR))
    return [int(i) for i in idx[clicked]]


def pick_category(taste: np.ndarray, rng: np.random.Generator) -> int:
    """The category a shopper goes to browse (mostly the ones they like)."""
    weights = taste**0.7
    return int(rng.choice(len(taste), p=weights / weights.sum()))


def to_cart(items: list[int], utility: np.ndarray, rng: np.random.Generator) -> list[int]:
    """Which viewed items the shopper puts in the cart."""
    if not items:
        return []
    idx = np.asarray(items)
    noisy = utility[idx] + rng.normal(0, NOISE, len(idx))
    wanted = rng.random(len(idx)) < sigmoid(CART_SLOPE * (noisy - CART_BAR))
    return [int(i) for i in idx[wanted]]


def quantity(consumable: bool, rng: np.random.Generator) -> int:
    return int(1 + rng.poisson(0.8)) if consumable else 1

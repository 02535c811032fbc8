"""The computed traits of a profile, as the API shows them."""

from __future__ import annotations

import math
from typing import Any

from retailor.profiles.rfm import RFMScale
from retailor.profiles.state import BOT_EVENTS_PER_MINUTE, ProfileState

FAVOURITES = 3


def _top(scores: dict[str, float], n: int = FAVOURITES) -> list[str]:
    return [k for k, _ in sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:n]]


def _argmax(counts: dict[str, float]) -> str | None:
    top = _top(counts, 1)
    return top[0] if top else None


def compute_traits(
    state: ProfileState, scale: RFMScale | None, *, duplicates: int = 0
) -> dict[str, Any]:
    """Every trait of one profile (see docs/profiles.md for their definitions)."""
    live = state.live_orders()
    order_count = len(live)
    revenue = round(state.revenue(), 2)
    traits: dict[str, Any] = {
        "first_seen": state.first_seen.isoformat() if state.first_seen else None,
        "last_seen": state.last_seen.isoformat() if state.last_seen else None,
        "event_count": state.events,
        "sessions": len(state.sessions),
        "order_count": order_count,
        "revenue": revenue,
        "average_order_value": round(revenue / order_count, 2) if order_count else None,
        "last_order_at": max(o.at for o in live.values()).isoformat() if live else None,
        "favourite_categories": _top(state.categories),
        "favourite_brands": _top(state.brands),
        "preferred_channel": _argmax(state.channels),
        "preferred_store": _argmax(state.stores),
        "discount_share": round(sum(o.discounted for o in live.values()) / order_count, 3)
        if order_count
        else None,
        "loyalty": {
            "tier": state.loyalty_tier.value if state.loyalty_tier else None,
            "points": state.points_earned - state.points_redeemed,
            "enrolled_at": state.loyalty_enrolled.isoformat() if state.loyalty_enrolled else None,
        },
        "attributes": {name: s.value for name, s in sorted(state.traits.items())},
        "quality": {
            "bot_like_velocity": state.max_events_per_minute() > BOT_EVENTS_PER_MINUTE,
            "impossible_values": state.impossible > 0 or revenue < 0,
            "suspected_duplicate_account": duplicates > 0,
        },
    }
    if live and scale is not None:
        last = max(o.at for o in live.values())
        recency = max(0.0, (scale.as_of - last).total_seconds() / 86_400)
        traits["rfm"] = {
            "recency_days": math.floor(recency),
            "frequency": order_count,
            "monetary": revenue,
            **scale.scores(recency, float(order_count), revenue),
        }
    else:
        traits["rfm"] = None
    return traits

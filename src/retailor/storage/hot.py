"""The ports of the hot state every worker of one Retailor shares (Redis when scaled out,
process memory otherwise): the feed that announces the event log's appends, the cache of
recent decisions and personal lists, the offer ledger, the offer policy's published
state and the rate limits of API keys. Each abstract class's docstrings are its contract; ``tests/contract`` holds one
suite per port that every adapter must pass.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence

from retailor.domain.offers import Offer


class EventFeed(ABC):
    """Tells every process, fast, which appends of the shared event log exist: the hot
    path's way to read its own writes made on another process without asking the log.

    Contract:
    - ``announce(position, payload)`` is called after an append became durable and before
      it is acknowledged; ``head()`` is then at least ``position`` for every reader.
    - ``head()`` never goes back: announcing a lower position than the head leaves it.
    - ``payloads(after, upto)`` returns the payloads still held for positions in
      ``(after, upto]`` (they are kept for a while, not for ever); a position missing from
      the answer is read from the event log (``EventLog.read_after``).
    """

    @abstractmethod
    def announce(self, position: int, payload: bytes | None) -> None:
        """Make ``position`` known, with the append's events encoded (or None)."""

    @abstractmethod
    def head(self) -> int:
        """The highest position announced (0 before any)."""

    async def head_async(self) -> int:
        """``head`` for a caller on an event loop (the default asks in a thread)."""
        return await asyncio.to_thread(self.head)

    @abstractmethod
    def clear(self) -> int:
        """Drop every payload held (an erasure: they are events as stored); the head stays.
        Followers then read those positions from the log. Return how many went."""

    @abstractmethod
    def payloads(self, after: int, upto: int) -> dict[int, bytes]:
        """The payloads held for positions in ``(after, upto]``, by position."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources; the default holds none."""


class HotCache(ABC):
    """Short-lived values every worker shares: what one worker computed or answered that
    another may need before the truth is written or instead of computing it again (a
    decision just made, a customer's personal list).

    Contract: ``get`` returns the bytes last ``put`` under ``(kind, key)`` until
    ``ttl_seconds`` after that put, then None; ``get_many`` answers several keys of one
    kind at once, None for those not held. Kinds do not share keys.
    """

    @abstractmethod
    def put(self, kind: str, key: str, value: bytes, ttl_seconds: float) -> None:
        """Hold ``value`` under ``(kind, key)`` for ``ttl_seconds``."""

    @abstractmethod
    def put_many(self, kind: str, items: Sequence[tuple[str, bytes]], ttl_seconds: float) -> None:
        """``put`` each ``(key, value)`` (at once where the store can)."""

    @abstractmethod
    def get(self, kind: str, key: str) -> bytes | None:
        """The value held, or None."""

    @abstractmethod
    def get_many(self, kind: str, keys: Sequence[str]) -> list[bytes | None]:
        """The values held for ``keys``, in their order."""

    @abstractmethod
    def clear(self) -> int:
        """Drop every value held, of every kind (an erasure: values may name the person,
        in their keys or their bytes); return how many went."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources; the default holds none."""


class OfferLedger(ABC):
    """What offers have used: impressions per offer and customer (for frequency caps),
    redemptions and spend per offer (for redemption limits and budgets), and which
    (decision, offer) pairs were redeemed (so a redemption counts once).

    Contract (``tests/contract/test_offer_ledger.py``):

    - ``award(offer, who, at, decision_id)`` checks the offer's redemption limit, budget
      (spend + one redemption's cost must stay within it) and ``who``'s frequency caps
      (impressions in the day and the week before ``at``: ``per_day`` counts those after
      ``at - 1 day``, ``per_week`` those after ``at - 7 days``) and, when they allow it,
      counts an impression at ``at``; True when counted. Check and count are one atomic
      step: concurrent awards through any number of instances sharing the ledger never
      exceed a cap. An offer without caps, or ``who`` None, counts no impression.
    - ``redeem(offer, decision_id)`` answers ``"duplicate"`` when this decision's offer was
      redeemed before, ``"exhausted"`` when one more redemption would pass the limit or
      the budget, else counts it (one redemption, its cost spent) and answers
      ``"counted"``; atomically, as ``award``.
    - ``allowed(offers, who, at)`` says for each offer what ``award`` would check, counting
      nothing; ``available`` is the same for one offer.
    - ``usage(offer_id)`` is the redemptions and spend so far.
    - ``seed(impressions, redemptions)`` fills the ledger from the decision log: impressions
      ``(offer_id, who, at, decision_id)`` and redemptions ``(offer_id, decision_id,
      cost)``, counted without checking limits; an impression or a redemption already
      counted (the same offer and decision) counts once. ``seeded()`` is True once a seed
      completed, in this or any instance sharing the ledger: a persistent shared ledger
      is seeded once, not at every start.
    """

    @abstractmethod
    def allowed(self, offers: Sequence[Offer], who: str | None, at: float) -> list[bool]:
        """For each offer, whether it has budget left and ``who`` is under its caps."""

    def available(self, offer: Offer, who: str | None, at: float) -> bool:
        """Whether one offer has budget left and ``who`` is under its caps (no counting)."""
        return self.allowed([offer], who, at)[0]

    @abstractmethod
    def award(self, offer: Offer, who: str | None, at: float, decision_id: str) -> bool:
        """Count an impression if the caps and the budget still allow it."""

    @abstractmethod
    def redeem(self, offer: Offer, decision_id: str) -> str:
        """``"counted"``, ``"duplicate"`` or ``"exhausted"`` (see the class contract)."""

    @abstractmethod
    def forget(self, who: Sequence[str]) -> int:
        """Drop every impression counted for these customers (an erasure); return how
        many went. Redemptions and spend stay: they name decisions, not people."""

    @abstractmethod
    def usage(self, offer_id: str) -> tuple[int, float]:
        """Redemptions and spend so far."""

    @abstractmethod
    def seeded(self) -> bool:
        """Whether a seed from the decision log completed."""

    @abstractmethod
    def seed(
        self,
        impressions: Iterable[tuple[str, str, float, str]],
        redemptions: Iterable[tuple[str, str, float]],
    ) -> None:
        """Fill the ledger from the decision log (see the class contract)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources."""


class PolicyStateStore(ABC):
    """The learned state of the offer policy, published by the one process that learns
    and loaded by every process that decides.

    Contract (``tests/contract/test_policy_state.py``): versions count up from 1 (0: none
    published). ``publish(state, after=v)`` stores ``state`` (opaque bytes) as version
    ``v + 1`` and returns it when the latest version is still ``v``; otherwise (someone
    published in between) it stores nothing and returns None, so two learners never
    overwrite each other's progress. ``version()`` is the latest version (cheap: what a
    deciding process asks every second). ``latest(newer_than=v)`` returns ``(version,
    state)`` of the latest version when it is newer than ``v``, else None; the pair is
    read together (never one version's number with another's bytes).
    """

    @abstractmethod
    def publish(self, state: bytes, *, after: int) -> int | None:
        """Store the next version (see the class contract)."""

    @abstractmethod
    def version(self) -> int:
        """The latest version, 0 when none was published."""

    @abstractmethod
    def latest(self, newer_than: int = 0) -> tuple[int, bytes] | None:
        """The latest version and its state when newer than ``newer_than``."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources."""


class RateLimiter(ABC):
    """Counts requests against a limit per name (an API key's id): a bucket of ``burst``
    requests refilled at ``per_second`` (GCRA, the token bucket kept as one time).

    Contract (``tests/contract/test_rate_limiter.py``):

    - ``take(name, per_second, burst)`` returns 0.0 when one more request is allowed now,
      and counts it; else the seconds (> 0) until one would be, and counts nothing.
    - Over any stretch of ``t`` seconds at most ``burst + per_second * t`` requests of one
      name are allowed, however many instances share the state (check and count are one
      atomic step); a name idle for ``burst / per_second`` seconds has its whole burst.
    - Names are independent. A name's state is dropped once its bucket is full again.
    - The limit is given with every call: a changed limit applies from the next one.
    """

    @abstractmethod
    def take(self, name: str, per_second: float, burst: int) -> float:
        """0.0 and count the request when allowed, else the seconds to wait."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources; the default holds none."""

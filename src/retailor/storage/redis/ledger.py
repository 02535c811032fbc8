"""Redis ``OfferLedger``: the caps, budgets and redemption limits every worker shares.

Keys (under the state's namespace):

- ``ledger:shown:<offer>:<who>``: a sorted set of the impressions of one offer to one
  customer or visitor (member: the decision id, score: the time), trimmed to the week
  before the latest award and expiring a week and a day after it;
- ``ledger:usage:<offer>``: a hash of ``count`` (redemptions) and ``spent``;
- ``ledger:redeemed:<decision>:<offer>``: set when that decision's offer was redeemed
  (kept :data:`REDEEMED_TTL` seconds, longer than feedback may come late);
- ``ledger:seeded``: set when a seed from the decision log completed.

``award`` and ``redeem`` are each one Lua script, so a check and its count are one atomic
step whichever worker runs it. ``allowed`` is one read-only script over every offer asked
about (one round trip, one command). An offer with no redemption limit, no budget and no
frequency cap has nothing to check or count: ``allowed`` and ``award`` answer for it
without asking Redis. A seed
writes idempotently (impressions by decision id, redemptions through their keys), so
workers that seed at the same time, or a seed interrupted and run again, count each
impression and redemption once.

``forget`` finds a person's impression sets with SCAN (``ledger:shown:*:<who>``; an offer
id holds no ``:``, so the key's part after the offer's is the person, checked before the
key goes) and removes them with their counts in one script per batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from retailor.domain.offers import Offer
from retailor.storage.hot import OfferLedger
from retailor.storage.redis.connection import State, guarded
from retailor.storage.redis.keys import literal, scan

DAY, WEEK = 86_400.0, 7 * 86_400.0
#: How long a redemption's key is kept: a year and a month (feedback may be a year late).
REDEEMED_TTL = 395 * 86_400
SHOWN_TTL = int(WEEK + DAY)
SEED_BATCH = 1_000

# ARGV: max_redemptions ('' none), budget ('' none), cost
_BUDGET = """
local usage = redis.call('HMGET', KEYS[1], 'count', 'spent')
local count, spent = tonumber(usage[1] or '0'), tonumber(usage[2] or '0')
if ARGV[1] ~= '' and count >= tonumber(ARGV[1]) then return 0 end
if ARGV[2] ~= '' and spent + tonumber(ARGV[3]) > tonumber(ARGV[2]) + 1e-9 then return 0 end
return 1
"""

# KEYS: per offer its usage and its shown set (or a placeholder); ARGV: the day and week
# floors ('(' .. floor), then per offer: max_redemptions, budget, cost, per_day, per_week
# ('' for none; caps '' also when nobody is known). Returns 1 or 0 per offer.
_ALLOWED = """
local result = {}
for i = 1, #KEYS / 2 do
  local a = 2 + (i - 1) * 5
  local usage = redis.call('HMGET', KEYS[2 * i - 1], 'count', 'spent')
  local count, spent = tonumber(usage[1] or '0'), tonumber(usage[2] or '0')
  local ok = 1
  if ARGV[a + 1] ~= '' and count >= tonumber(ARGV[a + 1]) then ok = 0 end
  if ok == 1 and ARGV[a + 2] ~= '' and spent + tonumber(ARGV[a + 3]) > tonumber(ARGV[a + 2]) + 1e-9 then
    ok = 0
  end
  if ok == 1 and ARGV[a + 5] ~= '' and
     redis.call('ZCOUNT', KEYS[2 * i], ARGV[2], '+inf') >= tonumber(ARGV[a + 5]) then
    ok = 0
  end
  if ok == 1 and ARGV[a + 4] ~= '' and
     redis.call('ZCOUNT', KEYS[2 * i], ARGV[1], '+inf') >= tonumber(ARGV[a + 4]) then
    ok = 0
  end
  result[i] = ok
end
return result
"""

# KEYS: usage, shown (or a placeholder); ARGV: budget (3), then per_day ('' none),
# per_week ('' none), at, week_floor, '(' .. day_floor, decision_id, ttl, track ('1'/'0')
_AWARD = (
    "local function budget_left()\n"
    + _BUDGET
    + """end
if budget_left() == 0 then return 0 end
if ARGV[11] == '1' then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[7])
  if ARGV[5] ~= '' and redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[5]) then return 0 end
  if ARGV[4] ~= '' and redis.call('ZCOUNT', KEYS[2], ARGV[8], '+inf') >= tonumber(ARGV[4]) then
    return 0
  end
  redis.call('ZADD', KEYS[2], ARGV[6], ARGV[9])
  redis.call('EXPIRE', KEYS[2], ARGV[10])
end
return 1
"""
)

# KEYS: usage, redeemed; ARGV: budget (3), ttl
_REDEEM = (
    "local function budget_left()\n"
    + _BUDGET
    + """end
if redis.call('EXISTS', KEYS[2]) == 1 then return 'duplicate' end
if budget_left() == 0 then return 'exhausted' end
redis.call('SET', KEYS[2], '1', 'EX', ARGV[4])
redis.call('HINCRBY', KEYS[1], 'count', 1)
redis.call('HINCRBYFLOAT', KEYS[1], 'spent', ARGV[3])
return 'counted'
"""
)

# KEYS: usage, redeemed; ARGV: cost, ttl — count once, without limits
_SEED_REDEMPTION = """
if redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[2]) then
  redis.call('HINCRBY', KEYS[1], 'count', 1)
  redis.call('HINCRBYFLOAT', KEYS[1], 'spent', ARGV[1])
end
return 1
"""

# KEYS: impression sets — removed; returns how many impressions they held
_FORGET = """
local n = 0
for _, key in ipairs(KEYS) do
  n = n + redis.call('ZCARD', key)
  redis.call('DEL', key)
end
return n
"""


def _capped(offer: Offer) -> bool:
    """Whether the offer has a frequency cap (counted per customer or visitor)."""
    return bool(offer.frequency_cap.per_day or offer.frequency_cap.per_week)


def _limited(offer: Offer, who: str | None) -> bool:
    """Whether anything of the offer is checked or counted for ``who``."""
    return (
        offer.max_redemptions is not None
        or offer.budget is not None
        or (who is not None and _capped(offer))
    )


def _opt(value: float | int | None) -> str:
    return "" if value is None else repr(value)


def _budget_args(offer: Offer) -> list[str]:
    return [_opt(offer.max_redemptions), _opt(offer.budget), repr(offer.redemption_cost())]


class RedisOfferLedger(OfferLedger):
    """The offer ledger in a shared Redis (see the module docstring and ``OfferLedger``)."""

    def __init__(self, state: State) -> None:
        self._state = state
        self._client = state.client
        self._award = self._client.register_script(_AWARD)
        self._allowed = self._client.register_script(_ALLOWED)
        self._redeem = self._client.register_script(_REDEEM)
        self._seed_redemption = self._client.register_script(_SEED_REDEMPTION)
        self._forget = self._client.register_script(_FORGET)

    def _usage_key(self, offer_id: str) -> str:
        return self._state.key("ledger", "usage", offer_id)

    def _shown_key(self, offer_id: str, who: str) -> str:
        return self._state.key("ledger", "shown", offer_id, who)

    def _redeemed_key(self, decision_id: str, offer_id: str) -> str:
        return self._state.key("ledger", "redeemed", decision_id, offer_id)

    def allowed(self, offers: Sequence[Offer], who: str | None, at: float) -> list[bool]:
        limited = [o for o in offers if _limited(o, who)]
        if not limited:
            return [True] * len(offers)
        answers = iter(self._allowed_in_redis(limited, who, at))
        return [next(answers) if _limited(o, who) else True for o in offers]

    @guarded
    def _allowed_in_redis(self, limited: list[Offer], who: str | None, at: float) -> list[bool]:
        keys: list[str] = []
        args: list[str] = [f"({at - DAY!r}", f"({at - WEEK!r}"]
        for offer in limited:
            capped = who is not None and _capped(offer)
            keys += [
                self._usage_key(offer.offer_id),
                self._shown_key(offer.offer_id, who) if capped and who is not None else "-",
            ]
            cap = offer.frequency_cap
            args += [
                *_budget_args(offer),
                _opt(cap.per_day) if capped else "",
                _opt(cap.per_week) if capped else "",
            ]
        return [bool(ok) for ok in self._allowed(keys=keys, args=args)]

    def award(self, offer: Offer, who: str | None, at: float, decision_id: str) -> bool:
        if not _limited(offer, who):
            return True  # nothing to check, nothing to count
        return self._award_in_redis(offer, who, at, decision_id)

    @guarded
    def _award_in_redis(self, offer: Offer, who: str | None, at: float, decision_id: str) -> bool:
        cap = offer.frequency_cap
        track = who is not None and _capped(offer)
        shown = self._shown_key(offer.offer_id, who) if track and who is not None else "-"
        args = [
            *_budget_args(offer),
            _opt(cap.per_day),
            _opt(cap.per_week),
            repr(at),
            repr(at - WEEK),
            f"({at - DAY!r}",
            decision_id,
            str(SHOWN_TTL),
            "1" if track else "0",
        ]
        keys = [self._usage_key(offer.offer_id), shown]
        return bool(self._award(keys=keys, args=args))

    @guarded
    def redeem(self, offer: Offer, decision_id: str) -> str:
        keys = [self._usage_key(offer.offer_id), self._redeemed_key(decision_id, offer.offer_id)]
        answer = self._redeem(keys=keys, args=[*_budget_args(offer), str(REDEEMED_TTL)])
        return answer.decode() if isinstance(answer, bytes) else str(answer)

    def forget(self, who: Sequence[str]) -> int:
        prefix = self._state.key("ledger", "shown") + ":"
        removed = 0
        for person in dict.fromkeys(who):
            pattern = f"{literal(prefix)}*:{literal(person)}"
            for found in scan(self._state, pattern, "RedisOfferLedger.forget"):
                keys = [k for k in found if _person_of(k, prefix) == person]
                if keys:
                    self._state.count_trip("RedisOfferLedger.forget")
                    with self._state.guard():
                        removed += int(self._forget(keys=keys))
        return removed

    @guarded
    def usage(self, offer_id: str) -> tuple[int, float]:
        count, spent = self._client.hmget(self._usage_key(offer_id), ["count", "spent"])
        return int(count or 0), float(spent or 0.0)

    @guarded
    def seeded(self) -> bool:
        return bool(self._client.exists(self._state.key("ledger", "seeded")))

    @guarded
    def seed(
        self,
        impressions: Iterable[tuple[str, str, float, str]],
        redemptions: Iterable[tuple[str, str, float]],
    ) -> None:
        pipe = self._client.pipeline(transaction=False)
        queued = 0

        def flush(force: bool = False) -> None:
            nonlocal queued
            if queued and (force or queued >= SEED_BATCH):
                pipe.execute()
                queued = 0

        for offer_id, who, at, decision_id in impressions:
            shown = self._shown_key(offer_id, who)
            pipe.zadd(shown, {decision_id: at})
            pipe.expire(shown, SHOWN_TTL)
            queued += 1
            flush()
        for offer_id, decision_id, cost in redemptions:
            keys = [self._usage_key(offer_id), self._redeemed_key(decision_id, offer_id)]
            self._seed_redemption(keys=keys, args=[repr(cost), str(REDEEMED_TTL)], client=pipe)
            queued += 1
            flush()
        flush(force=True)
        self._client.set(self._state.key("ledger", "seeded"), "1")


def _person_of(key: bytes, prefix: str) -> str | None:
    """The customer or visitor of an impression set's key (``<prefix><offer>:<who>``)."""
    text = key.decode("utf-8", errors="replace")
    if not text.startswith(prefix):
        return None
    _, sep, person = text[len(prefix) :].partition(":")
    return person if sep else None

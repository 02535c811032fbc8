"""Running an offline evaluation: split, fit every model on the training part, ask each
for every test customer's (or session's) list, and score the lists.

Customers mode: the last ``test_days`` are the test period; each customer who bought in
it and was seen before it is asked once, at the cutoff, for k items; the truth is the
set of items they bought in the test period (repeat purchases included). Nothing from
the test period reaches ``fit``.

Sessions mode: next-item prediction. For each test session, at every position t the
model sees the session's first t items and must rank the (t+1)-th (HR@k, MRR@k). Test
items never seen in training cannot be predicted by anyone and are dropped, as are
sessions left with fewer than two items.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from retailor.evaluation.metrics import coverage, novelty, score_lists
from retailor.evaluation.peers import PEERS, peer
from retailor.models.base import Context, Recommender
from retailor.models.fits import Fits, cutoff
from retailor.models.interactions import DAY, Interactions, Kind

#: Evaluated by default: the blend, each of its sources, and the peers.
CUSTOMER_MODELS = (
    "blend", "buy_again", "most_bought", "item_item", "fbt", "als", "bpr", "session_knn",
    "content", "popularity", "trending", "implicit_als", "global_popularity",
)  # fmt: skip
SESSION_MODELS = (
    "session_knn",
    "viewed_together",
    "als",
    "popularity",
    "implicit_als",
    "global_popularity",
)

Progress = Callable[[str, int, int], None]


@dataclass
class CustomerSplit:
    train: Interactions
    truth: dict[str, set[str]]
    cutoff: float
    cold_customers: int


@dataclass
class SessionSplit:
    train: Interactions
    sessions: list[list[str]]
    dropped_items: int = 0


@dataclass
class Report:
    mode: str
    split: dict[str, Any]
    ks: list[int]
    results: dict[str, dict[str, Any]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "split": self.split, "k": self.ks, "models": self.results}


def customer_split(data: Interactions, test_days: float) -> CustomerSplit:
    split_at = cutoff(data.now - test_days * DAY)
    train = data.before(split_at)
    test = data.since(split_at)
    bought = test.of_kind(Kind.PURCHASE)
    if len(bought):
        test = bought
    known = set(np.unique(train.user[train.user >= 0]).tolist())
    truth: dict[str, set[str]] = {}
    cold: set[int] = set()
    for u, i in zip(test.user, test.item, strict=True):
        if u < 0:
            continue
        if int(u) in known:
            truth.setdefault(str(data.user_ids[u]), set()).add(str(data.item_ids[i]))
        else:
            cold.add(int(u))
    if not truth:
        raise ValueError(
            f"no customer both had history before and activity in the last {test_days:g} days; "
            "try a different --test-days"
        )
    return CustomerSplit(train, truth, split_at, len(cold))


def sessions_as_customers(data: Interactions) -> Interactions:
    """The same rows with each session standing in for a customer, so that models that
    learn per customer (ALS, the peers) learn per session."""
    if not data.session_ids.size:
        return data
    copy = data.subset(np.ones(len(data), dtype=bool))
    copy.user, copy.user_ids = data.session.copy(), data.session_ids
    return copy


def session_split(data: Interactions, test: Interactions | None, test_days: float) -> SessionSplit:
    if not data.session_ids.size:
        raise ValueError("sessions mode needs a session column (session_id, SessionId)")
    if test is None:
        starts = np.full(data.session_ids.size, np.inf)
        np.minimum.at(starts, data.session, data.ts)
        in_test = starts[data.session] >= data.now - test_days * DAY
        train, test = data.subset(~in_test), data.subset(in_test)
    else:
        train = data
    known = set(train.item_ids[np.unique(train.item)].tolist())
    sessions: dict[int, list[str]] = {}
    dropped = 0
    for s, i in zip(test.session, test.item, strict=True):
        item = str(test.item_ids[i])
        if item not in known:
            dropped += 1
            continue
        sessions.setdefault(int(s), []).append(item)
    kept = [items for items in sessions.values() if len(items) >= 2]
    return SessionSplit(sessions_as_customers(train), kept, dropped)


def fit_all(
    names: Sequence[str], train: Interactions, seed: int, progress: Progress
) -> tuple[dict[str, Recommender], dict[str, float]]:
    """Fit each model; the blend reuses the fitted sources it shares with the others."""
    fits = Fits(train, seed)
    fitted: dict[str, Recommender] = {}
    seconds: dict[str, float] = {}
    order = sorted(names, key=lambda n: n == "blend")
    for n, name in enumerate(order):
        progress(f"fitting {name}", n, len(order))
        start = time.perf_counter()
        fitted[name] = peer(name, seed).fit(train) if name in PEERS else fits.model(name)
        seconds[name] = time.perf_counter() - start
    return fitted, seconds


def evaluate_customers(
    data: Interactions, names: Sequence[str], ks: Sequence[int], test_days: float,
    seed: int = 0, progress: Progress = lambda *_: None,
) -> Report:  # fmt: skip
    split = customer_split(data, test_days)
    models, fit_seconds = fit_all(names, split.train, seed, progress)
    k_max = max(ks)
    customers = sorted(split.truth)
    train_items = np.unique(split.train.item)
    users_with = _item_reach(split.train)
    report = Report(
        mode="customers",
        ks=list(ks),
        split={
            "test_days": test_days, "train_interactions": len(split.train),
            "test_customers": len(customers), "cold_customers_skipped": split.cold_customers,
            "test_purchases": int(sum(len(v) for v in split.truth.values())),
            "items_in_training": int(train_items.size),
        },
    )  # fmt: skip
    context = Context(now=split.cutoff)
    for n, (name, model) in enumerate(models.items()):
        progress(f"scoring {name}", n, len(models))
        start = time.perf_counter()
        lists = {c: [s.item_id for s in model.recommend(c, context, k_max)] for c in customers}
        elapsed = time.perf_counter() - start
        result: dict[str, Any] = score_lists(lists, split.truth, ks)
        for k in ks:
            result[f"coverage@{k}"] = coverage(lists, int(train_items.size), k)
            result[f"novelty@{k}"] = novelty(lists, users_with, k)
        result["fit_seconds"] = round(fit_seconds[name], 3)
        result["recommend_ms"] = round(1000 * elapsed / max(len(customers), 1), 3)
        report.results[name] = result
    return report


def evaluate_sessions(
    data: Interactions, test: Interactions | None, names: Sequence[str], ks: Sequence[int],
    test_days: float, seed: int = 0, progress: Progress = lambda *_: None,
) -> Report:  # fmt: skip
    split = session_split(data, test, test_days)
    models, fit_seconds = fit_all(names, split.train, seed, progress)
    k_max = max(ks)
    report = Report(
        mode="sessions",
        ks=list(ks),
        split={
            "train_interactions": len(split.train), "test_sessions": len(split.sessions),
            "predictions": sum(len(s) - 1 for s in split.sessions),
            "test_items_unseen_in_training": split.dropped_items,
        },
    )  # fmt: skip
    for n, (name, model) in enumerate(models.items()):
        progress(f"scoring {name}", n, len(models))
        hits = {k: 0.0 for k in ks}
        rr = {k: 0.0 for k in ks}
        count = 0
        start = time.perf_counter()
        for items in split.sessions:
            for t in range(1, len(items)):
                ranked = [
                    s.item_id
                    for s in model.recommend(None, Context(session_items=tuple(items[:t])), k_max)
                ]
                target = items[t]
                count += 1
                if target in ranked:
                    rank = ranked.index(target) + 1
                    for k in ks:
                        if rank <= k:
                            hits[k] += 1
                            rr[k] += 1.0 / rank
        elapsed = time.perf_counter() - start
        result: dict[str, Any] = {}
        for k in ks:
            result[f"hr@{k}"] = hits[k] / max(count, 1)
            result[f"mrr@{k}"] = rr[k] / max(count, 1)
        result["fit_seconds"] = round(fit_seconds[name], 3)
        result["recommend_ms"] = round(1000 * elapsed / max(count, 1), 3)
        report.results[name] = result
    return report


def _item_reach(train: Interactions) -> dict[str, float]:
    """Share of training customers (or sessions) who touched each item."""
    rows = train.user if train.n_users else train.session
    pairs = np.unique(np.stack([rows.astype(np.int64), train.item.astype(np.int64)]), axis=1)
    counts = np.bincount(pairs[1], minlength=train.n_items)
    total = max(int(np.unique(rows).size), 1)
    return {str(train.item_ids[i]): counts[i] / total for i in np.flatnonzero(counts)}

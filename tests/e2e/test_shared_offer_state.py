"""Two servers on one PostgreSQL database and one Redis namespace (``state``), as two
scaled-out workers: a frequency cap, a redemption limit and a budget hold across both,
neither learns the offer policy itself, and what one learner publishes from the shared
decision log (each logged choice once, whichever learner ran) reaches both."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from retailor.decision.learning import PolicyLearner, decode_state
from retailor.decision.policies import create_policy
from retailor.domain.access import Scope
from retailor.privacy.keys import create_key
from retailor.runtime.server import build_server
from retailor.runtime.services import Services
from retailor.settings import Settings
from retailor.storage.factory import Storage, open_storage
from retailor.storage.redis.connection import open_state
from retailor.storage.redis.ledger import RedisOfferLedger
from retailor.storage.redis.policy_state import RedisPolicyStateStore


@dataclass
class Worker:
    client: TestClient
    storage: Storage
    headers: dict[str, str]

    @property
    def services(self) -> Services:
        return self.client.app.state.services  # type: ignore[attr-defined,no-any-return]

    def decide(self, customer: str) -> dict[str, Any]:
        body = {"placement": "cart", "customer_id": customer, "offers": 1}
        answer = self.client.post("/v1/decisions", json=body, headers=self.headers)
        assert answer.status_code == 200, answer.text
        return answer.json()  # type: ignore[no-any-return]

    def put_offer(self, offer_id: str, document: dict[str, Any]) -> None:
        answer = self.client.put(f"/v1/offers/{offer_id}", json=document, headers=self.headers)
        assert answer.status_code == 200, answer.text


@pytest.fixture
def workers(postgres_dsn: str, redis_dsn: str, tmp_path: Path) -> Iterator[list[Worker]]:
    started: list[Worker] = []
    admin = ""
    for name in ("a", "b"):
        settings = Settings(
            data_dir=tmp_path / name, storage=postgres_dsn, state=redis_dsn, reward_window_seconds=0
        )
        settings.data_dir.mkdir()
        storage = open_storage(postgres_dsn, settings.data_dir)
        if not admin:
            _, admin = create_key(storage.keys, Scope.ADMIN)
        # no background work: the test runs the learner itself, with no settling delay
        client = TestClient(build_server(settings, storage, background=False))
        client.__enter__()
        started.append(Worker(client, storage, {"Authorization": f"Bearer {admin}"}))
    yield started
    for worker in started:
        worker.client.__exit__(None, None, None)
        worker.storage.close()


def offers_of(answer: dict[str, Any]) -> list[str]:
    return [o["offer_id"] for o in answer["offers"]]


def test_a_cap_holds_across_two_workers(workers: list[Worker]) -> None:
    a, b = workers
    for worker in workers:  # each takes it up at once (no definition follower running)
        worker.put_offer("capped", {"kind": "percent_off", "value": 10,
                                    "frequency_cap": {"per_day": 3}})  # fmt: skip
    assert isinstance(a.services.decisions.ledger, RedisOfferLedger)
    shown = [offers_of((a if n % 2 else b).decide("c1")) for n in range(10)]
    assert sum(o == ["capped"] for o in shown) == 3
    assert offers_of(b.decide("c2")) == ["capped"]  # another customer


def test_redemptions_and_budget_hold_across_two_workers(workers: list[Worker]) -> None:
    a, b = workers
    for worker in workers:
        worker.put_offer("five", {"kind": "amount_off", "value": 5, "budget": 10})
    granted = [(a if n % 2 else b).decide(f"c{n}")["decision_id"] for n in range(4)]
    for worker in workers:  # each decision in the shared log, where the other worker finds it
        assert worker.services.wait_idle(60)
    codes = []
    for n, decision_id in enumerate(granted):
        body = {"decision_id": decision_id, "type": "redeemed", "offer_id": "five"}
        worker = b if n % 2 else a  # redeemed on the other worker than the one deciding
        for _ in range(2):  # a redemption reported twice counts once
            codes.append(worker.client.post("/v1/feedback", json=body, headers=worker.headers))
    assert [c.status_code for c in codes[:4]] == [200, 200, 200, 200]
    assert [c.json()["outcome"] for c in codes[:4]] == ["counted", "duplicate"] * 2
    assert [c.status_code for c in codes[4:]] == [409] * 4  # 2 x 5 spent the budget of 10
    for worker in workers:
        got = worker.client.get("/v1/offers/five", headers=worker.headers).json()
        assert (got["redemptions"], got["spent"]) == (2, 10.0)
    assert offers_of(a.decide("c9")) == [] and offers_of(b.decide("c9")) == []


def test_one_learner_teaches_both_workers_each_choice_once(
    workers: list[Worker], redis_dsn: str
) -> None:
    a, b = workers
    for worker in workers:
        worker.put_offer("ten", {"kind": "percent_off", "value": 10})
        worker.put_offer("twenty", {"kind": "percent_off", "value": 20})
    made = [(a if n % 2 else b).decide(f"c{n % 5}") for n in range(40)]
    for worker in workers:
        assert worker.services.wait_idle(60)
    for n, answer in enumerate(made[:10]):
        body = {"decision_id": answer["decision_id"], "type": "redeemed",
                "offer_id": offers_of(answer)[0]}  # fmt: skip
        worker = a if n % 2 else b
        assert (
            worker.client.post("/v1/feedback", json=body, headers=worker.headers).status_code == 200
        )
    for worker in workers:
        assert worker.services.wait_idle(60)
        assert worker.services.decisions.tracker.waiting() == 0  # deciding workers keep nothing
        assert worker.services.decisions.tracker.policy.updates == 0
        assert worker.services.policy_learner is not None  # the lease holder's job

    states = [open_state(redis_dsn) for _ in range(2)]
    try:
        learners = [
            PolicyLearner(
                create_policy("vowpal"),
                a.storage.decisions,
                RedisPolicyStateStore(state),
                a.services.decisions.offers,
                reward_window=0,
                settle_seconds=0,
                batch=7,
            )
            for state in states
        ]
        assert learners[0].run_once() == 40
        assert learners[1].run_once() == 0  # it continues from what the first published
        assert learners[0].run_once() == 0
        published = RedisPolicyStateStore(states[0]).latest()
        assert published is not None
        state = decode_state(published[1])
        assert state is not None and state.learned == 40 and state.policy == "vowpal"

        more = [b.decide("c1") for _ in range(3)]
        assert b.services.wait_idle(60)
        assert learners[1].run_once() == 3
        published = RedisPolicyStateStore(states[0]).latest()
        assert published is not None
        state = decode_state(published[1])
        assert state is not None and state.learned == 43
        assert state.cursor_id == more[-1]["decision_id"]
    finally:
        for s in states:
            s.close()

    learner = learners[1].policy
    for worker in workers:
        follower = worker.services.decisions.follower
        assert follower is not None and follower.refresh(force=True)
        assert follower.version == published[0]
        policy = worker.services.decisions.tracker.policy
        arms = worker.services.decisions.chooser.arms_of(["ten", "twenty"])
        context = {"placement": "cart", "tier": "none"}
        assert policy.distribution(context, arms) == learner.distribution(context, arms)


def test_a_decision_answers_without_offers_when_the_ledger_is_out_of_reach(
    workers: list[Worker],
) -> None:
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    from retailor.storage.redis.connection import State

    a, _ = workers
    a.put_offer("ten", {"kind": "percent_off", "value": 10, "max_redemptions": 100})
    assert offers_of(a.decide("c1")) == ["ten"]
    nowhere = redis.Redis(
        host="127.0.0.1", port=1, socket_connect_timeout=1, retry=Retry(NoBackoff(), 0)
    )
    a.services.decisions.chooser.ledger = RedisOfferLedger(State(nowhere, "t_gone", "redis://"))
    answer = a.decide("c1")
    assert answer["offers"] == [] and answer["decision_id"]

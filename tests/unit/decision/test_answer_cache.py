"""The memo of model answers: time to live, empty answers, model swaps."""

from __future__ import annotations

import pytest

from retailor.decision import candidates
from retailor.decision.candidates import EMPTY_TTL, AnswerCache


def test_empty_answers_are_asked_again_soon_and_swaps_empty_the_memo(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = [1000.0]
    monkeypatch.setattr(candidates.time, "monotonic", lambda: clock[0])
    generation = [1]
    cache = AnswerCache(lambda: generation[0])
    answers = {"popular": [[], [("a", 1.0)]], "similar": [[("b", 1.0)], [("c", 1.0)]]}
    calls = {"popular": 0, "similar": 0}

    def ask(key: str) -> object:
        def compute() -> object:
            calls[key] += 1
            return answers[key][min(calls[key], 2) - 1]

        return cache.get(key, 30.0, compute)

    assert ask("popular") == [] and ask("similar") == [("b", 1.0)]
    clock[0] += EMPTY_TTL * 1.25  # past the empty answer's life, well within the ttl
    assert ask("popular") == [("a", 1.0)]  # the model has folded the first events
    assert ask("similar") == [("b", 1.0)] and calls["similar"] == 1
    generation[0] = 2  # a new model version: everything is asked again
    assert ask("similar") == [("c", 1.0)]

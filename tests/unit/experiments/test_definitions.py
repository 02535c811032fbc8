"""Experiment and holdout definitions: what decodes, what is refused and where, and how a
variant changes a placement."""

from __future__ import annotations

from typing import Any

import pytest

from retailor.decision.experiments import varied
from retailor.domain.experiments import parse_experiment, parse_holdout
from retailor.domain.placements import DefinitionError, parse_placement


def definition(**changes: Any) -> dict[str, Any]:
    return {
        "placements": ["home"],
        "variants": [{"id": "a", "weight": 0.5}, {"id": "b", "weight": 0.5}],
        "control": "a",
        **changes,
    }


def test_a_definition_decodes_with_its_defaults() -> None:
    experiment = parse_experiment(definition(), "hero")
    assert (experiment.experiment_id, experiment.status, experiment.phase) == ("hero", "running", 1)
    assert experiment.split() == [("a", 0.5), ("b", 0.5)]
    thirds = [{"id": v, "weight": 1 / 3} for v in "xyz"]
    assert parse_experiment(definition(variants=thirds, control="x"), "t").control == "x"


@pytest.mark.parametrize(
    ("changes", "said"),
    [
        ({"variants": [{"id": "a", "weight": 0.6}, {"id": "b", "weight": 0.5}]}, "sum to"),
        ({"variants": [{"id": "a", "weight": 0.5}, {"id": "a", "weight": 0.5}]}, "twice"),
        ({"variants": [{"id": "a", "weight": 1.0}]}, "length"),
        ({"control": "c"}, "$.control"),
        ({"placements": []}, "length"),
        ({"placements": ["home", "home"]}, "twice"),
        ({"status": "paused"}, "status"),
        ({"surprise": 1}, "surprise"),
        ({"variants": [{"id": "a", "weight": 0.5}, {"id": "b", "weight": 0.5, "x": 1}]}, "x"),
        ({"variants": [{"id": "a", "weight": 0.5}, {"id": "b", "weight": 0.5,
                                                   "offer_policy": "greedy"}]}, "offer_policy"),
        ({"variants": [{"id": "a", "weight": 0.5}, {"id": "b", "weight": 0.5, "placement": {
            "rules": [{"kind": "boost", "match": {}}]}}]}, "$.variants[1].placement.rules[0]"),
        ({"variants": [{"id": "a", "weight": float("nan")}, {"id": "b", "weight": 0.5}]}, "finite"),
    ],
)  # fmt: skip
def test_wrong_definitions_say_what_is_wrong(changes: dict[str, Any], said: str) -> None:
    with pytest.raises(DefinitionError, match=None) as caught:
        parse_experiment(definition(**changes), "hero")
    assert said in str(caught.value)


def test_reserved_and_invalid_ids_are_refused() -> None:
    for bad in ("holdout", "../x", ""):
        with pytest.raises(DefinitionError):
            parse_experiment(definition(), bad)


def test_holdout_shares() -> None:
    assert parse_holdout({"share": 0.05}).share == 0.05
    for wrong in ({"share": 0.51}, {"share": -0.01}, {}, {"share": 0.1, "x": 1}):
        with pytest.raises(DefinitionError):
            parse_holdout(wrong)


def test_a_variant_changes_the_placement() -> None:
    home = parse_placement(
        {"sources": [{"source": "personal"}, {"source": "als", "weight": 0.5}],
         "fallback": ["personal", "popular"], "k": 10},
        "home",
    )  # fmt: skip
    same = parse_experiment(definition(), "e").variants[0]
    assert varied(home, same) is home
    variant = parse_experiment(
        definition(variants=[{"id": "a", "weight": 0.5}, {"id": "b", "weight": 0.5,
                   "placement": {"k": 4}, "models": {"personal": "als"}}]),
        "e",
    ).variants[1]  # fmt: skip
    changed = varied(home, variant)
    assert changed.k == 4 and [(s.source, s.weight) for s in changed.sources] == [("als", 1.0)]
    assert changed.fallback == ["als", "popular"]
    assert home.k == 10 and home.sources[0].source == "personal"  # the definition is untouched

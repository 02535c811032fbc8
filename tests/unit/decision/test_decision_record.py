"""A decision record names its experiment variant only when it was made in an experiment."""

from __future__ import annotations

import msgspec

from retailor.domain.decisions import DecisionRecord, ExperimentAssignment
from tests.contract.test_decision_log import record


def test_the_experiment_is_kept_with_a_record_and_left_out_of_one_made_outside() -> None:
    tried = record(1, experiment=ExperimentAssignment(experiment_id="hero", variant="b"))
    plain = record(2)
    for made in (tried, plain):
        assert msgspec.json.decode(msgspec.json.encode(made), type=DecisionRecord) == made
    assert msgspec.json.decode(msgspec.json.encode(tried))["experiment"] == {
        "experiment_id": "hero",
        "variant": "b",
    }
    assert "experiment" not in msgspec.json.decode(msgspec.json.encode(plain))

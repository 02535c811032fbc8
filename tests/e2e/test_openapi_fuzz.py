"""schemathesis against a running server, with every check it has (``--checks all``): the
document and the server agree. No request causes a 500; a request the document allows
is taken (or answered 404/409 for what does not exist or conflicts); one it forbids is
refused; every answer, problems included, has a documented status and the documented
shape; a deleted resource is gone.

The run is deterministic and uses the repository's ``schemathesis.toml`` (whose hooks
apply the rules JSON Schema cannot state), like ``schemathesis run ... --checks all``
from the repository root. The coverage phase, which walks every keyword of the document,
leaves out the three bodies whose nested definitions it would spell out by the thousand
(it takes minutes there); the fuzzing and stateful phases cover every operation.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import Status, events

from tests.conftest import LiveServer

REPOSITORY = Path(__file__).resolve().parents[2]
#: Bodies the coverage phase would turn into thousands of requests each.
COVERED_BY_FUZZING_ONLY = [
    "PUT /v1/segments/{segment_id}",
    "PUT /v1/placements/{placement_id}",
    "POST /v1/events",
]


def run(
    live_server: LiveServer, phases: list[str], *, exclude: list[str] | None = None
) -> tuple[list[str], Counter[int]]:
    """The failures of one schemathesis run (operation, check, how to reproduce), and the
    statuses the server answered."""
    config = SchemathesisConfig.from_path(REPOSITORY / "schemathesis.toml")
    project = config.projects.override
    project.update(headers=live_server.admin())
    project.phases.update(phases=phases)
    project.checks.update(included_check_names=["all"])
    project.generation.update(max_examples=15, deterministic=True)
    schema = schemathesis.openapi.from_url(f"{live_server.url}/openapi.json", config=config)
    if exclude:
        schema = schema.exclude(name=exclude)
    failures: list[str] = []
    statuses: Counter[int] = Counter()
    for event in schemathesis.engine.from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            recorder = event.recorder
            statuses.update(
                i.response.status_code
                for i in recorder.interactions.values()
                if i.response is not None
            )
            for nodes in recorder.checks.values():
                for node in nodes:
                    if node.status == Status.FAILURE and node.failure_info is not None:
                        failure = node.failure_info.failure
                        failures.append(
                            f"{recorder.label}: {failure.title}: {failure.message[:300]}\n"
                            f"    {node.failure_info.code_sample}"
                        )
        elif isinstance(event, events.NonFatalError | events.FatalError):
            failures.append(f"error: {event}")
    return failures, statuses


@pytest.mark.timeout(240)
def test_the_document_and_the_server_agree(
    live_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPOSITORY)  # the configuration names its hooks file from here
    covered, seen = run(live_server, ["coverage"], exclude=COVERED_BY_FUZZING_ONLY)
    fuzzed, more = run(live_server, ["fuzzing", "stateful"])
    failures = covered + fuzzed
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures[:15])
    statuses = seen + more
    assert statuses[200] > 100 and statuses[422] > 100, statuses  # it reached the server

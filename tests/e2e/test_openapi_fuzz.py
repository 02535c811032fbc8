"""schemathesis generates requests from the OpenAPI document of a running server: no
request may cause a 500, and every error is a problem document."""

from __future__ import annotations

from collections.abc import Callable

import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.conftest import LiveServer


def fuzzer(
    operation: schemathesis.APIOperation,
    headers: dict[str, str],
    failures: list[str],
    statuses: set[int],
) -> Callable[[], None]:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None
    )
    def fuzz(case: schemathesis.Case) -> None:
        response = case.call(headers=headers)
        statuses.add(response.status_code)
        if response.status_code >= 500:
            failures.append(f"{operation.label}: {response.status_code} {response.text[:200]}")
        elif response.status_code >= 400:
            ctype = response.headers.get("content-type", [""])[0]
            if not ctype.startswith("application/problem+json"):
                failures.append(f"{operation.label}: {response.status_code} without problem+json")

    return fuzz  # type: ignore[no-any-return]


def test_no_generated_request_causes_a_server_error(live_server: LiveServer) -> None:
    schema = schemathesis.openapi.from_url(f"{live_server.url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 14
    failures: list[str] = []
    statuses: set[int] = set()
    for operation in operations:
        fuzzer(operation, live_server.admin(), failures, statuses)()
    assert not failures, "\n".join(failures[:10])
    assert 200 in statuses and 422 in statuses, statuses  # it did reach the server

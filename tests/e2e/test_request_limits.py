"""Every operation of the OpenAPI document, against a real server, with what a careless or
hostile client sends: a body past every limit, a body nested far deeper than any reader
recurses, a very long query string, a very long id in the path. Each is a 4xx problem
document, never a 5xx."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import LiveServer, start_server, stop_server

MAX_BODY = 64 * 1024
#: larger than every body limit of the server (decisions and feedback have 256 KiB)
OVERSIZED = 300 * 1024
DEPTH = 20_000
_PARAM = re.compile(r"{(\w+)(?::\w+)?}")


def fresh_connections(headers: dict[str, str]) -> httpx.Client:
    """A client that opens a connection per request: a server may close one after
    refusing a body it did not read, and a pooled connection would then meet the close."""
    return httpx.Client(
        timeout=30, headers=headers, limits=httpx.Limits(max_keepalive_connections=0)
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_server(
        Path(tmp_path_factory.mktemp("limits")) / "data",
        env={"RETAILOR_MAX_BODY_BYTES": str(MAX_BODY)},
    )
    yield live
    stop_server(live)


def operations(server: LiveServer) -> list[tuple[str, str, bool]]:
    """``(method, path template, takes a body)`` of every documented operation."""
    document = httpx.get(f"{server.url}/openapi.json", timeout=10).json()
    found = []
    for path, item in document["paths"].items():
        for method, op in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                found.append((method.upper(), path, "requestBody" in op))
    assert len(found) > 40
    return found


def url(server: LiveServer, path: str, value: str = "p1") -> str:
    return server.url + _PARAM.sub(value, path)


def assert_problem(answer: httpx.Response, *statuses: int) -> None:
    where = f"{answer.request.method} {answer.request.url.path[:80]}"
    assert 400 <= answer.status_code < 500, f"{where}: {answer.status_code} {answer.text[:300]}"
    if statuses:
        assert answer.status_code in statuses, f"{where}: {answer.status_code} {answer.text[:300]}"
    assert answer.headers["content-type"].startswith("application/problem+json"), where
    assert answer.json()["status"] == answer.status_code


def nested_bodies() -> dict[str, bytes]:
    deep_object = b'{"a":' * DEPTH + b"1" + b"}" * DEPTH
    deep_list = b"[" * DEPTH + b"]" * DEPTH
    return {
        "object": deep_object,
        "list": deep_list,
        "inside an event": b'{"event_id":"e1","type":"product_viewed","customer_id":"c1",'
        b'"properties":{"item_id":"s1","x":' + deep_object + b"}}",
        "inside a batch": b'{"events":[' + deep_list + b"]}",
        "inside a segment batch": b'{"batch":[{"type":"track","event":"x","userId":"u",'
        b'"properties":' + deep_object + b"}]}",
    }


def caller(server: LiveServer, method: str, path: str) -> dict[str, str]:
    """The key of an operation only the server's control token may call (``POST
    /v1/audit``, what the command line records through a server): any other is refused
    before its body is read."""
    if (method, path) != ("POST", "/v1/audit"):
        return {}
    from retailor.api.runfile import read_run_file

    run = read_run_file(server.data_dir)
    assert run is not None
    return {"Authorization": f"Bearer {run.token}"}


def test_an_oversized_body_is_413_everywhere(server: LiveServer) -> None:
    body = b'{"a":"' + b"x" * OVERSIZED + b'"}'
    with fresh_connections(server.admin()) as client:
        for method, path, takes_body in operations(server):
            if not takes_body:
                continue
            answer = client.request(
                method, url(server, path), content=body,
                headers={"Content-Type": "application/json", **caller(server, method, path)},
            )  # fmt: skip
            assert_problem(answer, 413)


def test_a_deeply_nested_body_is_a_4xx_everywhere(server: LiveServer) -> None:
    with fresh_connections(server.admin()) as client:
        for method, path, takes_body in operations(server):
            if not takes_body:
                continue
            for body in nested_bodies().values():
                answer = client.request(
                    method, url(server, path), content=body,
                    headers={"Content-Type": "application/json"},
                )  # fmt: skip
                if answer.status_code < 400:  # a batch keeps what it could, refusing the rest
                    assert answer.status_code < 300, answer.text[:300]
                    continue
                assert_problem(answer)


def test_a_deeply_nested_yaml_definition_is_a_4xx(server: LiveServer) -> None:
    deep = b"a:\n" + b"".join(b"  " * (n + 1) + b"a:\n" for n in range(300)) + b"  " * 302 + b"1\n"
    flow = b"[" * DEPTH + b"]" * DEPTH
    with fresh_connections(server.admin()) as client:
        for method, path, takes_body in operations(server):
            if method != "PUT" or not takes_body:
                continue
            for body in (deep, flow):
                answer = client.request(
                    method, url(server, path), content=body,
                    headers={"Content-Type": "application/yaml"},
                )  # fmt: skip
                assert_problem(answer)


def test_a_very_long_query_or_path_is_a_4xx_everywhere(server: LiveServer) -> None:
    with fresh_connections(server.admin()) as client:
        for method, path, _ in operations(server):
            answer = client.request(method, url(server, path) + "?q=" + "x" * 10_000)
            assert_problem(answer, 414)
            if "{" in path:
                answer = client.request(method, url(server, path, "x" * 300))
                assert_problem(answer, 404, 422)
                answer = client.request(method, url(server, path, "x" * 9000))
                assert_problem(answer, 414)


def test_limits_hold_without_a_key_too(server: LiveServer) -> None:
    with fresh_connections({}) as client:
        long_query = client.get(f"{server.url}/v1/events?q=" + "x" * 10_000)
        assert_problem(long_query, 414)
        oversized = client.post(f"{server.url}/v1/events", content=b"x" * OVERSIZED)
        assert_problem(oversized, 401)  # refused before a byte of the body is read

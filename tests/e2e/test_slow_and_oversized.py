"""Slow and oversized requests against a real server: clients trickling their bodies are
cut off (408, or the connection closed) while everyone else is still answered; a body over
the limit, declared or sent in chunks without a length, is a 413 and nothing of it is
stored; a huge header or a very long URL is a 4xx, and the server goes on serving.

The server runs with a body timeout of a few seconds and a 64 KiB body limit; each wait is
bounded by ``PATIENCE`` (many times the timeouts), so a busy machine cannot fail a test.
What a single slow connection gets is in ``test_connections.py``; bodies in process are in
``test_hostile_bodies.py``."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import LiveServer, event, start_server, stop_server
from tests.e2e.test_connections import PATIENCE, connect, head, read_until_closed

LIMIT = 64 * 1024
ENV = {
    "RETAILOR_HEADER_TIMEOUT_SECONDS": "2",
    "RETAILOR_BODY_TIMEOUT_SECONDS": "3",
    "RETAILOR_BODY_STALL_TIMEOUT_SECONDS": "2",
    "RETAILOR_MAX_BODY_BYTES": str(LIMIT),
}
#: Slow clients at once, and the pause between the bytes each sends (within the stall
#: timeout, so only the whole-body timeout can end them).
SLOW_CLIENTS = 4
TRICKLE_PAUSE = 0.25


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One server for the module: each test sends to customers of its own."""
    live = start_server(tmp_path_factory.mktemp("hostile") / "live", env=ENV)
    yield live
    stop_server(live)


def stored(server: LiveServer, customer: str) -> int:
    """How many events the server holds for ``customer``."""
    r = httpx.get(
        f"{server.url}/v1/customers/{customer}/events", headers=server.admin(), timeout=PATIENCE
    )
    assert r.status_code in (200, 404), r.text
    return len(r.json()["events"]) if r.status_code == 200 else 0


class SlowClient(threading.Thread):
    """Sends its headers at once, then its body a byte at a time, until the server closes
    the connection or ``PATIENCE`` runs out; keeps what the server answered."""

    def __init__(self, server: LiveServer, body: bytes) -> None:
        super().__init__(daemon=True)
        self.server, self.body = server, body
        self.started_body = threading.Event()
        self.answer, self.closed = b"", False

    def run(self) -> None:
        with connect(self.server) as sock:
            sock.sendall(head("POST", "/v1/events", self.server.ingest(), len(self.body)))
            self.started_body.set()
            deadline = time.monotonic() + PATIENCE
            for byte in self.body:
                if time.monotonic() > deadline:
                    return
                try:
                    sock.sendall(bytes([byte]))
                except (BrokenPipeError, ConnectionResetError):
                    break
                sock.settimeout(TRICKLE_PAUSE)
                try:
                    chunk = sock.recv(65536)
                except TimeoutError:
                    continue
                except ConnectionResetError:
                    break
                if not chunk:
                    break
                self.answer += chunk
            more, self.closed = read_until_closed(sock, max(0.0, deadline - time.monotonic()))
            self.answer += more
            self.closed = True


def test_slow_bodies_are_cut_off_while_others_are_answered(server: LiveServer) -> None:
    body = json.dumps(
        {"events": [event(f"slow-{i}", customer_id="slow-customer") for i in range(40)]}
    ).encode()
    slow = [SlowClient(server, body) for _ in range(SLOW_CLIENTS)]
    for client in slow:
        client.start()
    for client in slow:
        assert client.started_body.wait(PATIENCE)
    # while every slow client is still sending, the others are answered
    answered = []
    for i in range(10):
        r = httpx.post(
            f"{server.url}/v1/events",
            json=event(f"brisk-{i}", customer_id="brisk-customer"),
            headers=server.ingest(),
            timeout=PATIENCE,
        )
        answered.append(r.status_code)
        answered.append(httpx.get(f"{server.url}/healthz", timeout=PATIENCE).status_code)
    assert answered == [200] * 20
    for client in slow:
        client.join(PATIENCE * 2)
        assert client.closed, "a slow client's connection stayed open"
        # the 408 may be lost when the next byte meets the closed connection
        assert client.answer == b"" or client.answer.startswith(b"HTTP/1.1 408"), client.answer
    assert stored(server, "slow-customer") == 0
    assert stored(server, "brisk-customer") == 10


def test_a_declared_oversized_body_is_refused_before_it_is_read(server: LiveServer) -> None:
    with connect(server) as sock:
        sock.sendall(head("POST", "/v1/events", server.ingest(), LIMIT * 100))
        sock.sendall(json.dumps(event("big", customer_id="big-customer")).encode())
        answer, closed = read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"application/problem+json" in answer and closed
    assert stored(server, "big-customer") == 0


def chunked_head(server: LiveServer, path: str) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: retailor", "Content-Type: application/json"]
    lines += [f"{k}: {v}" for k, v in server.ingest().items()]
    lines.append("Transfer-Encoding: chunked")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


@pytest.mark.parametrize("path", ["/v1/events", "/v1/batch"])
def test_a_chunked_body_past_the_limit_is_a_413_and_nothing_is_stored(
    server: LiveServer, path: str
) -> None:
    if path == "/v1/events":
        one = json.dumps(event("chunk", customer_id="chunked-customer")).encode()
        opening = b'{"events": ['
    else:
        message = {"type": "track", "event": "Product Viewed", "userId": "chunked-customer"}
        one = json.dumps({**message, "properties": {"product_id": "sku-1"}}).encode()
        opening = b'{"batch": ['
    parts = [opening] + [
        one.replace(b'"chunk"', f'"chunk-{i}"'.encode()) + b"," for i in range(2000)
    ]
    answer = b""
    with connect(server) as sock:
        sock.sendall(chunked_head(server, path))
        for part in parts:  # far past the limit; the server answers before the end
            try:
                sock.sendall(b"%x\r\n%s\r\n" % (len(part), part))
            except (BrokenPipeError, ConnectionResetError):
                break
        answer, _ = read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert stored(server, "chunked-customer") == 0


@pytest.mark.parametrize(
    "request_head",
    [
        f"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Huge: {'a' * 1_000_000}\r\n\r\n",
        "GET /healthz HTTP/1.1\r\nHost: x\r\n" + "".join(f"X-{i}: v\r\n" for i in range(500)),
        f"GET /v1/customers/{'a' * 300_000}/events HTTP/1.1\r\nHost: x\r\n\r\n",
        f"GET /v1/customers/{'a' * 60_000}/events HTTP/1.1\r\nHost: x\r\nAUTH\r\n\r\n",
        f"GET /v1/reports?by={'placement,' * 5000} HTTP/1.1\r\nHost: x\r\nAUTH\r\n\r\n",
        "GET /v1/reports?from=0001-01-01T00:00:00%2B01:00 HTTP/1.1\r\nHost: x\r\nAUTH\r\n\r\n",
    ],
    ids=[
        "a 1 MB header",
        "500 headers",
        "a 300 kB URL",
        "a 60 kB id",
        "a 55 kB query",
        "a time its offset moves before year 1",
    ],
)
def test_huge_headers_and_long_urls_are_a_4xx(server: LiveServer, request_head: str) -> None:
    auth = "".join(f"{k}: {v}" for k, v in server.admin().items())
    data = request_head.replace("AUTH", auth).encode()
    if not data.endswith(b"\r\n\r\n"):
        data += b"\r\n"
    with connect(server) as sock:
        # refused while still sending: what it answered is read below
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(data)
        answer = b""
        sock.settimeout(PATIENCE)
        with contextlib.suppress(ConnectionResetError, TimeoutError):
            while b"\r\n" not in answer and (chunk := sock.recv(65536)):
                answer += chunk
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else None
    assert status is None or 400 <= status < 500, answer[:200]  # closed, or a 4xx
    assert httpx.get(f"{server.url}/healthz", timeout=PATIENCE).status_code == 200

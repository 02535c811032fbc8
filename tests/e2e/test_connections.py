"""A client's connection to a real server: one that leaves mid-body, one that sends its
headers or body too slowly, one that stays idle. The server runs with timeouts of a second
or two; each test waits many times longer for it to act, so a busy machine cannot fail it,
and every socket wait is bounded."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import LiveServer, event, start_server, stop_server

SHORT_TIMEOUTS = {
    "RETAILOR_HEADER_TIMEOUT_SECONDS": "1",
    "RETAILOR_BODY_TIMEOUT_SECONDS": "3",
    "RETAILOR_BODY_STALL_TIMEOUT_SECONDS": "1",
}
#: The longest a test waits for the server to close a connection (the old, default
#: header timeout was 30 s, and nothing bounded a body or a silent connection).
PATIENCE = 15.0
#: The pause between the bytes of a trickle: well within the stall timeout.
TRICKLE_PAUSE = 0.2


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    live = start_server(tmp_path / "live", env=SHORT_TIMEOUTS)
    yield live
    stop_server(live)


def connect(server: LiveServer) -> socket.socket:
    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    return socket.create_connection((host, int(port)), timeout=PATIENCE)


def head(method: str, path: str, auth: dict[str, str], length: int | None = None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: retailor"]
    lines += [f"{name}: {value}" for name, value in auth.items()]
    if length is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {length}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def read_until_closed(sock: socket.socket, patience: float = PATIENCE) -> tuple[bytes, bool]:
    """What the server sends until it closes the connection, and whether it closed it
    within ``patience`` seconds."""
    deadline = time.monotonic() + patience
    received = b""
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            break
        except ConnectionResetError:
            return received, True
        if not chunk:
            return received, True
        received += chunk
    return received, False


def trickle(sock: socket.socket, data: bytes) -> tuple[bytes, bool]:
    """Send ``data`` a byte at a time, ``TRICKLE_PAUSE`` apart, until the server closes the
    connection (for at most ``PATIENCE`` seconds); what it sent back and whether it closed."""
    deadline = time.monotonic() + PATIENCE
    received = b""
    for byte in data:
        if time.monotonic() > deadline:
            return received, False
        try:
            sock.sendall(bytes([byte]))
        except (BrokenPipeError, ConnectionResetError):
            return received, True
        sock.settimeout(TRICKLE_PAUSE)
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        except ConnectionResetError:
            return received, True
        if not chunk:
            return received, True
        received += chunk
    more, closed = read_until_closed(sock, max(0.0, deadline - time.monotonic()))
    return received + more, closed


def metrics(server: LiveServer) -> str:
    return httpx.get(f"{server.url}/metrics", timeout=PATIENCE).text


def test_a_client_leaving_mid_body_is_an_abort_not_a_server_error(tmp_path: Path) -> None:
    server = start_server(tmp_path / "live", env=SHORT_TIMEOUTS)
    try:
        body = json.dumps({"events": [event("left-1"), event("left-2")]}).encode()
        with connect(server) as sock:
            sock.sendall(head("POST", "/v1/events", server.ingest(), len(body)))
            sock.sendall(body[: len(body) // 2])
        deadline = time.monotonic() + PATIENCE
        while 'route="/v1/events"' not in (seen := metrics(server)):
            assert time.monotonic() < deadline, "the request was never counted"
            time.sleep(0.1)
        assert 'retailor_client_aborts_total{method="POST",route="/v1/events"} 1.0' in seen, seen
        assert 'status="500"' not in seen
        # nothing of the half body was kept, and the server goes on serving
        kept = httpx.get(f"{server.url}/v1/quarantine", headers=server.admin(), timeout=PATIENCE)
        assert kept.json()["total"] == 0
        sent = httpx.post(
            f"{server.url}/v1/events", json=event("after"), headers=server.ingest(), timeout=30
        )
        assert sent.status_code == 200, sent.text
    finally:
        stop_server(server)
    log = server.stderr()
    assert "Traceback" not in log and "ClientDisconnect" not in log, log


def test_a_body_that_stops_arriving_gets_a_408_and_the_connection_closed(
    server: LiveServer,
) -> None:
    body = json.dumps(event("stalled")).encode()
    with connect(server) as sock:
        sock.sendall(head("POST", "/v1/events", server.ingest(), len(body)) + body[:10])
        answer, closed = read_until_closed(sock)
    assert closed, "the connection stayed open"
    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert b"application/problem+json" in answer and b"no part of the body arrived" in answer


def test_a_body_trickling_past_the_body_timeout_is_cut_off(server: LiveServer) -> None:
    body = json.dumps({"events": [event(f"slow-{i}") for i in range(20)]}).encode()
    with connect(server) as sock:
        sock.sendall(head("POST", "/v1/events", server.ingest(), len(body)))
        answer, closed = trickle(sock, body)
    assert closed, "the connection stayed open"
    # the 408 may be lost when the next byte meets the closed connection
    assert answer == b"" or answer.startswith(b"HTTP/1.1 408"), answer
    assert (
        "slow-"
        not in httpx.get(
            f"{server.url}/v1/quarantine", headers=server.admin(), timeout=PATIENCE
        ).text
    )


def test_headers_sent_slowly_are_cut_off(server: LiveServer) -> None:
    padding = "x" * 400  # far more bytes than can trickle in within PATIENCE
    with connect(server) as sock:
        answer, closed = trickle(sock, f"GET /healthz HTTP/1.1\r\nX-Slow: {padding}\r\n".encode())
    assert closed, "the connection stayed open"
    assert not answer.startswith(b"HTTP/1.1 200"), answer


def test_an_idle_connection_is_closed(server: LiveServer) -> None:
    with connect(server) as sock:
        answer, closed = read_until_closed(sock)
    assert closed, "a connection that never sent a byte stayed open"
    assert answer == b""


def test_an_idle_keep_alive_connection_is_closed_after_its_request(server: LiveServer) -> None:
    with connect(server) as sock:
        sock.sendall(head("GET", "/healthz", {}))
        first = sock.recv(65536)
        assert first.startswith(b"HTTP/1.1 200"), first
        assert b"connection: close" not in first.lower()
        more, closed = read_until_closed(sock)
    assert closed, "the idle keep-alive connection stayed open"
    assert (first + more).count(b"HTTP/1.1 ") == 1

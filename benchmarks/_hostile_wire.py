"""Slow and oversized requests for ``benchmarks/hostile.py``, over raw sockets: what the
server answered each (its status, or 0 when it closed the connection without one).

Every wait is bounded (``PATIENCE``), so a server that never answers costs seconds, not a
hung run."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import Counter
from datetime import UTC, datetime

import httpx

from _hostile_inputs import Acknowledged, Sent
from _server import Server

PATIENCE = 20.0
TRICKLE_PAUSE = 0.25


def _connect(server: Server) -> socket.socket:
    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    return socket.create_connection((host, int(port)), timeout=PATIENCE)


def _status(answer: bytes) -> int:
    """The status of an HTTP/1.1 answer, or 0 for none."""
    if not answer.startswith(b"HTTP/1.1 "):
        return 0
    try:
        return int(answer.split(b" ", 2)[1])
    except ValueError:
        return 0


def _read(sock: socket.socket, patience: float = PATIENCE) -> bytes:
    """What the server sends until it closes the connection or ``patience`` runs out."""
    deadline = time.monotonic() + patience
    received = b""
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except (TimeoutError, ConnectionResetError):
            break
        if not chunk:
            break
        received += chunk
    return received


def _head(server: Server, path: str, extra: list[str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: retailor", f"Authorization: Bearer {server.key}"]
    return ("\r\n".join(lines + extra) + "\r\n\r\n").encode()


def _events(prefix: str, n: int) -> bytes:
    now = datetime.now(UTC).isoformat()
    return json.dumps({"events": [
        {"event_id": f"{prefix}-{i}", "type": "product_viewed", "customer_id": f"{prefix}-c",
         "timestamp": now, "properties": {"item_id": "sku-1"}} for i in range(n)
    ]}).encode()  # fmt: skip


def _trickle(server: Server, body: bytes, answers: list[int], ready: threading.Event) -> None:
    """Headers at once, then the body a byte at a time until the server cuts it off."""
    answer = b""
    try:
        with _connect(server) as sock:
            extra = ["Content-Type: application/json", f"Content-Length: {len(body)}"]
            sock.sendall(_head(server, "/v1/events", extra))
            ready.set()
            deadline = time.monotonic() + PATIENCE
            for byte in body:
                if time.monotonic() > deadline:
                    break
                sock.sendall(bytes([byte]))
                sock.settimeout(TRICKLE_PAUSE)
                try:
                    chunk = sock.recv(65536)
                except TimeoutError:
                    continue
                answer += chunk
                if not chunk or answer:
                    break
            answer += _read(sock, max(0.1, deadline - time.monotonic()))
    except OSError:
        pass  # the connection closed under the next byte: no answer
    finally:
        ready.set()
        answers.append(_status(answer))


def slow_clients(
    server: Server, count: int, acknowledged: Acknowledged
) -> tuple[Counter[int], Counter[int]]:
    """``count`` clients trickling their bodies at once, and batches of events sent by a
    brisk client meanwhile: the statuses of each."""
    answers: list[int] = []
    threads = []
    for i in range(count):
        ready = threading.Event()
        thread = threading.Thread(
            target=_trickle, args=(server, _events(f"slow{i}", 30), answers, ready), daemon=True
        )
        thread.start()
        ready.wait(PATIENCE)
        threads.append(thread)
    brisk: Counter[int] = Counter()
    with httpx.Client(base_url=server.url, timeout=PATIENCE) as client:
        for i in range(20):
            body = _events(f"brisk-{time.time_ns()}-{i}", 5)
            ids: list[str | None] = [e["event_id"] for e in json.loads(body)["events"]]
            headers = {"Authorization": f"Bearer {server.key}", "Content-Type": "application/json"}
            sent = Sent("/v1/events", body, headers, ids, "brisk")
            try:
                r = client.post(sent.path, content=body, headers=headers)
            except httpx.HTTPError:
                brisk[0] += 1
                continue
            acknowledged.record(sent, r.status_code, r.json())
            brisk[r.status_code] += 1
    for thread in threads:
        thread.join(PATIENCE * 2)
    return Counter(answers), brisk


def oversized(server: Server) -> Counter[int]:
    """Bodies over the limit (declared; chunked without a length, native and Segment), a
    1 MB header, a 300 kB URL, 500 headers."""
    statuses: Counter[int] = Counter()
    limit = httpx.get(f"{server.url}/healthz", timeout=PATIENCE).json()["limits"]["max_body_bytes"]

    def exchange(data: bytes, then: tuple[bytes, ...] = ()) -> None:
        answer = b""
        try:
            with _connect(server) as sock:
                sock.sendall(data)
                for part in then:
                    sock.sendall(part)
                answer = _read(sock)
        except OSError:
            pass  # refused while sending; what came back before is lost with it
        statuses[_status(answer)] += 1

    json_type = "Content-Type: application/json"
    exchange(_head(server, "/v1/events", [json_type, f"Content-Length: {limit * 10}"]))
    for path in ("/v1/events", "/v1/batch"):
        chunk = b" " * 16384
        parts = [b"%x\r\n%s\r\n" % (len(chunk), chunk)] * (limit // len(chunk) + 4)
        exchange(_head(server, path, [json_type, "Transfer-Encoding: chunked"]), tuple(parts))
    exchange(f"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Huge: {'a' * 1_000_000}\r\n\r\n".encode())
    exchange(f"GET /v1/customers/{'a' * 300_000}/events HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    many = "".join(f"X-{i}: v\r\n" for i in range(500))
    exchange(f"GET /healthz HTTP/1.1\r\nHost: x\r\n{many}\r\n".encode())
    return statuses

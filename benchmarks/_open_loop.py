"""The open-loop load generator of benchmarks/decisions.py (it runs in a process of its own).

Request i is due at t0 + i/rate and its latency runs from that due time to the last byte of
the answer, over keep-alive HTTP/1.1 connections, so a slow answer delays the queue and is
counted (no coordinated omission).
"""

from __future__ import annotations

import asyncio
import resource
import time
from collections import Counter
from typing import Any
from urllib.parse import urlsplit

import numpy as np


def percentiles(values: np.ndarray) -> dict[str, float]:
    if values.size == 0:
        return {}
    p50, p90, p99, p999 = np.percentile(values, [50, 90, 99, 99.9])
    return {
        "p50": round(float(p50), 3),
        "p90": round(float(p90), 3),
        "p99": round(float(p99), 3),
        "p99.9": round(float(p999), 3),
        "max": round(float(values.max()), 3),
    }


def raw_requests(url: str, method: str, path: str, key: str, bodies: list[bytes]) -> list[bytes]:
    """Whole HTTP/1.1 requests, ready to write on a keep-alive connection."""
    host = urlsplit(url).netloc
    if not bodies:
        return [f"{method} {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()]
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {key}\r\n"
        "Content-Type: application/json\r\n"
    )
    return [f"{head}Content-Length: {len(b)}\r\n\r\n".encode() + b for b in bodies]


async def _read_response(reader: asyncio.StreamReader) -> int:
    """Read one answer whole; its status."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    lower = head.lower()
    at = lower.find(b"\r\ncontent-length:")
    if at >= 0:
        end = lower.index(b"\r\n", at + 2)
        await reader.readexactly(int(lower[at + 17 : end]))
    elif b"transfer-encoding: chunked" in lower:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    return status


async def _drive(
    url: str, requests: list[bytes], rate: float, seconds: float, warmup: float, connections: int
) -> dict[str, Any]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    clock = time.perf_counter
    queue: asyncio.Queue[int | None] = asyncio.Queue()
    total = int(rate * (warmup + seconds))
    queued = np.zeros(total)  # when the generator's timer put the request in the queue
    sent = np.zeros(total)  # when a connection was free to write it
    done = np.zeros(total)  # the answer's last byte
    status = np.zeros(total, dtype=np.int32)
    errors: Counter[str] = Counter()
    state = {"in_flight": 0, "max_in_flight": 0, "max_backlog": 0}

    async def worker(opened: asyncio.Future[None]) -> None:
        reader, writer = await asyncio.open_connection(host, port)
        opened.set_result(None)
        try:
            while (i := await queue.get()) is not None:
                state["in_flight"] += 1
                state["max_in_flight"] = max(state["max_in_flight"], state["in_flight"])
                sent[i] = clock()
                try:
                    async with asyncio.timeout(10):
                        writer.write(requests[i % len(requests)])
                        status[i] = await _read_response(reader)
                except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
                    errors[type(exc).__name__] += 1
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, port)
                done[i] = clock()
                state["in_flight"] -= 1
        finally:
            writer.close()

    openings = [asyncio.get_running_loop().create_future() for _ in range(connections)]
    workers = [asyncio.create_task(worker(o)) for o in openings]
    await asyncio.gather(*openings)
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    t0 = clock() + 0.05
    i = 0
    while i < total:
        now = clock()
        upto = min(total, int((now - t0) * rate) + 1)
        while i < upto:
            queued[i] = now
            queue.put_nowait(i)
            i += 1
        state["max_backlog"] = max(state["max_backlog"], queue.qsize())
        await asyncio.sleep(max(0.0, t0 + i / rate - clock()))
    for _ in workers:
        queue.put_nowait(None)
    # a server that cannot keep up would make the run last as long as its backlog: stop a
    # grace period after the last due time; what is unanswered then counts at its age
    grace = max(2.0, seconds / 2)
    _, late = await asyncio.wait(workers, timeout=t0 + total / rate + grace - clock())
    for task in late:
        task.cancel()
    await asyncio.gather(*workers, return_exceptions=True)
    stop = clock()
    used = resource.getrusage(resource.RUSAGE_SELF)
    cpu_s = used.ru_utime + used.ru_stime - cpu.ru_utime - cpu.ru_stime

    first = int(rate * warmup)
    due = t0 + np.arange(total) / rate
    window = slice(first, total)
    finished = done[window] > 0
    answered = sent[window] > 0
    latency = (np.where(finished, done[window], stop) - due[window]) * 1000
    codes = Counter(int(c) for c in status[window][finished])
    ok = sum(v for k, v in codes.items() if 200 <= k < 300)
    warm = status[:first][done[:first] > 0]
    return {
        "rate": rate,
        "seconds": seconds,
        "connections": connections,
        "requests": total - first,
        "achieved_per_s": round(ok / (float(np.max(done[window], initial=stop)) - due[first]), 1),
        "answered_per_s": round(
            int((done > 0).sum()) / (float(np.max(done, initial=t0 + 1e-3)) - t0), 1
        ),
        "latency_ms": percentiles(latency),
        "service_ms": percentiles((done[window] - sent[window])[finished] * 1000),
        "wait_for_connection_ms": percentiles((sent[window] - queued[window])[answered] * 1000),
        "timer_late_ms": percentiles((queued[window] - due[window]) * 1000),
        "statuses": {str(k): v for k, v in sorted(codes.items())},
        "non_2xx": int(finished.sum()) - ok,
        "non_2xx_in_warmup": int(((warm < 200) | (warm >= 300)).sum()),
        "unfinished": int((~finished).sum()),
        "errors": dict(errors),
        "max_in_flight": state["max_in_flight"],
        "max_backlog": state["max_backlog"],
        "generator_cpu": round(cpu_s / (stop - t0), 3),
    }


def open_loop(
    url: str, requests: list[bytes], rate: float, seconds: float, warmup: float, connections: int
) -> dict[str, Any]:
    """Requests due at t0 + i/rate for ``warmup + seconds``, over ``connections``;
    latencies from the due time, of the requests after the warm-up."""
    return asyncio.run(_drive(url, requests, rate, seconds, warmup, connections))

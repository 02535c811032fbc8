"""An acknowledged event survives the server being killed with SIGKILL right after."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import httpx

from retailor.storage.factory import open_storage
from tests.conftest import event, start_server, stop_server


def test_acknowledged_events_survive_sigkill(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data")
    acknowledged: set[str] = set()
    lock = threading.Lock()
    stop = threading.Event()

    def sender(worker: int) -> None:
        with httpx.Client(base_url=server.url, headers=server.ingest(), timeout=5) as client:
            n = 0
            while not stop.is_set():
                ids = [f"w{worker}-{n}-{i}" for i in range(5)]
                n += 1
                try:
                    r = client.post("/v1/events", json={"events": [event(i) for i in ids]})
                except httpx.HTTPError:
                    return  # the server died mid-request: not acknowledged
                if r.status_code == 200 and r.json()["accepted"] == 5:
                    with lock:
                        acknowledged.update(ids)

    threads = [threading.Thread(target=sender, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    while True:
        with lock:
            if len(acknowledged) >= 2_000:
                break
        stop.wait(0.01)
    server.process.send_signal(signal.SIGKILL)  # no shutdown, no flush
    server.process.wait()
    stop.set()
    for t in threads:
        t.join()

    storage = open_storage(f"duckdb://{server.data_dir / 'retailor.duckdb'}", server.data_dir)
    try:
        stored = {i for b in storage.events.scan() for i in b.column("event_id").to_pylist()}
    finally:
        storage.close()
    missing = acknowledged - stored
    assert not missing, f"{len(missing)} acknowledged events lost, e.g. {sorted(missing)[:5]}"

    # the server starts again on the same data directory, and re-sent events are duplicates
    again = start_server(server.data_dir)
    try:
        some = sorted(acknowledged)[:50]
        r = httpx.post(
            f"{again.url}/v1/events",
            json={"events": [event(i) for i in some]},
            headers=again.ingest(),
        )
        assert r.json()["duplicates"] == 50
    finally:
        stop_server(again)

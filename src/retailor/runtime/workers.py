"""``retailor serve --workers N``: N serving processes on one host and one port, each the
whole serve role over the shared stores (PostgreSQL), each listening on its own socket
bound with SO_REUSEPORT so that the kernel spreads connections among them.

This process supervises them: it writes the run file (its own pid, the URL and the one
control token every worker accepts), starts a worker again when one dies (waiting
longer after each death in a row), and on SIGINT or SIGTERM stops them all and waits for
them to flush. The background jobs run in whichever worker holds the background lease.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import secrets
import signal
import threading
import time
from multiprocessing.process import BaseProcess

from retailor.api.runfile import RunInfo, remove_run_file, write_run_file
from retailor.settings import Settings

log = logging.getLogger("retailor.workers")

#: How long a stopping worker gets to flush before it is killed.
STOP_SECONDS = 30.0
#: Longest wait before starting again a worker that keeps dying.
MAX_BACKOFF_SECONDS = 30.0
#: A worker that ran this long before dying is started again at once.
HEALTHY_SECONDS = 60.0


def _worker(settings: Settings, token: str) -> None:
    """One worker process: the serve role, without a run file of its own."""
    from retailor.runtime.server import serve

    serve(settings, token=token, run_file=False)


def serve_workers(settings: Settings, workers: int) -> None:
    """Run ``workers`` serving processes until SIGINT or SIGTERM (see the module)."""
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no copied threads
    token = secrets.token_urlsafe(32)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())

    def start(n: int) -> BaseProcess:
        process = context.Process(
            target=_worker, args=(settings, token), name=f"retailor-serve-{n}", daemon=False
        )
        process.start()
        return process

    url = f"http://{settings.host}:{settings.port}"
    write_run_file(settings.data_dir, RunInfo(url=url, pid=os.getpid(), token=token))
    processes = [start(n) for n in range(workers)]
    started = [time.monotonic()] * workers
    deaths = [0] * workers
    try:
        while not stop.wait(0.5):
            for n, process in enumerate(processes):
                if process.is_alive():
                    continue
                lived = time.monotonic() - started[n]
                deaths[n] = 1 if lived > HEALTHY_SECONDS else deaths[n] + 1
                wait = min(MAX_BACKOFF_SECONDS, 0.5 * 2 ** (deaths[n] - 1))
                log.warning(
                    "worker %d (process %s) exited with %s; starting another in %.1f s",
                    n,
                    process.pid,
                    process.exitcode,
                    wait,
                )
                if stop.wait(wait):
                    break
                processes[n], started[n] = start(n), time.monotonic()
    finally:
        for process in processes:
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, signal.SIGTERM)
        for process in processes:
            process.join(STOP_SECONDS)
            if process.is_alive():
                process.kill()
                process.join()
        remove_run_file(settings.data_dir, os.getpid())

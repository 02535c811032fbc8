"""Running an app: one granian server embedded in this process (concurrency comes from
asyncio and the background threads). The server role (``retailor.runtime.server``)
builds the app and runs it here; several worker processes on one port each run their
own (the listening socket is bound with SO_REUSEPORT)."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import socket
import sys
from collections.abc import Callable

from granian.constants import HTTPModes, Interfaces
from granian.http import HTTP1Settings
from granian.log import LogLevels
from granian.server.embed import Server
from starlette.applications import Starlette

from retailor.api.runfile import RunInfo, remove_run_file, write_run_file
from retailor.settings import Settings

log = logging.getLogger(__name__)


class _QuietEmbedded(logging.Filter):
    """Granian warns that embedding is experimental; Retailor chose it knowingly."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "experimental" not in record.getMessage()


#: How often the interpreter lets another thread run (Python's default is 5 ms).
SWITCH_INTERVAL_SECONDS = 0.001
GC_THRESHOLDS = (2_000, 10, 100)


def port_taken(host: str, port: int) -> str | None:
    """Why ``host:port`` cannot be listened on, or None when it is free. The server binds
    with SO_REUSEPORT, which would let a second server share a port with the first (and
    each get part of the traffic): this check binds without it first."""
    if port == 0:
        return None
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        return f"cannot resolve {host}: {exc.strerror}"
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT is no bar
        try:
            probe.bind(address)
        except OSError as exc:
            return exc.strerror or str(exc)
    return None


def tune_process() -> None:
    """Settle the interpreter for serving: short thread switches, small young collections."""
    # background threads (the writer, the decision log, model refreshes) must not hold the
    # interpreter for long stretches while requests wait on the event loop
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
    # the server holds millions of long-lived objects (profiles, models, caches): keep the
    # young collections small (short pauses) and full collections rare; measured with
    # benchmarks/decisions.py, p99 at 1,000 decisions/s: 29 ms with (20000, 20, 100),
    # 17 ms with (700, 10, 100), 15 ms with these
    gc.set_threshold(*GC_THRESHOLDS)


def serve_app(
    app: Starlette,
    settings: Settings,
    token: str,
    on_ready: Callable[[str, Callable[[], None]], None] | None = None,
    *,
    run_file: bool = True,
) -> None:
    """Serve ``app`` until SIGINT or SIGTERM, with a run file naming the server and its
    control ``token`` while it runs (the caller closes the app afterwards; with
    ``run_file=False`` the caller writes it: one of several worker processes).

    ``on_ready(url, stop)`` is called once the server listens; ``stop()`` (callable from
    any thread) shuts it down.
    """
    url = f"http://{settings.host}:{settings.port}"
    server = Server(
        app,
        address=settings.host,
        port=settings.port,
        interface=Interfaces.ASGI,
        # HTTP/1.1 only: granian's HTTP/1 header timeout runs from the moment a connection
        # waits for a request (opened, or done with the previous one) until its headers are
        # in, so it also closes idle keep-alive connections. With HTTP/2 detection on, a
        # connection that never sends a byte is never timed and stays open for ever.
        http=HTTPModes.http1,
        http1_settings=HTTP1Settings(
            header_read_timeout=max(1, round(settings.header_timeout_seconds * 1000))
        ),
        log_level=LogLevels(settings.log_level)
        if settings.log_level in {level.value for level in LogLevels}
        else LogLevels.info,
        backlog=2048,
    )

    logging.getLogger("_granian").addFilter(_QuietEmbedded())

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, server.stop)
        if run_file:
            write_run_file(settings.data_dir, RunInfo(url=url, pid=os.getpid(), token=token))
        if on_ready:

            def stop() -> None:
                loop.call_soon_threadsafe(server.stop)

            loop.call_later(0.2, on_ready, url, stop)
        await server.serve()

    try:
        asyncio.run(main())
    finally:
        if run_file:
            remove_run_file(settings.data_dir, os.getpid())

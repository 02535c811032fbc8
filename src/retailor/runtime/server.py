"""The ``serve`` role: the services, the background worker in the same process and the
HTTP app over them; ``serve`` runs it on granian until stopped (``runtime.workers`` runs
several such processes on one port)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import timedelta

from starlette.applications import Starlette

from retailor.api.app import build_app
from retailor.api.auth import Authenticator
from retailor.api.context import AppContext
from retailor.api.metrics import Metrics
from retailor.api.serve import serve_app, tune_process
from retailor.dashboard.app import dashboard_routes
from retailor.dashboard.context import DashboardContext
from retailor.ingest.validation import EventValidator
from retailor.privacy.audit import AuditRecorder
from retailor.privacy.usage import KeyUsage
from retailor.runtime.reporting import activity_of, experiment_results_of, reports_of
from retailor.runtime.services import build_services, open_data, open_shared
from retailor.runtime.worker import start_worker
from retailor.settings import Settings
from retailor.storage.factory import SharedState, Storage, rate_limiter


def build_server(
    settings: Settings,
    storage: Storage | None = None,
    control_token: str | None = None,
    *,
    background: bool = True,
    shared: SharedState | None = None,
) -> Starlette:
    """The Retailor HTTP app over ``storage`` (opened from ``settings`` when not given),
    with the background worker running in this process.

    ``control_token``, when set, is accepted as an admin key: the server hands it to CLI
    commands on the same machine through its run file. Closing the app (lifespan
    shutdown, or ``app.state.shutdown()``) flushes the writer, stops the threads and
    closes the stores it opened. ``app.state.services`` are the services it answers from.
    ``background=False`` (to measure the request path alone) starts no worker and no
    background refresh: models are there once trained through the app.
    """
    owned = storage is None
    stores = open_data(settings) if storage is None else storage
    owned_state = shared is None
    state = open_shared(settings) if shared is None else shared
    if state is not None:  # /healthz and the 503s speak of Redis too
        stores.probes.extend(p for p in state.probes if p not in stores.probes)
    metrics = Metrics()
    services = build_services(
        settings, stores, background=background, on_commit=metrics.observe_commit, shared=state
    )
    recorder = services.decisions.recorder
    metrics.watch_decisions(lambda: recorder.unwritten, lambda: recorder.dropped)
    if state is not None:
        metrics.watch_redis(state.round_trips)
    if background:
        start_worker(services)
    reports = reports_of(services)
    activity = activity_of(services, reports)
    experiment_results = experiment_results_of(services, reports)
    usage = KeyUsage(stores.keys)
    audit = AuditRecorder(stores.audit, services.profiles.salt)
    ctx = AppContext(
        settings=settings,
        storage=stores,
        writer=services.writer,
        validator=EventValidator(max_future=timedelta(seconds=settings.max_future_seconds)),
        auth=Authenticator(
            stores.keys,
            control_token,
            limiter=rate_limiter(state),
            default_limits=settings.rate_limits(),
            usage=usage,
        ),
        metrics=metrics,
        profiles=services.profiles,
        segments=services.segments,
        models=services.models,
        training=services.training,
        decisions=services.decisions,
        catch_up=services.feed.catch_up_async if services.feed is not None else _nothing,
        background=lambda: services.jobs.held,
        reports=reports,
        experiment_results=experiment_results,
        activity=activity,
        eraser=services.eraser,
        suppression=services.suppression,
        retention=services.retention,
        audit=audit,
    )
    dashboard = DashboardContext(
        settings=settings,
        storage=stores,
        session_secret=dashboard_secret(stores),
        profiles=services.profiles,
        segments=services.segments,
        models=services.models,
        decisions=services.decisions,
        reports=reports,
        activity=activity,
        experiment_results=experiment_results,
        catch_up=ctx.catch_up,
        ingest_counts=metrics.event_totals,
    )
    closed = False

    def shutdown() -> None:
        nonlocal closed
        if closed:
            return
        closed = True
        usage.flush()  # the last uses noted since the last write
        audit.close()
        services.close()
        if owned_state and state is not None:
            state.close()
        if owned:
            stores.close()

    app = build_app(ctx, shutdown, dashboard_routes(dashboard))
    app.state.services = services
    return app


#: The name of the dashboard's session secret in the installation store.
DASHBOARD_SECRET = "dashboard.session"


def dashboard_secret(stores: Storage) -> bytes:
    """The secret that signs dashboard sessions, made once per installation and kept in
    its installation store (shared by every worker of shared storage), so a session made
    by one worker is good on all of them."""
    return bytes.fromhex(stores.installation.get_or_create(DASHBOARD_SECRET, secrets.token_hex(32)))


async def _nothing() -> int:
    return 0


def serve(
    settings: Settings,
    on_ready: Callable[[str, Callable[[], None]], None] | None = None,
    *,
    token: str | None = None,
    run_file: bool = True,
) -> None:
    """Serve until SIGINT or SIGTERM, then flush the writer and close the stores.

    ``on_ready(url, stop)`` is called once the server listens; ``stop()`` (callable from
    any thread) shuts it down. ``token`` is the control token (a new one when not given);
    ``run_file=False`` leaves the run file to the caller (a supervisor of workers).
    """
    token = token or secrets.token_urlsafe(32)
    tune_process()
    app = build_server(settings, control_token=token)
    try:
        serve_app(app, settings, token, on_ready, run_file=run_file)
    finally:
        app.state.shutdown()

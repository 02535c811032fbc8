"""Building the ASGI application: ``create_app(settings)``."""

from __future__ import annotations

import contextlib
import gc
import logging
import time
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta

import msgspec
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware

from retailor.api import routes  # noqa: F401 - registers the endpoints
from retailor.api.auth import Authenticator
from retailor.api.context import AppContext
from retailor.api.endpoints import ENDPOINTS, build_routes
from retailor.api.metrics import Metrics, RequestMetricsMiddleware
from retailor.api.openapi import build_openapi
from retailor.api.problems import ProblemError, handle_http, handle_problem, handle_unexpected
from retailor.api.request_bodies import RequestBodyMiddleware
from retailor.api.slashes import EncodedSlashMiddleware
from retailor.decision.service import DecisionService
from retailor.domain.events import Event
from retailor.identity.graph import IdentityRules
from retailor.identity.salt import load_or_create_salt
from retailor.ingest.validation import EventValidator
from retailor.ingest.writer import GroupCommitWriter
from retailor.models.jobs import TrainingJobs
from retailor.models.serving import ModelService
from retailor.profiles.lifetime import LifetimeModel
from retailor.profiles.segmentation import SegmentService
from retailor.profiles.service import ProfileService
from retailor.settings import Settings
from retailor.storage.base import ModelRecord
from retailor.storage.factory import Storage, open_storage
from retailor.storage.files.segments import FileSegmentStore
from retailor.storage.permissions import make_private_dir

log = logging.getLogger(__name__)


def create_app(
    settings: Settings,
    storage: Storage | None = None,
    control_token: str | None = None,
    *,
    background: bool = True,
) -> Starlette:
    """The Retailor HTTP app over ``storage`` (opened from ``settings`` when not given).

    ``control_token``, when set, is accepted as an admin key: the server hands it to CLI
    commands on the same machine through its run file. Closing the app (lifespan
    shutdown, or ``app.state.shutdown()``) flushes the writer and closes what it opened.
    ``background=False`` (for one-off CLI work) starts no model refresh or retraining.
    """
    owned = storage is None
    if storage is None:
        make_private_dir(settings.data_dir)
        storage = open_storage(settings.storage_dsn, settings.data_dir)
    metrics = Metrics()
    profiles = ProfileService(
        load_or_create_salt(settings.data_dir, settings.identity_salt),
        IdentityRules(max_customers_per_device=settings.max_customers_per_device),
    )
    profiles.remember_items(storage.catalog.items())
    clv = storage.models.active("clv")
    if clv is not None:
        profiles.lifetime = LifetimeModel.from_params(clv.params)
    models = ModelService(
        storage.models,
        storage.events.scan,
        profiles.resolve,
        storage.catalog.get_many,
        storage.catalog.items,
        refresh_seconds=settings.models_refresh_seconds,
        retrain_every=settings.retrain_minutes * 60,
    )
    registry = storage.models

    def fit_clv() -> ModelRecord:
        lifetime, metrics = profiles.train_lifetime()
        return registry.save("clv", lifetime.params(), metrics)

    segments = SegmentService(
        FileSegmentStore(settings.data_dir / "segments"), profiles, storage.events
    )
    decisions = DecisionService(
        settings.data_dir,
        storage.decisions,
        storage.catalog.items(),
        models,
        profiles,
        segments,
        consent_required=settings.consent_required,
        timeout_seconds=settings.decision_timeout_ms / 1000,
        policy=settings.offer_policy,
        reward_mode=settings.offer_reward,
        reward_window=settings.reward_window_seconds,
        reward_scale=settings.reward_scale,
        seed=settings.policy_seed,
        background=background,
    )
    started = time.perf_counter()
    folded = profiles.rebuild(storage.events.scan(), also=decisions.features.apply)
    log.info(
        "profiles and online features rebuilt from %d events in %.1f s",
        folded,
        time.perf_counter() - started,
    )
    decisions.replay_log()
    if background:
        models.start()
        decisions.warm(profiles)
    gc.freeze()  # the rebuilt projections live for the whole run: keep them out of collections

    def stored(events: Sequence[Event]) -> None:
        if settings.profiles_in_ingest:
            profiles.apply(events)
        decisions.observe(events)
        if background:
            models.observe(events)

    writer = GroupCommitWriter(
        storage.events, storage.quarantine, on_commit=metrics.observe_commit, on_stored=stored
    )
    segments.builder.settle = writer.after_stored  # install new counts between two commits
    ctx = AppContext(
        settings=settings,
        storage=storage,
        writer=writer,
        validator=EventValidator(max_future=timedelta(seconds=settings.max_future_seconds)),
        auth=Authenticator(storage.keys, control_token),
        metrics=metrics,
        profiles=profiles,
        segments=segments,
        models=models,
        training=TrainingJobs(models, fit_clv),
        decisions=decisions,
    )
    closed = False

    def shutdown() -> None:
        nonlocal closed
        if closed:
            return
        closed = True
        segments.close()
        writer.close()
        decisions.close()
        models.close()
        if owned:
            storage.close()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            shutdown()

    app = Starlette(
        routes=build_routes(ENDPOINTS),
        middleware=[
            Middleware(EncodedSlashMiddleware),
            Middleware(
                RequestBodyMiddleware,
                timeout_seconds=settings.body_timeout_seconds,
                stall_seconds=settings.body_stall_timeout_seconds,
            ),
            Middleware(RequestMetricsMiddleware, metrics=metrics),
        ],
        exception_handlers={
            ProblemError: handle_problem,
            HTTPException: handle_http,
            Exception: handle_unexpected,
        },
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    app.state.shutdown = shutdown
    app.state.openapi = msgspec.json.encode(build_openapi(ENDPOINTS))
    return app

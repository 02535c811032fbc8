"""The models of a running server: loaded from the registry, kept fresh from the stream,
retrained on a schedule in the background.

Stored events reach ``observe`` from the writer thread (a queue put, nothing more); a
background thread folds them every ``refresh_seconds`` into every model that learns
incrementally, so a new item trends — and is described for content-based answers —
seconds after its first events. ``retrain_every`` seconds (0: never) a full training
run fits every default model from the log (where the stores are shared, the process
that holds the background lease runs it instead); the registry's gate decides which
versions become active, and active versions are swapped in without blocking answers.

The loaded models are one immutable set (``ModelSet``), replaced whole when a version is
swapped in: ``pinned()`` makes every read of the models in a block (one decision) see
one set, so an answer never mixes versions.
"""

from __future__ import annotations

import gc
import logging
import queue
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from retailor.domain.catalog import CatalogItem
from retailor.domain.events import Event
from retailor.models.base import Context, Recommender, Scored
from retailor.models.errors import NotTrainedError
from retailor.models.families import DEFAULT_MODELS, create, known_models, load
from retailor.models.from_log import attributes_of, interactions_from_batches
from retailor.models.training import Progress, TrainOutcome, train_models
from retailor.storage.base import ModelRegistry
from retailor.storage.errors import StorageUnavailableError
from retailor.storage.schema import events_to_table

log = logging.getLogger("retailor.models")
#: Answered by fitting on the log at start when no version was trained yet.
LIVE_MODELS = ("popularity", "trending")
#: What a request for the blend falls back to, in order, before the blend is trained.
FALLBACKS = ("blend", "popularity", "trending")


@dataclass(frozen=True)
class ModelSet:
    """The models loaded at one moment, their versions (None: fitted at start, not from
    the registry) and the generation that numbers the set (it grows with every swap)."""

    models: Mapping[str, Recommender]
    versions: Mapping[str, int | None]
    generation: int


_EMPTY = ModelSet(MappingProxyType({}), MappingProxyType({}), 0)
#: The set the reads of this thread or task are pinned to, if any (see ``pinned``).
_PINNED: ContextVar[ModelSet | None] = ContextVar("retailor_pinned_models", default=None)


class ModelService:
    """Active models by name, with their versions; thread-safe."""

    def __init__(
        self,
        registry: ModelRegistry,
        scan: Callable[[], Iterable[Any]],
        resolve: Callable[[str], str | None],
        catalog: Callable[[Sequence[str]], dict[str, CatalogItem]],
        all_items: Callable[[], Iterable[CatalogItem]],
        *,
        refresh_seconds: float = 1.0,
        retrain_every: float = 3600.0,
        seed: int = 0,
    ) -> None:
        self.registry = registry
        self._scan, self._resolve, self._catalog, self._all_items = (
            scan,
            resolve,
            catalog,
            all_items,
        )
        self.refresh_seconds, self.retrain_every, self.seed = refresh_seconds, retrain_every, seed
        self._set = _EMPTY
        self._seen: dict[str, int] = {}  # active versions taken up (loaded or skipped)
        self._swap_lock = threading.Lock()  # one swap at a time
        self._lock = threading.RLock()
        self._train_lock = threading.Lock()
        self._queue: queue.SimpleQueue[list[Event] | None] = queue.SimpleQueue()
        # batches observed and folded (or given up on), for ``wait_idle``
        self._idle = threading.Condition()
        self._observed = 0
        self._folded = 0
        self._refreshing = False
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    # --- the loaded set ----------------------------------------------------------------

    def snapshot(self) -> ModelSet:
        """The set reads see now: the pinned one in a ``pinned()`` block, else the latest."""
        return _PINNED.get() or self._set

    @property
    def models(self) -> Mapping[str, Recommender]:
        return self.snapshot().models

    @property
    def versions(self) -> Mapping[str, int | None]:
        return self.snapshot().versions

    @property
    def generation(self) -> int:
        """Grows whenever a model is swapped in, for caches of answers."""
        return self.snapshot().generation

    @contextmanager
    def pinned(self) -> Iterator[ModelSet]:
        """Every read of the models in the block (in this thread or task, and the threads
        it hands work to with ``asyncio.to_thread``) sees the set loaded when it began."""
        if _PINNED.get() is not None:  # nested: keep the outer pin
            yield self.snapshot()
            return
        token = _PINNED.set(self._set)
        try:
            yield self._set
        finally:
            _PINNED.reset(token)

    def _swap(self, loaded: Mapping[str, tuple[Recommender, int | None]]) -> None:
        """Replace the set by one with ``loaded`` (name -> (model, version)) in it."""
        if not loaded:
            return
        with self._lock:
            current = self._set
            models = dict(current.models)
            versions = dict(current.versions)
            for name, (model, version) in loaded.items():
                models[name], versions[name] = model, version
            self._set = ModelSet(
                MappingProxyType(models), MappingProxyType(versions), current.generation + 1
            )

    # --- life cycle --------------------------------------------------------------------

    def start(self, *, retrain: bool = True) -> None:
        """Load active versions, fit the live models that have none, start the threads:
        the stream's, and the scheduled retraining's unless ``retrain`` is false (another
        role schedules it: ``retrain_scheduled`` is the job)."""
        self.reload()
        missing = [n for n in LIVE_MODELS if n not in self._set.models]
        if missing:
            data = self.training_data()
            self._swap({name: (create(name, seed=self.seed).fit(data), None) for name in missing})
        self._refreshing = True
        self._spawn(self._refresh_loop, "retailor-models-refresh")
        if retrain and self.retrain_every > 0:
            self._spawn(self._retrain_loop, "retailor-models-retrain")

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def close(self) -> None:
        self._stop.set()
        self._queue.put(None)
        for thread in self._threads:
            thread.join(timeout=5)
        with self._idle:
            self._idle.notify_all()

    def reload(self, active: Mapping[str, int] | None = None) -> list[str]:
        """Swap in, as one new set, every active version not taken up yet (``active``:
        the registry's ``active_versions()``, read when not given); returns the names
        swapped. A version of a model this server does not serve, or without bytes, is
        taken up without loading (and not asked for again)."""
        with self._swap_lock:
            wanted = self.registry.active_versions() if active is None else active
            loaded: dict[str, tuple[Recommender, int | None]] = {}
            for name, version in wanted.items():
                if self._seen.get(name) == version:
                    continue
                if name in known_models():
                    blob = self.registry.artifact(name, version)
                    if blob is not None:
                        loaded[name] = (load(name, blob), version)
                self._seen[name] = version
            self._swap(loaded)
        swapped = sorted(loaded)
        if swapped:
            # models live until the next swap: keep their many small objects out of the
            # collector's full passes (they are freed by reference counting when replaced)
            gc.freeze()
        return swapped

    # --- the stream --------------------------------------------------------------------

    def observe(self, events: Sequence[Event]) -> None:
        """Called with newly stored events (from the writer thread); returns at once."""
        batch = list(events)
        with self._idle:
            self._observed += 1
            self._queue.put(batch)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until every batch observed before the call is folded into the models (or
        was given up on with a log line); False on timeout, or when nothing folds them
        (not started, or closed)."""
        with self._idle:
            target = self._observed
            self._idle.wait_for(
                lambda: self._folded >= target or not self._refreshing or self._stop.is_set(),
                timeout,
            )
            return self._folded >= target

    def _refresh_loop(self) -> None:
        while not self._stop.is_set():
            batch: list[Event] = []
            taken = 0
            try:
                item = self._queue.get(timeout=self.refresh_seconds)
                if item is None:
                    return
                batch += item
                taken += 1
                deadline = time.monotonic() + self.refresh_seconds / 4
                while time.monotonic() < deadline:
                    try:
                        more = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if more is None:
                        return
                    batch += more
                    taken += 1
            except queue.Empty:
                continue
            if not self._fold_until_done(batch):
                return
            with self._idle:
                self._folded += taken
                self._idle.notify_all()

    def _fold_until_done(self, batch: list[Event]) -> bool:
        """Fold ``batch``, trying again while the storage (the catalog) is unavailable;
        False when the service stopped meanwhile."""
        waited = False
        while True:
            try:
                self.fold(batch)
            except StorageUnavailableError as exc:  # the database is down: wait for it
                if not waited:
                    log.warning("cannot fold %d events into the models yet: %s", len(batch), exc)
                waited = True
                if self._stop.wait(self.refresh_seconds):
                    return False
                continue
            except Exception:  # a bad batch must not stop freshness for the next ones
                log.exception("could not fold %d events into the models", len(batch))
            return True

    def fold(self, events: Sequence[Event]) -> None:
        """Update every incremental model with ``events`` (synchronously)."""
        if not events:
            return
        data = interactions_from_batches(events_to_table(events).to_batches(), self._resolve)
        if not len(data):
            return
        data.attributes = attributes_of(self._catalog([str(i) for i in data.item_ids]).values())
        with self._lock:
            for model in self._set.models.values():
                if model.incremental:
                    model.update(data)

    # --- training ----------------------------------------------------------------------

    def training_data(self) -> Any:
        return interactions_from_batches(self._scan(), self._resolve, self._all_items())

    def train(
        self,
        names: Sequence[str] = DEFAULT_MODELS,
        progress: Progress | None = None,
        *,
        force: bool = False,
    ) -> list[TrainOutcome]:
        """A full training run now (one at a time), then swap in what became active."""
        report = progress or (lambda *_: None)
        if not self._train_lock.acquire(blocking=False):
            report("waiting for the training under way", 0, len(names))
            self._train_lock.acquire()
        try:
            report("reading the event log", 0, len(names))
            data = self.training_data()
            outcomes = train_models(
                data, self.registry, names, seed=self.seed, progress=report, force=force
            )
            self.reload()
            return outcomes
        finally:
            self._train_lock.release()

    def _retrain_loop(self) -> None:
        while not self._stop.wait(self.retrain_every):
            self.retrain_scheduled()

    def retrain_scheduled(self) -> None:
        """One scheduled training run; a failure is logged and the active versions stay."""
        try:
            self.train()
        except Exception:
            log.exception("scheduled retraining failed; the active versions stay")

    # --- answering ---------------------------------------------------------------------

    def get(self, name: str) -> Recommender | None:
        return self.snapshot().models.get(name)

    def recommend(
        self, name: str, who: str | None, context: Context, k: int, exclude: Collection[str] = ()
    ) -> tuple[str, list[Scored]]:
        """The named model's answer, or (for the blend) the first trained fallback's;
        returns the name of the model that answered. ``NotTrainedError`` when none of them
        is loaded."""
        chain = FALLBACKS if name == "blend" else (name,)
        models = self.snapshot().models
        with self._lock:
            for candidate in chain:
                model = models.get(candidate)
                if model is None:
                    continue
                answer = model.recommend(who, context, k, exclude)
                if answer or candidate == chain[-1]:
                    return candidate, answer
        raise NotTrainedError(name)

    def similar(self, name: str, items: Sequence[str], k: int) -> list[Scored]:
        """The named model's items like ``items``; ``NotTrainedError`` when it is not
        loaded."""
        model = self.snapshot().models.get(name)
        with self._lock:
            if model is None:
                raise NotTrainedError(name)
            return model.similar_items(items, k)

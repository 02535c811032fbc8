"""The services of a one-shot command: built over the stores the command opened, with
the projections rebuilt from the logs (or, with shared state, from the workers' newest
snapshot and the appends after it), and no HTTP app and no background work (no model
refresh or retraining, no refreshed lists). Models are loaded by whoever needs them
(``services.models.reload()``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from retailor.runtime.services import Services, build_services, open_shared
from retailor.settings import Settings
from retailor.storage.factory import Storage


@contextmanager
def command_services(settings: Settings, storage: Storage) -> Iterator[Services]:
    """The services over ``storage`` for the length of the ``with`` block; then their
    threads are stopped (the stores stay open: the caller opened them)."""
    shared = open_shared(settings)
    try:
        services = build_services(settings, storage, background=False, shared=shared)
        try:
            yield services
        finally:
            services.close()
    finally:
        if shared is not None:
            shared.close()

"""The background role: the work that keeps a server's models and lists fresh, apart from
answering requests. Embedded (``retailor serve``), the server starts it in its own
process over the services it built.

It loads the active model versions, fits the live models that have none, folds every
batch of stored events into the incremental models (about every second), retrains on the
schedule (``retrain_minutes``), and queues the personal lists of the most recently active
customers for computing. Teaching the offer policy from feedback stays with the decision
log's own thread (``decision/recorder.py``), which runs wherever decisions are made; with
shared hot state (``state``) a policy learner runs instead (``services.start_policy_learner``).
"""

from __future__ import annotations

import gc

from retailor.runtime.services import Services


def start_worker(services: Services) -> None:
    """Start the background work over ``services`` (stopped by ``services.close()``)."""
    services.models.start()
    services.followers.append(services.models.observe)
    services.decisions.warm(services.profiles)
    gc.freeze()  # the models fitted at start live until replaced: keep them out of collections

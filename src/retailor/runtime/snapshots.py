"""Snapshots of this process's projections (identities and profiles, online features),
taken at a position of the shared event log and kept in the ``SnapshotStore``, so that a
worker started later loads the newest one and folds only the appends after it instead of
the whole history.

A snapshot is a pickle of the projections' plain objects with a format number; one of
another format (an older Retailor) is ignored and the worker rebuilds from the log. The
store holds state this Retailor wrote itself, in its own database, like its model
artifacts: it is trusted as the code is.
"""

from __future__ import annotations

import logging
import pickle
import time

from retailor.features.online import OnlineFeatures
from retailor.profiles.service import ProfileService
from retailor.runtime.feeding import FeedFollower
from retailor.storage.base import SnapshotStore

log = logging.getLogger(__name__)

KIND = "projections"
#: Changes whenever what a snapshot holds changes shape.
FORMAT = 1


def take_snapshot(
    follower: FeedFollower,
    profiles: ProfileService,
    features: OnlineFeatures,
    store: SnapshotStore,
) -> int:
    """Save the projections at the position folded so far; returns that position. The
    follower's lock is held while they are encoded, so the state is that of one position."""
    started = time.perf_counter()
    with follower.lock:
        position = follower.position
        data = pickle.dumps(
            {
                "format": FORMAT,
                "profiles": profiles.export_state(),
                "features": features.export_state(),
            },
            protocol=pickle.HIGHEST_PROTOCOL,
        )
    store.save(KIND, position, data)
    log.info(
        "snapshot of the projections at position %d saved (%.1f MB, %.1f s)",
        position,
        len(data) / 1e6,
        time.perf_counter() - started,
    )
    return position


def load_snapshot(store: SnapshotStore) -> tuple[int, dict[str, object]] | None:
    """The newest snapshot's position and contents, or None (none, or another format)."""
    found = store.latest(KIND)
    if found is None:
        return None
    position, data = found
    try:
        contents = pickle.loads(data)
    except Exception as exc:
        log.warning("ignoring the snapshot at position %d: %s", position, exc)
        return None
    if not isinstance(contents, dict) or contents.get("format") != FORMAT:
        log.info("ignoring the snapshot at position %d: written by another version", position)
        return None
    return position, contents

"""Keeping the data directory private: it holds the event log, identify traits and key
hashes, so no other local user may read it. Retailor makes the data directory and every
folder in it ``0700`` and its files ``0600``; commands also narrow the process's umask, so
that files the database engine creates later (its write-ahead log) are private too."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
PRIVATE_UMASK = 0o077


def make_private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) readable by its owner alone; an existing
    folder is left as it is (it may be one its owner shares on purpose)."""
    path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    return path


def make_private_file(path: Path) -> None:
    """Narrow a file Retailor made to ``0600``, if it exists."""
    with contextlib.suppress(FileNotFoundError):
        os.chmod(path, PRIVATE_FILE)


def restrict_new_files() -> None:
    """Make every file and folder this process creates from now on private."""
    os.umask(PRIVATE_UMASK)

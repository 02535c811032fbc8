"""The installation's secret salt for hashing emails, phones and payment tokens."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from retailor.storage.permissions import make_private_dir

SALT_FILE = "identity.salt"


def load_or_create_salt(data_dir: Path, configured: str = "") -> str:
    """``configured`` when set (scale-out: every worker must share it), else the salt kept in
    the data directory, created on first use."""
    if configured:
        return configured
    path = data_dir / SALT_FILE
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    make_private_dir(data_dir)
    salt = secrets.token_hex(16)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(salt)
    return salt

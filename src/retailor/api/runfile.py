"""The run file a server leaves in its data directory, so that CLI commands on the same
machine can find it and go through it instead of opening the locked database."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import msgspec

from retailor.storage.permissions import make_private_dir

RUN_FILE = "server.json"


class RunInfo(msgspec.Struct):
    """Where the server listens, its process id, and its local control token."""

    url: str
    pid: int
    token: str


def run_file(data_dir: Path) -> Path:
    return data_dir / "run" / RUN_FILE


def write_run_file(data_dir: Path, info: RunInfo) -> Path:
    """Write the run file readable by its owner only."""
    path = run_file(data_dir)
    make_private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(msgspec.json.encode(info))
    return path


def read_run_file(data_dir: Path) -> RunInfo | None:
    """The running server's details, or None when none is running on this directory."""
    path = run_file(data_dir)
    try:
        info = msgspec.json.decode(path.read_bytes(), type=RunInfo)
    except (FileNotFoundError, msgspec.DecodeError, msgspec.ValidationError):
        return None
    if not _alive(info.pid):
        return None
    return info


def remove_run_file(data_dir: Path, pid: int) -> None:
    path = run_file(data_dir)
    with contextlib.suppress(FileNotFoundError, msgspec.DecodeError, msgspec.ValidationError):
        if msgspec.json.decode(path.read_bytes(), type=RunInfo).pid == pid:
            path.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True

"""The data directory is private: folders 0700, files 0600 (the event log, the write-ahead
log, keys, the salt), and a key's public id reveals nothing of its secret."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import httpx

from tests.conftest import event, start_server, stop_server


def retailor(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "retailor", *args], capture_output=True, text=True, check=True
    )
    return done.stdout


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_data_directory_and_its_files_are_private(tmp_path: Path) -> None:
    data = tmp_path / "new" / "data"
    secret = retailor("keys", "create", "--scope", "admin", "--data", str(data)).strip()
    assert mode(data) == 0o700
    server = start_server(data)
    try:
        body = {"events": [event(f"e{i}") for i in range(20)]}
        headers = {"Authorization": f"Bearer {secret}"}
        answer = httpx.post(f"{server.url}/v1/events", json=body, headers=headers, timeout=30)
        assert answer.status_code == 200
        segment = {"trait": "order_count", "op": "gte", "value": 0}
        put = httpx.put(f"{server.url}/v1/segments/all", json=segment, headers=headers)
        assert put.status_code == 200
        assert (data / "retailor.duckdb.wal").exists() or (data / "retailor.duckdb").exists()
        loose = {
            str(path.relative_to(data)): oct(mode(path))
            for path in data.rglob("*")
            if mode(path) != (0o700 if path.is_dir() else 0o600)
        }
        assert loose == {}
    finally:
        stop_server(server)


def test_an_existing_folder_shared_on_purpose_is_left_as_it_is(tmp_path: Path) -> None:
    data = tmp_path / "shared"
    data.mkdir(mode=0o750)
    os.chmod(data, 0o750)
    retailor("keys", "create", "--scope", "ingest", "--data", str(data))
    assert mode(data) == 0o750
    assert mode(data / "keys.json") == 0o600


def test_a_key_id_reveals_nothing_of_the_secret(tmp_path: Path) -> None:
    data = tmp_path / "data"
    secrets = [
        retailor("keys", "create", "--scope", scope, "--data", str(data)).strip()
        for scope in ("ingest", "serve", "admin")
    ]
    listed = [
        json.loads(line)
        for line in retailor("keys", "list", "--json", "--data", str(data)).splitlines()
    ]
    assert len(listed) == 3
    for key, secret in zip(listed, secrets, strict=True):
        assert key["key_id"].startswith(f"key_{key['scope']}_")
        assert key["key_id"].rsplit("_", 1)[1] not in secret
    retailor("keys", "revoke", listed[0]["key_id"], "--data", str(data))
    retailor("keys", "revoke", secrets[1], "--data", str(data))
    revoked = [
        json.loads(line)["revoked"]
        for line in retailor("keys", "list", "--json", "--data", str(data)).splitlines()
    ]
    assert revoked == [True, True, False]

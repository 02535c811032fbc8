"""The KeyStore contract where keys are shared between processes: the key file of the
embedded default, and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from retailor.domain.access import ApiKey, Scope
from retailor.privacy.keys import create_key, hash_secret
from retailor.storage.base import KeyStore
from retailor.storage.factory import open_storage
from retailor.storage.files.keys import FileKeyStore

#: Opens one more view of the same keys, as another process would.
OpenKeys = Callable[[], KeyStore]


@pytest.fixture(params=["files", "postgres"])
def open_keys(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OpenKeys]:
    if request.param == "files":
        yield lambda: FileKeyStore(tmp_path / "keys.json")
        return
    dsn = request.getfixturevalue("postgres_dsn")
    opened = []

    def open_view() -> KeyStore:
        storage = open_storage(dsn, tmp_path)
        opened.append(storage)
        return storage.keys

    yield open_view
    for storage in opened:
        storage.close()


def test_a_key_added_elsewhere_works_at_once(open_keys: OpenKeys) -> None:
    server, cli = open_keys(), open_keys()
    _, before = create_key(cli, Scope.SERVE)
    assert server.find(hash_secret(before)) is not None
    key, secret = create_key(cli, Scope.INGEST, "web")
    found = server.find(hash_secret(secret))
    assert found is not None and found.key_id == key.key_id and found.name == "web"


def test_a_revocation_elsewhere_reaches_a_server_that_rechecks(open_keys: OpenKeys) -> None:
    server, cli = open_keys(), open_keys()
    server.recheck_seconds = 0.0  # type: ignore[attr-defined]
    key, secret = create_key(cli, Scope.ADMIN)
    found = server.find(hash_secret(secret))
    assert found is not None and not found.revoked
    assert cli.revoke(key.key_id)
    again = server.find(hash_secret(secret))
    assert again is not None and again.revoked


def test_keys_are_listed_oldest_first(open_keys: OpenKeys) -> None:
    keys = open_keys()
    now = datetime(2026, 5, 1, tzinfo=UTC)
    for n, age in enumerate((1, 3, 2)):
        keys.add(ApiKey(key_id=f"k{n}", scope=Scope.SERVE, secret_hash=f"h{n}",
                        created_at=now - timedelta(days=age)))  # fmt: skip
    assert [k.key_id for k in open_keys().all()] == ["k1", "k2", "k0"]
    assert open_keys().find("h2") == keys.find("h2")


def test_what_a_store_tells_at_once_is_what_find_tells(open_keys: OpenKeys) -> None:
    server, cli = open_keys(), open_keys()
    key, secret = create_key(cli, Scope.SERVE)
    for secret_hash in (hash_secret(secret), hash_secret("not a key")):
        answered, found = server.find_at_once(secret_hash)
        if answered:
            assert found == server.find(secret_hash)
    # a key just found is told at once
    found = server.find(hash_secret(secret))
    assert server.find_at_once(hash_secret(secret)) == (True, found)
    assert found is not None and found.key_id == key.key_id
